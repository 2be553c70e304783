"""Subscriptions: explicit terms, idempotent subscribe/unsubscribe, counts, news of versions."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.support.gallery import Gallery, new_asset, publish

PROBLEM = "application/problem+json"


def assert_problem(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = answer.json()
    assert body["detail"]
    return body


def subscribe(client: httpx.Client, content_id: str, **body: Any) -> httpx.Response:
    return client.post(f"/assets/{content_id}/subscription", json=body)


def unsubscribe(client: httpx.Client, content_id: str) -> httpx.Response:
    return client.delete(f"/assets/{content_id}/subscription")


def count(client: httpx.Client, content_id: str) -> int:
    answer = client.get(f"/assets/{content_id}")
    assert answer.status_code == 200, answer.text
    value: int = answer.json()["subscription_count"]
    return value


def mine(client: httpx.Client) -> dict[str, dict[str, Any]]:
    answer = client.get("/subscriptions")
    assert answer.status_code == 200, answer.text
    return {s["content_id"]: s for s in answer.json()}


def token_of(client: httpx.Client) -> str:
    return str(client.headers["authorization"]).split(" ", 1)[1]


@pytest.mark.parametrize(
    "body",
    [{"accept_terms": False}, {}, {"accept_terms": None}, {"accept_terms": "maybe"}],
    ids=["false", "missing", "null", "not-a-bool"],
)
def test_subscribe_needs_accepted_terms(gallery: Gallery, body: dict[str, Any]) -> None:
    owner = gallery.user("owner")
    cid = new_asset(owner, visibility="public", terms="Cite us.")["content_id"]
    reader = gallery.user("reader")
    answer = reader.post(f"/assets/{cid}/subscription", json=body)
    problem = assert_problem(answer, answer.status_code)
    assert answer.status_code in (400, 422)
    assert "accept_terms" in [e["field"] for e in problem["errors"]], problem
    assert count(reader, cid) == 0
    assert cid not in mine(reader)


def test_subscribe_with_no_body_is_refused(gallery: Gallery) -> None:
    owner = gallery.user("owner")
    cid = new_asset(owner, visibility="public")["content_id"]
    reader = gallery.user("reader")
    answer = reader.post(f"/assets/{cid}/subscription")
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    assert count(reader, cid) == 0


def test_subscribe_once_counts_once(gallery: Gallery) -> None:
    owner = gallery.user("owner")
    cid = new_asset(owner, visibility="public")["content_id"]
    reader = gallery.user("reader")
    first = subscribe(reader, cid, accept_terms=True)
    assert first.status_code == 201, first.text
    assert first.json()["subscription_count"] == 1
    again = subscribe(reader, cid, accept_terms=True)
    assert again.status_code == 200, again.text
    assert again.json()["subscription_count"] == 1
    assert count(owner, cid) == 1
    other = gallery.user("other")
    assert subscribe(other, cid, accept_terms=True).status_code == 201
    assert count(owner, cid) == 2
    # An owner may follow their own asset too.
    assert subscribe(owner, cid, accept_terms=True).status_code == 201
    assert count(owner, cid) == 3


def test_unsubscribe_is_idempotent(gallery: Gallery) -> None:
    owner = gallery.user("owner")
    cid = new_asset(owner, visibility="public")["content_id"]
    reader = gallery.user("reader")
    other = gallery.user("other")
    assert subscribe(reader, cid, accept_terms=True).status_code == 201
    assert subscribe(other, cid, accept_terms=True).status_code == 201
    assert count(owner, cid) == 2
    first = unsubscribe(reader, cid)
    assert first.status_code == 204, first.text
    assert count(owner, cid) == 1
    assert unsubscribe(reader, cid).status_code == 204
    assert count(owner, cid) == 1
    assert cid not in mine(reader)
    assert cid in mine(other)
    # Never subscribed: still fine, count untouched.
    assert unsubscribe(gallery.user("never"), cid).status_code == 204
    assert count(owner, cid) == 1
    # And back again.
    assert subscribe(reader, cid, accept_terms=True).status_code == 201
    assert count(owner, cid) == 2


def _all_at_once(gallery: Gallery, token: str, call: Any, times: int) -> list[int]:
    """Run ``call(client)`` from ``times`` threads released together; the status codes."""
    barrier = threading.Barrier(times)

    def one(_: int) -> int:
        with gallery.client(token) as client:
            client.get("/me").raise_for_status()  # connect before the start line
            barrier.wait()
            status: int = call(client).status_code
            return status

    with ThreadPoolExecutor(max_workers=times) as pool:
        return sorted(pool.map(one, range(times)))


def test_concurrent_subscribes_of_one_user_count_once(gallery: Gallery) -> None:
    owner = gallery.user("owner")
    cid = new_asset(owner, visibility="public")["content_id"]
    assert subscribe(gallery.user("other"), cid, accept_terms=True).status_code == 201
    reader = gallery.user("reader")
    token = token_of(reader)
    times = 12

    statuses = _all_at_once(gallery, token, lambda c: subscribe(c, cid, accept_terms=True), times)
    assert statuses == [200] * (times - 1) + [201]
    assert count(owner, cid) == 2
    assert cid in mine(reader)

    statuses = _all_at_once(gallery, token, lambda c: unsubscribe(c, cid), times)
    assert statuses == [204] * times
    assert count(owner, cid) == 1
    assert cid not in mine(reader)


def test_my_subscriptions_count_new_versions(gallery: Gallery) -> None:
    owner = gallery.user("owner")
    asset = new_asset(owner, visibility="public", title="Weather model")
    cid = asset["content_id"]
    quiet = new_asset(owner, visibility="public")["content_id"]
    for _ in range(2):
        assert publish(owner, cid, {}).status_code == 201
    reader = gallery.user("reader")
    assert mine(reader) == {}
    assert subscribe(reader, cid, accept_terms=True).status_code == 201
    assert subscribe(reader, quiet, accept_terms=True).status_code == 201
    listed = mine(reader)
    assert set(listed) == {cid, quiet}
    entry = listed[cid]
    assert entry["new_versions"] == 0
    assert entry["latest_version"] == "1.0.1"
    assert (entry["name"], entry["title"], entry["owner"], entry["kind"]) == (
        asset["name"],
        "Weather model",
        owner.username,
        "algorithm",
    )
    assert entry["subscribed_at"]
    for _ in range(3):
        assert publish(owner, cid, {}).status_code == 201
    listed = mine(reader)
    assert listed[cid]["new_versions"] == 3
    assert listed[cid]["latest_version"] == "1.0.4"
    assert listed[quiet]["new_versions"] == 0
    # Re-subscribing does not reset the news.
    assert subscribe(reader, cid, accept_terms=True).status_code == 200
    assert mine(reader)[cid]["new_versions"] == 3
    # Others' lists are their own.
    assert mine(gallery.user("other")) == {}


def test_subscribing_to_an_unreadable_asset_is_404(gallery: Gallery) -> None:
    owner = gallery.user("owner")
    private = new_asset(owner)["content_id"]
    group = new_asset(owner, visibility="group")["content_id"]
    assert publish(owner, group, {}).status_code == 201
    reader = gallery.user("reader")
    for cid in (private, group, "00000000-0000-0000-0000-000000000000"):
        assert_problem(subscribe(reader, cid, accept_terms=True), 404)
        assert_problem(subscribe(reader, cid, accept_terms=False), 404)
        assert_problem(unsubscribe(reader, cid), 404)
    assert count(owner, private) == 0
    assert count(owner, group) == 0
    assert mine(reader) == {}


def test_whitelisted_user_may_subscribe_to_a_group_asset(gallery: Gallery) -> None:
    owner = gallery.user("owner")
    cid = new_asset(owner, visibility="group")["content_id"]
    assert publish(owner, cid, {}).status_code == 201
    friend = gallery.user("friend")
    answer = owner.post(
        f"/assets/{cid}/versions/1.0.0/whitelist", json={"principals": [friend.username]}
    )
    assert answer.status_code == 200, answer.text
    assert subscribe(friend, cid, accept_terms=True).status_code == 201
    assert cid in mine(friend)


def test_asset_made_private_leaves_the_subscribers_list(gallery: Gallery) -> None:
    owner = gallery.user("owner")
    cid = new_asset(owner, visibility="public")["content_id"]
    reader = gallery.user("reader")
    assert subscribe(reader, cid, accept_terms=True).status_code == 201
    assert cid in mine(reader)
    answer = owner.patch(f"/assets/{cid}", json={"visibility": "private"})
    assert answer.status_code == 200, answer.text
    assert cid not in mine(reader)
    assert_problem(reader.get(f"/assets/{cid}"), 404)
    assert_problem(subscribe(reader, cid, accept_terms=True), 404)
    # Public again: the subscription was kept, not lost.
    assert owner.patch(f"/assets/{cid}", json={"visibility": "public"}).status_code == 200
    assert cid in mine(reader)


def test_deleted_asset_leaves_the_subscribers_list(gallery: Gallery) -> None:
    owner = gallery.user("owner")
    cid = new_asset(owner, visibility="public")["content_id"]
    reader = gallery.user("reader")
    assert subscribe(reader, cid, accept_terms=True).status_code == 201
    assert owner.delete(f"/assets/{cid}").status_code == 204
    assert cid not in mine(reader)


def test_anonymous_cannot_subscribe(gallery: Gallery) -> None:
    owner = gallery.user("owner")
    cid = new_asset(owner, visibility="public")["content_id"]
    anonymous = gallery.client()
    assert_problem(subscribe(anonymous, cid, accept_terms=True), 401)
    assert_problem(unsubscribe(anonymous, cid), 401)
    assert_problem(anonymous.get("/subscriptions"), 401)
    assert count(owner, cid) == 0
    broken = gallery.client("not-a-token")
    assert_problem(subscribe(broken, cid, accept_terms=True), 401)
    assert_problem(broken.get("/subscriptions"), 401)
