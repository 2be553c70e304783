"""Accounts can be contained: sign-in throttling, hashing off the event loop, password change,
deactivation, out-of-range ids and the initial admin password file."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import stat
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Awaitable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from registry.accounts import service
from registry.accounts.service import Principal
from registry.accounts.throttle import SignInThrottle, address_key
from registry.bootstrap import INITIAL_PASSWORD_FILE, save_initial_password
from registry.db import Database
from registry.errors import InvalidGrant, TooManyRequests
from registry.security import Passwords
from tests.conftest import BACKENDS, require_postgres
from tests.support.databases import postgres_database, sqlite_url
from tests.support.gallery import API, Gallery, fast_settings, running_gallery
from tests.support.server import free_port, wait_until_healthy

PROBLEM = "application/problem+json"
GALLERY = str(Path(sys.executable).with_name("gallery"))
PER_USER = 3
PER_ADDRESS = 6


# --- helpers --------------------------------------------------------------------------------


def new_credentials(gallery: Gallery, prefix: str = "c", *, admin: bool = False) -> tuple[str, str]:
    name = f"{prefix}{uuid.uuid4().hex[:10]}"
    password = "pw-" + uuid.uuid4().hex
    body = {"username": name, "password": password, "is_admin": admin}
    answer = gallery.admin.post("/users", json=body)
    assert answer.status_code == 201, answer.text
    return name, password


def fresh_address() -> str:
    """A client address of its own. The test server (uvicorn) trusts X-Forwarded-For from
    loopback, so each test can sign in 'from' its own address."""
    a, b, c = uuid.uuid4().bytes[:3]
    return f"10.{a}.{b}.{c}"


def sign_in(gallery: Gallery, username: str, password: str, address: str | None = None) -> Any:
    headers = {"X-Forwarded-For": address} if address else {}
    return httpx.post(
        gallery.base_url + API + "/auth/token",
        data={"grant_type": "password", "username": username, "password": password},
        headers=headers,
        timeout=60,
    )


def problem(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = answer.json()
    assert body["status"] == status and body["detail"]
    return body


def token_of(answer: httpx.Response) -> str:
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def retry_after(answer: httpx.Response) -> int:
    body = problem(answer, 429)
    seconds = int(answer.headers["retry-after"])
    assert 1 <= seconds <= 3600
    assert body["retry_after"] == seconds
    assert f"try again in {seconds} seconds" in body["detail"]
    return seconds


# --- a server with tight limits of its own (the shared one must not lock anybody out) ---------


@pytest.fixture(scope="module", params=BACKENDS)
def tight(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gallery]:
    data_dir = tmp_path_factory.mktemp(f"tight-{request.param}")
    limits = {
        "signin_failures_per_user": PER_USER,
        "signin_failures_per_address": PER_ADDRESS,
        "signin_window_seconds": 3600,
    }
    if request.param == "sqlite":
        settings = fast_settings(data_dir=data_dir, database_url=sqlite_url(data_dir), **limits)
        with running_gallery(settings, "sqlite") as running:
            yield running
        return
    require_postgres()
    with postgres_database() as url:
        settings = fast_settings(data_dir=data_dir, database_url=url, **limits)
        with running_gallery(settings, "postgres") as running:
            yield running


# --- sign-in throttling ---------------------------------------------------------------------


def test_failed_sign_ins_for_one_user_are_limited(tight: Gallery) -> None:
    name, password = new_credentials(tight, "victim")
    other, other_password = new_credentials(tight, "bystander")
    address = fresh_address()
    for _ in range(PER_USER):
        problem(sign_in(tight, name, "wrong-password", address), 400)

    locked = sign_in(tight, name, password, address)  # even the right password waits now
    retry_after(locked)
    assert name in locked.json()["detail"]
    assert "access_token" not in locked.text
    # per user: another address does not help ...
    retry_after(sign_in(tight, name, password, fresh_address()))
    # ... and other users are not held back, from the same address either
    assert token_of(sign_in(tight, other, other_password, address))
    assert token_of(sign_in(tight, other, other_password))


def test_failed_sign_ins_from_one_address_are_limited(tight: Gallery) -> None:
    name, password = new_credentials(tight, "user")
    address = fresh_address()
    guesses = [f"nobody{uuid.uuid4().hex[:8]}" for _ in range(PER_ADDRESS - 1)] + ["not a name"]
    for guess in guesses:  # one failure per name: no user limit is reached
        problem(sign_in(tight, guess, "wrong-password", address), 400)

    locked = sign_in(tight, name, password, address)
    retry_after(locked)
    assert "from your address" in locked.json()["detail"]
    assert token_of(sign_in(tight, name, password, fresh_address()))


def test_correct_sign_ins_are_never_held_back(tight: Gallery) -> None:
    name, password = new_credentials(tight, "regular")
    address = fresh_address()
    for _ in range(3 * PER_ADDRESS):
        assert token_of(sign_in(tight, name, password, address))
    # A success clears the user's failures: 2 + 2 failures never reach the limit of 3.
    for _ in range(2):
        for _ in range(PER_USER - 1):
            problem(sign_in(tight, name, "wrong-password", address), 400)
        assert token_of(sign_in(tight, name, password, address))


def test_parallel_guesses_cannot_slip_under_the_limit(tight: Gallery) -> None:
    name, _ = new_credentials(tight, "parallel")
    address = fresh_address()
    with ThreadPoolExecutor(12) as pool:
        answers = list(
            pool.map(lambda _: sign_in(tight, name, "wrong-password", address), range(12))
        )
    assert Counter(a.status_code for a in answers) == {400: PER_USER, 429: 12 - PER_USER}


def test_wrong_current_passwords_count_as_failed_sign_ins(tight: Gallery) -> None:
    name, password = new_credentials(tight, "changer")
    with tight.login(name, password) as user:
        address = fresh_address()
        body = {"current_password": "wrong-password", "new_password": "brand-new-password"}
        for _ in range(PER_USER):
            answer = user.post("/me/password", json=body, headers={"X-Forwarded-For": address})
            problem(answer, 422)
        right = {"current_password": password, "new_password": "brand-new-password"}
        retry_after(user.post("/me/password", json=right, headers={"X-Forwarded-For": address}))
        retry_after(sign_in(tight, name, password, fresh_address()))
        assert user.get("/me").status_code == 200  # nothing changed


# --- the throttle itself (a fake clock) -----------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_throttle_window_and_retry_after() -> None:
    clock = Clock()
    throttle = SignInThrottle(
        per_user=2, per_address=100, window_seconds=60, max_keys=100, clock=clock
    )
    throttle.begin("alice", "192.0.2.1")
    clock.now += 10
    throttle.begin("alice", "192.0.2.2")
    clock.now += 5
    with pytest.raises(TooManyRequests) as refused:
        throttle.begin("alice", "192.0.2.3")
    assert refused.value.retry_after == 45  # the first failure leaves the window in 45 s
    clock.now += 45
    attempt = throttle.begin("alice", "192.0.2.3")  # the first failure has left the window
    throttle.forgive(attempt)
    throttle.begin("alice", "192.0.2.3")
    throttle.begin("alice", "192.0.2.3")  # forgiven: counting starts again


def test_throttle_remembers_a_bounded_number_of_keys() -> None:
    throttle = SignInThrottle(per_user=5, per_address=5, window_seconds=600, max_keys=50)
    for i in range(5000):
        throttle.begin(f"user{i}", f"198.51.{i // 256}.{i % 256}")
        assert len(throttle) <= 50
    throttle.begin("not a valid name", "192.0.2.9")  # counted by address only
    assert len(throttle) <= 50


def test_ipv6_clients_are_counted_by_their_64() -> None:
    assert address_key("2001:db8:1:2::1") == address_key("2001:db8:1:2:ffff::9")
    assert address_key("2001:db8:1:2::1") != address_key("2001:db8:1:3::1")
    assert address_key("::ffff:192.0.2.7") == address_key("192.0.2.7")
    assert address_key(None) == address_key("")


# --- argon2 off the event loop --------------------------------------------------------------


class GatedPasswords(Passwords):
    """Hashing that waits (in its thread) until a coroutine on the caller's loop opens a gate.

    Were hashing run on the event loop, that coroutine could not run while the hash waits:
    the wait would end by its guard instead, and the test sees ``opened_by_loop == [False]``.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(memory_kib=1024, time_cost=1)
        self.loop = loop
        self.entered = asyncio.Event()
        self.gate = threading.Event()
        self.opened_by_loop: list[bool] = []

    def _wait_at_gate(self) -> None:
        self.loop.call_soon_threadsafe(self.entered.set)
        self.opened_by_loop.append(self.gate.wait(timeout=10))  # guard against a deadlock

    def hash(self, password: str) -> str:
        self._wait_at_gate()
        return super().hash(password)

    def verify(self, stored: str, password: str) -> bool:
        self._wait_at_gate()
        return super().verify(stored, password)


