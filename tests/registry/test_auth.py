"""Sign-in, bearer JWTs, personal access tokens, password hashing and admin-only endpoints."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import OctKey

from registry.security import Passwords
from tests.support.gallery import API, Client, Gallery

PROBLEM = "application/problem+json"
LEAKS = ("Traceback", 'File "', "joserfc", "JoseError", "sqlalchemy", "Exception", "registry/")


def token_request(gallery: Gallery, **form: str) -> httpx.Response:
    return httpx.post(gallery.base_url + API + "/auth/token", data=form)


def new_credentials(gallery: Gallery, prefix: str = "u") -> tuple[str, str]:
    name = f"{prefix}{uuid.uuid4().hex[:10]}"
    password = "pw-" + uuid.uuid4().hex
    answer = gallery.admin.post("/users", json={"username": name, "password": password})
    assert answer.status_code == 201, answer.text
    return name, password


def assert_problem(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = answer.json()
    assert body["status"] == status
    assert body["detail"]
    return body


def assert_unauthenticated(answer: httpx.Response) -> None:
    body = assert_problem(answer, 401)
    assert answer.headers["www-authenticate"].lower().startswith("bearer")
    assert set(body) == {"type", "title", "status", "detail", "instance"}
    for leak in LEAKS:
        assert leak not in answer.text


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def server_key(gallery: Gallery) -> OctKey:
    """The signing key the server derives from its secret (registry.security.AccessTokens)."""
    secret = gallery.settings.resolved_secret_key()
    return OctKey.import_key(hashlib.sha256(secret.encode()).digest())


def user_id_of(client: Client) -> str:
    token = client.headers["authorization"].split(" ", 1)[1]
    return str(json.loads(unb64(token.split(".")[1]))["sub"])


# --- password grant -------------------------------------------------------------------------


def test_password_grant_gives_a_bearer_jwt(gallery: Gallery) -> None:
    name, password = new_credentials(gallery)
    answer = token_request(gallery, grant_type="password", username=name, password=password)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] > 0
    header, claims, signature = body["access_token"].split(".")
    assert json.loads(unb64(header))["alg"] == "HS256"
    assert json.loads(unb64(claims))["exp"] > time.time()
    assert signature
    me = gallery.client(body["access_token"]).get("/me")
    assert me.status_code == 200, me.text
    assert me.json()["username"] == name


def test_wrong_password_and_unknown_user_are_told_apart_by_nothing(gallery: Gallery) -> None:
    name, password = new_credentials(gallery)
    wrong = token_request(gallery, grant_type="password", username=name, password=password + "x")
    unknown = token_request(
        gallery, grant_type="password", username="nobody" + uuid.uuid4().hex[:8], password=password
    )
    wrong_body = assert_problem(wrong, 400)
    unknown_body = assert_problem(unknown, 400)
    assert wrong_body["error"] == unknown_body["error"] == "invalid_grant"
    assert wrong_body["detail"] == unknown_body["detail"]
    assert wrong_body["title"] == unknown_body["title"]
    assert name not in wrong.text


@pytest.mark.parametrize("grant_type", ["client_credentials", "", "PASSWORD"])
def test_unsupported_grant_type(gallery: Gallery, grant_type: str) -> None:
    name, password = new_credentials(gallery)
    answer = token_request(gallery, grant_type=grant_type, username=name, password=password)
    body = assert_problem(answer, 400)
    assert body["error"] == "unsupported_grant_type"
    assert "access_token" not in body


def test_me_shows_username_admin_flag_and_groups(gallery: Gallery) -> None:
    first, second = gallery.group("ml"), gallery.group("cv")
    with gallery.user("me", groups=(second, first)) as user:
        me = user.get("/me")
        assert me.status_code == 200, me.text
        assert me.json() == {
            "username": user.username,
            "is_admin": False,
            "groups": sorted([first, second]),
        }
    admin = gallery.admin.get("/me").json()
    assert admin["username"] == "admin"
    assert admin["is_admin"] is True


def test_me_needs_a_signed_in_user(gallery: Gallery) -> None:
    with gallery.client() as anonymous:
        assert_unauthenticated(anonymous.get("/me"))


# --- bad bearer tokens ----------------------------------------------------------------------


def _tampered_payload(gallery: Gallery, client: Client) -> str:
    header, claims, signature = client.headers["authorization"].split(" ", 1)[1].split(".")
    payload = json.loads(unb64(claims))
    payload["sub"] = user_id_of(gallery.admin)
    return ".".join([header, b64(json.dumps(payload).encode()), signature])


def _tampered_signature(gallery: Gallery, client: Client) -> str:
    header, claims, signature = client.headers["authorization"].split(" ", 1)[1].split(".")
    # Change the first character: the last one may only carry padding bits.
    first = "B" if signature[0] != "B" else "C"
    return ".".join([header, claims, first + signature[1:]])


def _claims(gallery: Gallery, client: Client, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": "gallery", "sub": user_id_of(client), "iat": now, "exp": now + 600}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _other_key(gallery: Gallery, client: Client) -> str:
    key = OctKey.import_key(hashlib.sha256(b"not-the-server-secret").digest())
    return jwt.encode({"alg": "HS256"}, _claims(gallery, client), key)


def _expired(gallery: Gallery, client: Client) -> str:
    now = int(time.time())
    claims = _claims(gallery, client, iat=now - 7200, exp=now - 3600)
    return jwt.encode({"alg": "HS256"}, claims, server_key(gallery))


def _no_expiry(gallery: Gallery, client: Client) -> str:
    claims = _claims(gallery, client, exp=None)
    return jwt.encode({"alg": "HS256"}, claims, server_key(gallery))


def _other_issuer(gallery: Gallery, client: Client) -> str:
    claims = _claims(gallery, client, iss="someone-else")
    return jwt.encode({"alg": "HS256"}, claims, server_key(gallery))


def _unknown_user(gallery: Gallery, client: Client) -> str:
    claims = _claims(gallery, client, sub="987654321")
    return jwt.encode({"alg": "HS256"}, claims, server_key(gallery))


def _alg_none(gallery: Gallery, client: Client) -> str:
    header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    claims = b64(json.dumps(_claims(gallery, client, sub=user_id_of(gallery.admin))).encode())
    return f"{header}.{claims}."


BAD_TOKENS: dict[str, Callable[[Gallery, Client], str]] = {
    "tampered-payload": _tampered_payload,
    "tampered-signature": _tampered_signature,
    "signed-with-another-key": _other_key,
    "expired": _expired,
    "without-exp": _no_expiry,
    "other-issuer": _other_issuer,
    "unknown-user": _unknown_user,
    "alg-none": _alg_none,
    "garbage": lambda gallery, client: "this.is.not-a-jwt",
    "garbage-pat": lambda gallery, client: "gly_" + uuid.uuid4().hex,
}


def test_a_token_crafted_with_the_server_key_is_accepted(gallery: Gallery) -> None:
    """The control for the cases below: they fail for the reason they name, nothing else."""
    with gallery.user("crafted") as user:
        token = jwt.encode({"alg": "HS256"}, _claims(gallery, user), server_key(gallery))
        with gallery.client(token) as crafted:
            answer = crafted.get("/me")
            assert answer.status_code == 200, answer.text
            assert answer.json()["username"] == user.username


@pytest.mark.parametrize("case", list(BAD_TOKENS))
@pytest.mark.parametrize("path", ["/me", "/assets", "/tokens"])
def test_bad_bearer_tokens_are_refused(gallery: Gallery, case: str, path: str) -> None:
    with gallery.user("victim") as user:
        token = BAD_TOKENS[case](gallery, user)
        with gallery.client(token) as forged:
            assert_unauthenticated(forged.get(path))


@pytest.mark.parametrize(
    "authorization",
    ["Basic YWRtaW46YWRtaW4=", "Token abc", "Bearer", "Bearer not a token", "bearer-ish token"],
)
def test_other_authorization_schemes_are_refused(gallery: Gallery, authorization: str) -> None:
    with gallery.client() as client:
        answer = client.get("/me", headers={"Authorization": authorization})
        assert_unauthenticated(answer)


def test_a_real_token_sent_with_another_scheme_is_refused(gallery: Gallery) -> None:
    with gallery.user("scheme") as user:
        token = user.headers["authorization"].split(" ", 1)[1]
        with gallery.client() as client:
            assert_unauthenticated(client.get("/me", headers={"Authorization": f"JWT {token}"}))


# --- personal access tokens -----------------------------------------------------------------


def test_personal_token_lifecycle(gallery: Gallery) -> None:
    with gallery.user("pat") as user:
        created = user.post("/tokens", json={"name": "laptop", "expires_in_days": 30})
        assert created.status_code == 201, created.text
        body = created.json()
        token = body["token"]
        assert token.startswith("gly_")
        assert len(token) > 30
        assert token.startswith(body["prefix"])
        assert body["revoked"] is False
        assert body["expires_at"] is not None

        listed = user.get("/tokens")
        assert listed.status_code == 200, listed.text
        assert [t["name"] for t in listed.json()] == ["laptop"]
        assert "token" not in listed.json()[0]
        assert token not in listed.text
        assert token[len(body["prefix"]) :] not in listed.text

        with gallery.client(token) as sdk:
            me = sdk.get("/me")
            assert me.status_code == 200, me.text
            assert me.json()["username"] == user.username

            revoked = user.delete(f"/tokens/{body['id']}")
            assert revoked.status_code in (200, 204), revoked.text
            assert_unauthenticated(sdk.get("/me"))
            assert_unauthenticated(sdk.get("/assets"))

        after = user.get("/tokens").json()
        assert [(t["id"], t["revoked"]) for t in after] == [(body["id"], True)]


def test_personal_token_without_expiry(gallery: Gallery) -> None:
    with gallery.user("forever") as user:
        created = user.post("/tokens", json={"name": "ci", "expires_in_days": None})
        assert created.status_code == 201, created.text
        assert created.json()["expires_at"] is None
        with gallery.client(created.json()["token"]) as sdk:
            assert sdk.get("/me").json()["username"] == user.username


def test_another_user_cannot_revoke_my_token(gallery: Gallery) -> None:
    with gallery.user("mine") as me, gallery.user("thief") as thief:
        created = me.post("/tokens", json={"name": "desk"}).json()
        answer = thief.delete(f"/tokens/{created['id']}")
        assert_problem(answer, 404)
        absent = thief.delete("/tokens/987654321")
        assert answer.json()["title"] == absent.json()["title"]
        assert thief.get("/tokens").json() == []
        with gallery.client(created["token"]) as sdk:
            assert sdk.get("/me").status_code == 200
        assert me.get("/tokens").json()[0]["revoked"] is False


@pytest.mark.parametrize("days", [0, -1, 367, 10_000])
def test_personal_token_lifetime_is_bounded(gallery: Gallery, days: int) -> None:
    with gallery.user("bounded") as user:
        answer = user.post("/tokens", json={"name": "x", "expires_in_days": days})
        body = assert_problem(answer, 422)
        assert "expires_in_days" in body["detail"]
        assert [e["field"] for e in body["errors"]] == ["expires_in_days"]
        assert user.get("/tokens").json() == []


@pytest.mark.parametrize("days", [1, 366])
def test_personal_token_lifetime_bounds_are_inclusive(gallery: Gallery, days: int) -> None:
    with gallery.user("edge") as user:
        answer = user.post("/tokens", json={"name": "edge", "expires_in_days": days})
        assert answer.status_code == 201, answer.text


def test_personal_tokens_need_a_signed_in_user(gallery: Gallery) -> None:
    with gallery.client() as anonymous:
        assert_unauthenticated(anonymous.post("/tokens", json={"name": "x"}))
        assert_unauthenticated(anonymous.get("/tokens"))
        assert_unauthenticated(anonymous.delete("/tokens/1"))


# --- password hashing -----------------------------------------------------------------------


def test_passwords_are_argon2id() -> None:
    passwords = Passwords(memory_kib=1024, time_cost=1)
    stored = passwords.hash("correct horse battery staple")
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored
    assert passwords.verify(stored, "correct horse battery staple") is True
    assert passwords.verify(stored, "correct horse battery stapler") is False
    assert passwords.verify("not a hash", "correct horse battery staple") is False
    assert passwords.hash("same") != passwords.hash("same")


# --- admin-only endpoints -------------------------------------------------------------------


def _admin_requests(gallery: Gallery) -> list[tuple[str, str, dict[str, Any]]]:
    group = gallery.group("adm")
    name, _ = new_credentials(gallery)
    return [
        ("POST", "/users", {"username": "x" + uuid.uuid4().hex[:8], "password": "long-enough"}),
        ("POST", "/groups", {"name": "g" + uuid.uuid4().hex[:8]}),
        ("POST", f"/groups/{group}/members", {"usernames": [name]}),
    ]


def test_admin_endpoints_refuse_normal_users(gallery: Gallery) -> None:
    requests = _admin_requests(gallery)
    with gallery.user("normal") as user:
        for method, path, body in requests:
            assert_problem(user.request(method, path, json=body), 403)
    group = requests[2][1].split("/")[2]
    assert gallery.admin.get(f"/groups/{group}").json()["members"] == []


def test_admin_endpoints_refuse_anonymous(gallery: Gallery) -> None:
    requests = _admin_requests(gallery)
    with gallery.client() as anonymous:
        for method, path, body in requests:
            assert_unauthenticated(anonymous.request(method, path, json=body))
    created_user = requests[0][2]
    login = token_request(
        gallery,
        grant_type="password",
        username=created_user["username"],
        password=created_user["password"],
    )
    assert login.status_code == 400


def test_admin_creates_users_and_groups(gallery: Gallery) -> None:
    name, password = new_credentials(gallery, "made")
    group = gallery.group("made")
    added = gallery.admin.post(f"/groups/{group}/members", json={"usernames": [name]})
    assert added.status_code == 200, added.text
    assert added.json() == {"name": group, "members": [name]}
    with gallery.login(name, password) as user:
        assert user.get("/me").json()["groups"] == [group]


@pytest.mark.parametrize(
    "username",
    ["", "a" * 65, "1abc", "has space", "bad<name", "<script>"],
    ids=["empty", "65-chars", "leading-digit", "space", "angle", "script"],
)
def test_invalid_usernames(gallery: Gallery, username: str) -> None:
    answer = gallery.admin.post("/users", json={"username": username, "password": "long-enough"})
    body = assert_problem(answer, 422)
    assert "username" in body["detail"]
    assert "username" in [e["field"] for e in body["errors"]]


def test_longest_valid_username(gallery: Gallery) -> None:
    name = "a" + uuid.uuid4().hex + "b" * 31
    assert len(name) == 64
    answer = gallery.admin.post("/users", json={"username": name, "password": "long-enough"})
    assert answer.status_code == 201, answer.text


def test_duplicate_user(gallery: Gallery) -> None:
    name, _ = new_credentials(gallery, "dup")
    again = gallery.admin.post("/users", json={"username": name, "password": "other-password"})
    body = assert_problem(again, 409)
    assert name in body["detail"]
