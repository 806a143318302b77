"""Black-box walkthrough of share it yourself (SPEC 8.2) against `python -m local.server`.

The buyer shares a seat, nothing is mailed, the link shows once; a friend with any verified
account accepts it; a second link is replaced by a fresh one and then revoked, and the old
links are dead. What a person reads: API answers and `/_local/mail`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import pytest

from tests.local.conftest import Server, assert_error_shape

pytestmark = pytest.mark.local


@pytest.fixture(autouse=True)
def bought_at(server: Server) -> Iterator[None]:
    server.set_clock("2026-03-01T12:00:00Z")
    yield
    server.reset_clock()


def person(server: Server, role: str) -> tuple[str, str]:
    sub = f"{role}-{uuid.uuid4().hex[:10]}"
    return server.token(sub=sub, email=f"{sub}@example.com")


def token_of(url: str) -> str:
    return parse_qs(urlparse(url).query)["token"][0]


def test_given_a_buyer_when_they_share_two_seats_then_links_work_once_and_die_when_replaced_or_revoked(
    server: Server,
) -> None:
    buyer, buyer_email = person(server, "buyer")
    friend, friend_email = person(server, "friend")
    purchase_id = server.buy(buyer, quantity=3)

    shared = server.ok(server.post(f"/purchases/{purchase_id}/seats/0002/link", token=buyer), 201)
    assert shared["seat"]["state"] == "invited" and shared["seat"]["recipient_email"] is None
    assert shared["seat"]["shared"] is True
    link = token_of(shared["url"])
    read = server.ok(server.get(f"/purchases/{purchase_id}", buyer))
    assert link not in str(read) and shared["url"] not in str(read)
    assert [m["subject"] for m in server.mail(friend_email)] == []  # nobody is mailed a shared link

    preview = server.ok(server.get(f"/invitations/{link}"))
    assert preview["state"] == "invited" and friend_email not in str(preview)
    own = server.post("/invitations/accept", {"token": link}, buyer)
    assert own.status_code == 409 and assert_error_shape(own)["code"] == "use_claim_instead"
    accepted = server.ok(server.post("/invitations/accept", {"token": link}, friend))
    assert accepted["entitlement"]["active"] is True
    again = server.post("/invitations/accept", {"token": link}, person(server, "late")[0])
    assert again.status_code == 404 and assert_error_shape(again)["code"] == "invitation_not_found"
    seats = {s["seat_id"]: s for s in server.ok(server.get(f"/purchases/{purchase_id}", buyer))["seats"]}
    assert (seats["0002"]["state"], seats["0002"]["recipient_email"]) == ("accepted", friend_email)
    assert any("accepted" in m["subject"].lower() for m in server.mail(buyer_email))

    first = token_of(
        server.ok(server.post(f"/purchases/{purchase_id}/seats/0003/link", token=buyer), 201)["url"]
    )
    fresh = server.ok(server.post(f"/purchases/{purchase_id}/seats/0003/resend", token=buyer), 200)
    second = token_of(fresh["url"])
    assert second != first and server.get(f"/invitations/{first}").status_code == 404
    assert server.get(f"/invitations/{second}").status_code == 200
    revoked = server.ok(server.post(f"/purchases/{purchase_id}/seats/0003/revoke", token=buyer))
    assert revoked["seat"]["state"] == "available"
    assert server.get(f"/invitations/{second}").status_code == 404
    counts = server.ok(server.get(f"/purchases/{purchase_id}", buyer))["purchase"]["seat_counts"]
    assert (counts["available"], counts["accepted"], counts["invited"]) == (2, 1, 0)