async def _while_gated(passwords: GatedPasswords, work: Awaitable[Any]) -> None:
    async def meanwhile_on_the_loop() -> None:
        await passwords.entered.wait()
        passwords.gate.set()

    await asyncio.gather(work, meanwhile_on_the_loop(), return_exceptions=False)
    assert passwords.opened_by_loop and passwords.opened_by_loop[0] is True


PATHS = ["sign-in", "unknown-user", "create-user", "change-password"]


@pytest.mark.parametrize("path", PATHS)
def test_password_hashing_runs_off_the_event_loop(gallery: Gallery, path: str) -> None:
    name, password = new_credentials(gallery, "offloop")

    async def main() -> None:
        db = Database(gallery.settings.resolved_database_url)
        passwords = GatedPasswords(asyncio.get_running_loop())
        throttle = SignInThrottle(per_user=10, per_address=10, window_seconds=60, max_keys=10)
        try:
            work: Awaitable[Any]
            if path == "sign-in":
                work = service.sign_in(
                    db,
                    username=name,
                    password=password,
                    address=None,
                    passwords=passwords,
                    throttle=throttle,
                )
            elif path == "unknown-user":
                work = _refused(
                    service.sign_in(
                        db,
                        username="nobody" + uuid.uuid4().hex[:8],
                        password=password,
                        address=None,
                        passwords=passwords,
                        throttle=throttle,
                    )
                )
            elif path == "create-user":
                work = service.create_user(
                    db,
                    username="made" + uuid.uuid4().hex[:8],
                    password="long-enough",
                    passwords=passwords,
                )
            else:
                async with db.read() as session:
                    user = await service.get_user(session, name)
                assert user.id is not None
                work = service.change_password(
                    db,
                    principal=Principal(user.id, name, False),
                    current_password=password,
                    new_password="another-password",
                    address=None,
                    passwords=passwords,
                    throttle=throttle,
                )
            await _while_gated(passwords, work)
        finally:
            await db.dispose()

    asyncio.run(main())


