"""Claim (SPEC rule 4): a non-subscriber who bought more than one plan takes one seat for themselves."""

from __future__ import annotations

import pytest
from giftplans import clock as real_clock
from giftplans.store import keys as k
from giftplans.store import models as m

from tests.support import factories
from tests.support import gifts as g


@pytest.fixture
def pid(aws: None, clock: object) -> str:
    return factories.paid_purchase(quantity=3)


def test_given_buyer_of_three_when_claiming_then_lowest_available_seat_is_claimed_with_a_claim_entitlement(
    pid: str,
) -> None:
    g.invite(pid, "ann@example.com")

    status, body = g.claim(pid)

    assert (status, body["seat"]["seat_id"], body["seat"]["state"]) == (200, "0002", "claimed")
    seat = g.seat(pid, "0002")
    assert (seat.state, seat.recipient_sub, seat.recipient_email, seat.last_action, seat.actor) == (
        "claimed",
        g.BUYER,
        g.BUYER_EMAIL,
        "claim",
        "buyer",
    )
    purchase = g.purchase(pid)
    assert g.free_numbers(pid) == {3} and purchase.seat_counts.claimed == 1 and "0002" in g.live_holders(pid)
    assert g.entitlement(g.who())[1] == {
        "active": True,
        "plan": "pro",
        "source": "claim",
        "term_end": "2027-03-01T12:00:00Z",
        "auto_renew": False,
        "grace_until": None,
        "days_left": 365,
        "gift_from": None,
        "first_charge": None,
    }
    assert "seat.claimed" in g.audit_kinds(pid)


def test_given_buyer_of_one_plan_when_claiming_then_403_claim_not_allowed(aws: None, clock: object) -> None:
    pid = factories.paid_purchase(quantity=1)
    status, body = g.claim(pid)
    assert (status, body["error"]["code"]) == (403, "claim_not_allowed")
    assert "more than one plan" in body["error"]["message"]


def test_given_two_purchases_of_one_plan_when_claiming_then_allowed_counting_all_purchases(
    aws: None, clock: object
) -> None:
    factories.paid_purchase(quantity=1)
    pid = factories.paid_purchase(quantity=1)
    assert g.claim(pid)[0] == 200


def test_given_subscriber_when_claiming_then_409_already_subscribed(pid: str) -> None:
    m.Entitlement(
        k.account_pk(g.BUYER),
        k.ENTITLEMENT_SK,
        sub=g.BUYER,
        sub_plan="team",
        sub_status="active",
        sub_term_end="2026-09-01T00:00:00Z",
        sub_term_end_ts=real_clock.epoch(real_clock.now()) + 86400,
        updated_at="x",
    ).save()
    status, body = g.claim(pid)
    assert (status, body["error"]["code"], body["error"]["plan"]) == (409, "already_subscribed", "team")


def test_given_a_claimed_seat_when_claiming_again_then_409_one_claim_at_a_time(pid: str) -> None:
    other = factories.paid_purchase(quantity=2)
    assert g.claim(pid)[0] == 200
    assert g.claim(other)[1]["error"]["code"] == "already_subscribed"
    assert g.claim(pid)[0] == 409
    assert g.purchase(pid).seat_counts.claimed == 1


def test_given_no_available_seat_when_claiming_then_409(aws: None, clock: object) -> None:
    pid = factories.paid_purchase(quantity=2)
    g.invite(pid, "a@example.com", "b@example.com")
    assert g.claim(pid)[1]["error"]["code"] == "no_seats_available"


@pytest.mark.parametrize(
    ("fields", "code"),
    [({"status": "pending_payment"}, "purchase_not_paid"), ({"frozen": True}, "purchase_frozen")],
)
def test_given_unusable_purchase_when_claiming_then_409(
    pid: str, fields: dict[str, object], code: str
) -> None:
    g.purchase(pid).update(actions=[getattr(m.Purchase, k).set(v) for k, v in fields.items()])
    assert g.claim(pid)[1]["error"]["code"] == code


def test_given_claimed_seat_when_revoked_then_409_only_invitations_can_be_revoked(pid: str) -> None:
    g.claim(pid)
    assert g.seat_action(pid, "0001", "revoke")[0] == 409
