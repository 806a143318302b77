"""Issue 4: no email and no domain event leaves for a transition whose transaction failed.

moto's in-process mock has no DynamoDB Streams, so this runs against `python -m local.server`,
where moto's server keeps the table's stream and the local poller delivers it to the real
`mailer` and `events_publisher` functions. Mail is read at `/_local/mail`, published events at
`/_local/events` (both deliver pending stream records first). Every refusal is followed, in the
same test, by the transition that succeeds, which must mail and publish exactly once: a test
that saw nothing because nothing was delivered at all would fail there.
"""

from __future__ import annotations

import re
import threading
import uuid
from typing import Any

import pytest
import requests

from tests.local.conftest import Server, assert_error_shape

pytestmark = pytest.mark.local

ACCEPT_LINK = re.compile(r"/accept\?token=([A-Za-z0-9._~-]+)")
INVITED = "gave you"  # the invitation's subject
ACCEPTED = "accepted your"  # the buyer's "they accepted" subject


class Person:
    def __init__(self, server: Server, role: str) -> None:
        self.sub = f"{role}-{uuid.uuid4().hex[:10]}"
        self.email = f"{self.sub}@example.com"
        self.token, _ = server.token(sub=self.sub, email=self.email, verified=True)


def mail_about(server: Server, to: str, subject: str) -> list[dict[str, Any]]:
    return [m for m in server.mail(to) if subject in m["subject"]]


def published(server: Server, detail_type: str, **detail: str) -> list[dict[str, Any]]:
    """The events of `detail_type` on the bus whose detail has every given field."""
    answer = server.get(f"/_local/events?detail_type={detail_type}")
    events = server.ok(answer)["events"]
    assert all(e["detail_type"] == detail_type and e["source"] == "gift-plans" for e in events), events
    return [e for e in events if all(e["detail"].get(k) == v for k, v in detail.items())]


def invite(server: Server, buyer: Person, purchase_id: str, *emails: str) -> requests.Response:
    rows = [{"email": email} for email in emails]
    return server.post(f"/purchases/{purchase_id}/invitations", {"invitations": rows}, buyer.token)


def invited_link(server: Server, buyer: Person, purchase_id: str, recipient: Person) -> tuple[str, str]:
    """Invite `recipient`; the seat id and the token of the link the invitation carries."""
    before = len(mail_about(server, recipient.email, INVITED))
    (seat,) = server.ok(invite(server, buyer, purchase_id, recipient.email), 201)["seats"]
    *_, message = mail_about(server, recipient.email, INVITED)
    assert len(mail_about(server, recipient.email, INVITED)) == before + 1
    found = ACCEPT_LINK.search(message["text"])
    assert found, message["text"]
    return str(seat["seat_id"]), found.group(1)


def accept(server: Server, person: Person, token: str) -> requests.Response:
    return server.post("/invitations/accept", {"token": token}, person.token)


def assert_nothing_accepted(server: Server, buyer: Person, purchase_id: str) -> None:
    assert mail_about(server, buyer.email, ACCEPTED) == []
    assert published(server, "seat.accepted", purchase_id=purchase_id) == []
    assert published(server, "entitlement.granted", purchase_id=purchase_id) == []


def assert_accepted_once(server: Server, buyer: Person, purchase_id: str, recipient: Person) -> None:
    assert len(mail_about(server, buyer.email, ACCEPTED)) == 1
    (seat_event,) = published(server, "seat.accepted", purchase_id=purchase_id)
    assert seat_event["detail"]["recipient_sub"] == recipient.sub
    (granted,) = published(server, "entitlement.granted", purchase_id=purchase_id)
    assert granted["detail"]["recipient_sub"] == recipient.sub
    assert granted["detail"]["source"] == "gift"


# ---- accept ---------------------------------------------------------------------------------------------


def test_given_invited_seat_when_another_address_accepts_then_403_and_no_accepted_mail_or_event_until_invitee(
    server: Server,
) -> None:
    buyer, carol, mallory = Person(server, "buyer"), Person(server, "carol"), Person(server, "mallory")
    purchase_id = server.buy(buyer.token, quantity=2)
    _, token = invited_link(server, buyer, purchase_id, carol)

    refused = accept(server, mallory, token)

    assert refused.status_code == 403, refused.text
    assert_error_shape(refused)
    server.drain()
    assert_nothing_accepted(server, buyer, purchase_id)
    assert published(server, "entitlement.granted", recipient_sub=mallory.sub) == []

    server.ok(accept(server, carol, token))
    assert_accepted_once(server, buyer, purchase_id, carol)


def test_given_revoked_link_when_invitee_accepts_then_refused_and_no_accepted_mail_or_event_until_a_live_one(
    server: Server,
) -> None:
    buyer, dave = Person(server, "buyer"), Person(server, "dave")
    purchase_id = server.buy(buyer.token, quantity=2)
    seat_id, dead_token = invited_link(server, buyer, purchase_id, dave)
    server.ok(server.post(f"/purchases/{purchase_id}/seats/{seat_id}/revoke", None, buyer.token))

    refused = accept(server, dave, dead_token)

    assert refused.status_code in (404, 410), refused.text
    assert_error_shape(refused)
    server.drain()
    assert_nothing_accepted(server, buyer, purchase_id)
    assert len(published(server, "seat.revoked", purchase_id=purchase_id, seat_id=seat_id)) == 1

    _, live_token = invited_link(server, buyer, purchase_id, dave)  # invited again: a new link
    server.ok(accept(server, dave, live_token))
    assert_accepted_once(server, buyer, purchase_id, dave)