async def _refused(work: Awaitable[Any]) -> None:
    with pytest.raises(InvalidGrant):
        await work


def test_at_most_the_configured_number_of_hashes_run_at_once() -> None:
    """Hashes wait for each other at a barrier one larger than the bound: a hash beyond the
    bound would trip it at once (and be seen); within the bound the barrier only times out."""
    bound = 2
    active = peak = 0
    lock = threading.Lock()
    barrier = threading.Barrier(bound + 1, timeout=0.5)

    class Counting(Passwords):
        def hash(self, password: str) -> str:
            nonlocal active, peak
            with lock:
                active += 1
                peak = max(peak, active)
            try:
                barrier.wait()
            except threading.BrokenBarrierError:
                pass
            finally:
                with lock:
                    active -= 1
            return "hashed"

    passwords = Counting(memory_kib=1024, time_cost=1, threads=bound)

    async def main() -> list[str]:
        return list(await asyncio.gather(*(passwords.hash_async("pw") for _ in range(6))))

    assert asyncio.run(main()) == ["hashed"] * 6
    assert peak == bound


# --- password change ------------------------------------------------------------------------


def test_change_password_ends_earlier_sign_ins_and_personal_tokens(gallery: Gallery) -> None:
    name, password = new_credentials(gallery, "rotate")
    jwt = token_of(sign_in(gallery, name, password))
    with gallery.client(jwt) as user:
        pat = user.post("/tokens", json={"name": "laptop"}).json()["token"]
        with gallery.client(pat) as sdk:
            assert sdk.get("/me").status_code == 200
        changed = user.post(
            "/me/password", json={"current_password": password, "new_password": "rotated-pw-1"}
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["personal_tokens_revoked"] == 1
        assert "sign in again" in changed.json()["detail"]
        problem(user.get("/me"), 401)  # the JWT used for the change is over too
    with gallery.client(pat) as sdk:
        problem(sdk.get("/me"), 401)
    assert problem(sign_in(gallery, name, password), 400)["error"] == "invalid_grant"
    with gallery.client(token_of(sign_in(gallery, name, "rotated-pw-1"))) as again:
        assert again.get("/me").json()["username"] == name
        assert [t["revoked"] for t in again.get("/tokens").json()] == [True]


def test_change_password_names_the_field_and_rule(gallery: Gallery) -> None:
    name, password = new_credentials(gallery, "rules")
    with gallery.login(name, password) as user:
        wrong = user.post(
            "/me/password", json={"current_password": "not-it-at-all", "new_password": "x" * 12}
        )
        assert problem(wrong, 422)["errors"] == [
            {
                "field": "current_password",
                "rule": "matches",
                "message": "is not your current password",
            }
        ]
        short = user.post(
            "/me/password", json={"current_password": password, "new_password": "short"}
        )
        errors = problem(short, 422)["errors"]
        assert [(e["field"], e["rule"]) for e in errors] == [("new_password", "min_length")]
        assert "8 characters" in short.json()["detail"]
        same = user.post(
            "/me/password", json={"current_password": password, "new_password": password}
        )
        assert [e["rule"] for e in problem(same, 422)["errors"]] == ["differs"]
        problem(user.post("/me/password", json={"new_password": "long-enough"}), 422)
        assert user.get("/me").status_code == 200  # still signed in: nothing changed
    with gallery.client() as anonymous:
        body = {"current_password": password, "new_password": "long-enough-2"}
        problem(anonymous.post("/me/password", json=body), 401)
    assert token_of(sign_in(gallery, name, password))


# --- deactivation ---------------------------------------------------------------------------


def test_deactivation_cuts_off_every_token_at_once(gallery: Gallery) -> None:
    name, password = new_credentials(gallery, "leaver")
    jwt = token_of(sign_in(gallery, name, password))
    with gallery.client(jwt) as user:
        pat = user.post("/tokens", json={"name": "ci"}).json()["token"]
    with gallery.client(jwt) as user, gallery.client(pat) as sdk:
        assert user.get("/me").status_code == 200
        assert sdk.get("/assets").status_code == 200

        off = gallery.admin.post(f"/users/{name}/deactivate")
        assert off.status_code == 200, off.text
        assert off.json()["is_active"] is False
        assert off.json()["personal_tokens_revoked"] == 1

        for client in (user, sdk):
            problem(client.get("/me"), 401)
            problem(client.get("/assets"), 401)
    refused = problem(sign_in(gallery, name, password), 400)
    assert refused["error"] == "invalid_grant" and "deactivated" in refused["detail"]
    wrong = problem(sign_in(gallery, name, "wrong-password"), 400)
    assert wrong["detail"] == "wrong username or password"  # no hint without the password

    on = gallery.admin.post(f"/users/{name}/reactivate")
    assert on.status_code == 200 and on.json()["is_active"] is True
    with gallery.client(token_of(sign_in(gallery, name, password))) as back:
        assert back.get("/me").json()["username"] == name
        assert [t["revoked"] for t in back.get("/tokens").json()] == [True]
    for old in (jwt, pat):  # what was cut off stays cut off
        with gallery.client(old) as client:
            problem(client.get("/me"), 401)


def test_only_administrators_deactivate(gallery: Gallery) -> None:
    name, password = new_credentials(gallery, "target")
    with gallery.user("plain") as plain:
        problem(plain.post(f"/users/{name}/deactivate"), 403)
        problem(plain.post(f"/users/{name}/reactivate"), 403)
    with gallery.client() as anonymous:
        problem(anonymous.post(f"/users/{name}/deactivate"), 401)
    problem(gallery.admin.post("/users/nobody-at-all/deactivate"), 404)
    assert token_of(sign_in(gallery, name, password))


def test_the_last_active_administrator_stays(tight: Gallery) -> None:
    itself = problem(tight.admin.post("/users/admin/deactivate"), 409)
    assert "yourself" in itself["detail"]

    cli = _server_cli(tight, "user", "deactivate", "admin")
    assert cli.returncode == 1
    assert cli.stderr.strip() == (
        "error: 'admin' is the last active administrator; make another user an administrator first"
    )
    assert tight.admin.get("/me").status_code == 200

    # Two administrators deactivating each other at once: one of them stays.
    second, second_password = new_credentials(tight, "admin2", admin=True)
    with tight.login(second, second_password) as other, ThreadPoolExecutor(2) as pool:
        mine = pool.submit(tight.admin.post, f"/users/{second}/deactivate")
        theirs = pool.submit(other.post, "/users/admin/deactivate")
        answers = [mine.result().status_code, theirs.result().status_code]
    assert sorted(answers)[0] == 200 and sorted(answers)[1] in (401, 409), answers
    if answers[1] == 200:  # the second won: put the first administrator back
        with tight.login(second, second_password) as other:
            assert other.post("/users/admin/reactivate").status_code == 200
        tight._admin = None
        assert tight.admin.post(f"/users/{second}/deactivate").status_code == 200
    assert tight.admin.get("/me").json()["is_admin"] is True


def _server_cli(
    gallery: Gallery, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    settings = gallery.settings
    env = {
        **os.environ,
        "GALLERY_DATA_DIR": str(settings.data_dir),
        "GALLERY_DATABASE_URL": str(settings.database_url),
        "GALLERY_SECRET_KEY": str(settings.secret_key),
        "GALLERY_PASSWORD_MEMORY_KIB": "1024",
        "GALLERY_PASSWORD_TIME_COST": "1",
    }
    return subprocess.run(
        [GALLERY, *args], env=env, input=stdin, capture_output=True, text=True, timeout=120
    )


def test_user_deactivate_and_reactivate_from_the_shell(gallery: Gallery) -> None:
    name, password = new_credentials(gallery, "shell")
    jwt = token_of(sign_in(gallery, name, password))
    pat = _server_cli(gallery, "token", "create", "--user", name).stdout.strip()
    assert pat.startswith("gly_")

    off = _server_cli(gallery, "user", "deactivate", name)
    assert off.returncode == 0, off.stderr
    assert off.stdout.startswith(f"deactivated {name}: sign-in refused")
    assert "1 personal access token revoked" in off.stdout
    for token in (jwt, pat):
        with gallery.client(token) as client:
            problem(client.get("/me"), 401)
    assert "deactivated" in problem(sign_in(gallery, name, password), 400)["detail"]

    on = _server_cli(gallery, "user", "reactivate", name)
    assert on.returncode == 0 and on.stdout.startswith(f"reactivated {name}"), on.stderr
    assert token_of(sign_in(gallery, name, password))
    missing = _server_cli(gallery, "user", "deactivate", "nobody-" + uuid.uuid4().hex[:6])
    assert missing.returncode == 1 and missing.stderr.startswith("error: no user named")


def test_set_password_from_the_shell(gallery: Gallery) -> None:
    name, password = new_credentials(gallery, "reset")
    jwt = token_of(sign_in(gallery, name, password))
    done = _server_cli(
        gallery, "user", "set-password", name, "--password-stdin", stdin="reset-password-1\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"set the password of {name}")
    with gallery.client(jwt) as client:
        problem(client.get("/me"), 401)
    problem(sign_in(gallery, name, password), 400)
    assert token_of(sign_in(gallery, name, "reset-password-1"))
    short = _server_cli(gallery, "user", "set-password", name, "--password", "short")
    assert short.returncode == 1 and "password: must have at least 8" in short.stderr


# --- out-of-range ids -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "token_id",
    ["9223372036854775808", "9223372036854775807", "2147483648", "1" + "0" * 30, "0"],
)
def test_out_of_range_token_ids_are_not_found(gallery: Gallery, token_id: str) -> None:
    with gallery.user("ids") as user:
        body = problem(user.delete(f"/tokens/{token_id}"), 404)
        assert "no token with id" in body["detail"]


# --- the initial admin password file --------------------------------------------------------


def test_initial_password_file_is_owner_only_even_over_a_stale_file(tmp_path: Path) -> None:
    stale = tmp_path / INITIAL_PASSWORD_FILE
    stale.write_text("old\n")
    stale.chmod(0o644)
    old_umask = os.umask(0)
    try:
        path = save_initial_password(tmp_path, "s3cret-value")
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == "s3cret-value\n"


def test_first_admin_sign_in_removes_the_password_file(tight: Gallery) -> None:
    assert tight.admin  # the fixture's own admin sign-in comes first, whatever ran before
    path = save_initial_password(tight.settings.data_dir, "whatever")
    name, password = new_credentials(tight, "notadmin", admin=True)
    assert token_of(sign_in(tight, name, password))
    assert path.exists()  # another administrator signing in is not the first admin
    problem(sign_in(tight, "admin", "wrong-password", fresh_address()), 400)
    assert path.exists()
    assert token_of(sign_in(tight, "admin", tight.admin_password))
    assert not path.exists()
    assert token_of(sign_in(tight, "admin", tight.admin_password))  # absent: nothing to do


def test_gallery_up_writes_the_password_file_owner_only_until_admin_signs_in(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "GALLERY_DATA_DIR": str(tmp_path / "data"),
        "GALLERY_PORT": str(port),
        # An address where nothing listens: no dev server is started (not needed here).
        "GALLERY_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
        "GALLERY_CONFIG_DIR": str(tmp_path / "config"),
        "GALLERY_PASSWORD_MEMORY_KIB": "1024",
        "GALLERY_PASSWORD_TIME_COST": "1",
    }
    for key in ("GALLERY_DATABASE_URL", "GALLERY_S3_ENDPOINT", "GALLERY_SECRET_KEY"):
        env.pop(key, None)
    log_path = tmp_path / "up.log"
    url = f"http://127.0.0.1:{port}"
    with log_path.open("w") as log:
        process = subprocess.Popen([GALLERY, "up"], env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until_healthy(url, process, log_path)
            output = log_path.read_text()
            found = re.search(
                r"^Created the first administrator: admin / (\S+)  \(also in (\S+)\)$",
                output,
                re.MULTILINE,
            )
            assert found, output
            assert "removed when admin first signs in" in output
            password, path = found.group(1), Path(found.group(2))
            assert path == tmp_path / "data" / INITIAL_PASSWORD_FILE
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            assert path.read_text().strip() == password

            answer = httpx.post(
                url + API + "/auth/token",
                data={"grant_type": "password", "username": "admin", "password": password},
            )
            assert answer.status_code == 200, answer.text
            assert not path.exists()
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)