def test_given_recipient_with_an_active_gift_when_accepting_a_second_then_credited_and_no_second_grant(
    server: Server,
) -> None:
    """SPEC 8.5: the second gift becomes a credit; the entitlement keeps its source (one grant only)."""
    first_buyer, second_buyer, gus = Person(server, "buyer"), Person(server, "buyer"), Person(server, "gus")
    first = server.buy(first_buyer.token, quantity=2)
    second = server.buy(second_buyer.token, quantity=2)
    _, first_token = invited_link(server, first_buyer, first, gus)
    server.ok(accept(server, gus, first_token))
    _, second_token = invited_link(server, second_buyer, second, gus)

    credited = accept(server, gus, second_token)

    assert credited.status_code == 200, credited.text
    assert credited.json()["credited"] > 0
    assert credited.json()["entitlement"]["source"] == "gift"
    server.drain()
    assert_accepted_once(server, first_buyer, first, gus)
    (granted,) = published(server, "entitlement.granted", recipient_sub=gus.sub)
    assert granted["detail"]["purchase_id"] == first


# ---- invite -----------------------------------------------------------------------------------------------


def test_given_purchase_when_invite_has_an_invalid_row_then_422_and_no_invitation_mail_or_event_until_fixed(
    server: Server,
) -> None:
    buyer, erin = Person(server, "buyer"), Person(server, "erin")
    purchase_id = server.buy(buyer.token, quantity=2)

    refused = invite(server, buyer, purchase_id, erin.email, "not-an-address")

    assert refused.status_code == 422, refused.text
    assert_error_shape(refused)
    server.drain()
    assert mail_about(server, erin.email, INVITED) == []
    assert published(server, "seat.invited", purchase_id=purchase_id) == []

    server.ok(invite(server, buyer, purchase_id, erin.email), 201)
    assert len(mail_about(server, erin.email, INVITED)) == 1
    assert len(published(server, "seat.invited", purchase_id=purchase_id)) == 1


# ---- claim ------------------------------------------------------------------------------------------------


def test_given_buyer_with_a_claimed_plan_when_claiming_on_another_purchase_then_409_and_no_claim_event(
    server: Server,
) -> None:
    buyer = Person(server, "buyer")
    first = server.buy(buyer.token, quantity=2)
    second = server.buy(buyer.token, quantity=3)  # another quantity: not the same (idempotent) checkout
    assert second != first
    server.ok(server.post(f"/purchases/{first}/claim", None, buyer.token))

    refused = server.post(f"/purchases/{second}/claim", None, buyer.token)

    assert refused.status_code == 409, refused.text
    assert_error_shape(refused)
    server.drain()
    assert published(server, "seat.claimed", purchase_id=second) == []
    assert published(server, "entitlement.granted", purchase_id=second) == []
    # The claim that succeeded was published, once.
    (claimed,) = published(server, "seat.claimed", recipient_sub=buyer.sub)
    assert claimed["detail"]["purchase_id"] == first
    (granted,) = published(server, "entitlement.granted", recipient_sub=buyer.sub)
    assert granted["detail"]["source"] == "claim" and granted["detail"]["purchase_id"] == first


def test_given_purchase_when_three_claims_race_then_one_wins_and_one_claim_event_is_published(
    server: Server,
) -> None:
    buyer = Person(server, "buyer")
    purchase_id = server.buy(buyer.token, quantity=3)
    start = threading.Barrier(3)
    statuses: list[int] = []

    def claim() -> None:
        start.wait(timeout=10)
        statuses.append(server.post(f"/purchases/{purchase_id}/claim", None, buyer.token).status_code)

    racers = [threading.Thread(target=claim) for _ in range(3)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(timeout=60)

    assert sorted(statuses) == [200, 409, 409], statuses
    server.drain()
    assert len(published(server, "seat.claimed", purchase_id=purchase_id)) == 1
    assert len(published(server, "entitlement.granted", purchase_id=purchase_id)) == 1


# ---- delivered once ---------------------------------------------------------------------------------------


def test_given_committed_accept_when_stream_drained_twice_then_each_event_and_email_published_once(
    server: Server,
) -> None:
    buyer, fay = Person(server, "buyer"), Person(server, "fay")
    purchase_id = server.buy(buyer.token, quantity=2)
    _, token = invited_link(server, buyer, purchase_id, fay)
    server.ok(accept(server, fay, token))

    server.drain()
    server.drain()

    assert_accepted_once(server, buyer, purchase_id, fay)
    everything = server.ok(server.get("/_local/events"))["events"]
    ours = [e for e in everything if e["detail"].get("purchase_id") == purchase_id]
    assert {e["detail_type"] for e in ours} >= {"purchase.paid", "seat.invited", "seat.accepted"}
    ids = [e["detail"]["id"] for e in ours]
    assert len(ids) == len(set(ids)), ids  # no event of this purchase went out twice
