"""Rule 14, refunds: `charge.refunded` through the signed webhook, built from Stripe's charge fixture."""

from __future__ import annotations

from typing import Any

import pytest
from giftplans import terms, upgrades
from giftplans.clock import parse_iso
from giftplans.store import get_store
from giftplans.store import keys as k
from giftplans.store import models as m
from giftplans.stripe_facts import UpgradeCompletion

from tests.hardening.faults import failing_writes, snapshot
from tests.support import stripe_events as se
from tests.support.factories import paid_purchase
from tests.support.stripe_fake import FakeStripe
from tests.support.upgrade_steps import (
    audit_trail,
    charge_refunded,
    deliver,
    entitlement,
    holder,
    invited,
    payment_intent,
    seats,
)

pytestmark = pytest.mark.usefixtures("aws", "clock")

BUYER = "buyer-1"


def profile(sub: str) -> m.Profile:
    return m.Profile.get(k.account_pk(sub), k.PROFILE_SK, consistent_read=True)


def four_seat_purchase() -> str:
    """Seats: 0001 accepted by rita, 0002 claimed by the buyer, 0003 invited, 0004 available."""
    purchase_id = paid_purchase(BUYER, quantity=4)
    holder(purchase_id, 1, "rita", "rita@example.com")
    holder(purchase_id, 2, BUYER, "buyer@example.com", state="claimed")
    invited(purchase_id, 3, "ivan@example.com")
    return purchase_id


def test_given_used_purchase_when_fully_refunded_then_every_seat_cancelled_and_entitlements_ended() -> None:
    purchase_id = four_seat_purchase()
    assert int(profile(BUYER).plans_bought) == 4

    status, body = deliver(charge_refunded(purchase_id, 96000))

    assert status == 200, body
    assert {s.state for s in seats(purchase_id).values()} == {"cancelled"}
    assert all(s.last_action == "refund" for s in seats(purchase_id).values())
    assert seats(purchase_id)["0003"].nonce is None  # the invitation link stops working
    for sub in ("rita", BUYER):
        ent = entitlement(sub)
        assert ent is not None and ent.ended is True
    purchase = get_store().purchase(purchase_id)
    assert purchase is not None
    assert (purchase.status, int(purchase.amount_refunded)) == ("refunded", 96000)
    assert purchase.seat_counts.as_dict()["cancelled"] == 4
    assert purchase.seat_counts.as_dict()["accepted"] == 0
    assert purchase.due_kind == "erase"  # no reminders or expiry; its recipients are erased 90 days on
    assert str(purchase.GSI2PK).startswith(f"DUE#{terms.milestones(parse_iso(purchase.term_end))[-1][1]}#")
    assert int(profile(BUYER).plans_bought) == 0
    [event] = [e for e in audit_trail(purchase_id) if e.kind == "purchase.refunded"]
    assert event.actor == "stripe" and sorted(event.seat_ids or []) == ["0001", "0002", "0003", "0004"]


def test_given_full_refund_when_replayed_then_nothing_changes() -> None:
    purchase_id = four_seat_purchase()
    evt = charge_refunded(purchase_id, 96000)
    deliver(evt)
    versions = {sid: s.version for sid, s in seats(purchase_id).items()}
    purchase_version = get_store().purchase(purchase_id).version  # type: ignore[union-attr]

    status, body = deliver(evt)

    assert status == 200 and "already refunded" in body["result"]
    assert {sid: s.version for sid, s in seats(purchase_id).items()} == versions
    assert get_store().purchase(purchase_id).version == purchase_version  # type: ignore[union-attr]
    assert int(profile(BUYER).plans_bought) == 0
    assert [e.kind for e in audit_trail(purchase_id)].count("purchase.refunded") == 1


def test_given_upgraded_seat_when_fully_refunded_then_it_stays_upgraded_and_its_subscription_untouched(
    clock,
) -> None:
    purchase_id = paid_purchase(BUYER, quantity=2)
    holder(purchase_id, 1, "rita", "rita@example.com")
    upgrades.complete(UpgradeCompletion("rita", purchase_id, "0001", "team", "sub_test_1", None), clock.now)

    deliver(charge_refunded(purchase_id, 48000))

    states = {sid: s.state for sid, s in seats(purchase_id).items()}
    assert states == {"0001": "upgraded", "0002": "cancelled"}
    ent = entitlement("rita")
    assert ent is not None and (ent.sub_status, ent.sub_plan) == ("active", "team")


def test_given_recipient_now_holds_other_plan_when_refunded_then_that_entitlement_is_left_alone() -> None:
    purchase_id = paid_purchase(BUYER, quantity=1)
    holder(purchase_id, 1, "rita", "rita@example.com")
    other = m.Entitlement.get(k.account_pk("rita"), k.ENTITLEMENT_SK)
    other.update(
        actions=[m.Entitlement.purchase_id.set("pur_someotherpurchase"), m.Entitlement.seat_id.set("0009")]
    )

    deliver(charge_refunded(purchase_id, 24000))

    assert seats(purchase_id)["0001"].state == "cancelled"
    ent = entitlement("rita")
    assert ent is not None and ent.ended is False


def test_given_partial_refund_when_delivered_then_amount_recorded_and_no_seat_changes() -> None:
    purchase_id = four_seat_purchase()
    before = {sid: (s.state, s.version) for sid, s in seats(purchase_id).items()}

    status, body = deliver(charge_refunded(purchase_id, 24000))

    assert status == 200 and body["result"].startswith("partially refunded")
    purchase = get_store().purchase(purchase_id)
    assert purchase is not None
    assert (purchase.status, int(purchase.amount_refunded)) == ("paid", 24000)
    assert {sid: (s.state, s.version) for sid, s in seats(purchase_id).items()} == before
    assert [e.kind for e in audit_trail(purchase_id)].count("purchase.partially_refunded") == 1

    deliver(charge_refunded(purchase_id, 24000))  # the same event again
    assert [e.kind for e in audit_trail(purchase_id)].count("purchase.partially_refunded") == 1


def test_given_partial_then_rest_refunded_when_delivered_then_full_refund() -> None:
    purchase_id = four_seat_purchase()
    deliver(charge_refunded(purchase_id, 24000))

    deliver(charge_refunded(purchase_id, 96000))

    purchase = get_store().purchase(purchase_id)
    assert purchase is not None and purchase.status == "refunded"
    assert {s.state for s in seats(purchase_id).values()} == {"cancelled"}


def test_given_payment_intent_not_ours_when_refunded_then_200_ignored_after_one_stripe_read(
    stripe: FakeStripe,
) -> None:
    purchase_id = paid_purchase(BUYER, quantity=1)
    stripe.payment_intents["pi_not_ours"] = payment_intent("pi_not_ours", {"order": "42"})
    before = snapshot()

    status, body = deliver(charge_refunded(purchase_id, 24000, payment_intent="pi_not_ours"))

    assert status == 200 and body["result"].startswith("ignored")
    assert snapshot() == before
    assert [(r.method, r.path) for r in stripe.requests] == [("GET", "/v1/payment_intents/pi_not_ours")]


# ---- a refund that arrives before its fulfilment (rule 14; Stripe retries and does not keep order) ---------


def gift_completion(stripe: FakeStripe, quantity: int = 2) -> tuple[dict[str, Any], str]:
    """A gift's `checkout.session.completed` not delivered yet, and its payment intent known to Stripe."""
    evt = se.checkout_completed(buyer_id=BUYER, quantity=quantity)
    session = evt["data"]["object"]
    intent = str(session["payment_intent"])
    stripe.payment_intents[intent] = payment_intent(intent, dict(session["metadata"]))
    return evt, intent


def refund_of(intent: str, amount: int) -> dict[str, Any]:
    """A full `charge.refunded` for `intent`, built without a purchase (there is none yet)."""
    charge = se.resource("charge")
    charge.update(
        {
            "id": "ch_test_early_refund",
            "amount": amount,
            "amount_captured": amount,
            "amount_refunded": amount,
            "captured": True,
            "currency": "usd",
            "payment_intent": intent,
            "refunded": True,
        }
    )
    return se.event("charge.refunded", charge)


def test_given_gift_completion_failing_when_its_refund_arrives_then_503_and_nothing_written(
    stripe: FakeStripe, monkeypatch: pytest.MonkeyPatch
) -> None:
    completion, intent = gift_completion(stripe)
    with failing_writes(monkeypatch, "ThrottlingException") as refused:
        status, _ = deliver(completion)
    assert refused and status == 503  # Stripe will retry the completion later
    before = snapshot()

    status, body = deliver(refund_of(intent, 48000))

    assert status == 503, body
    assert body["error"]["code"] == "temporarily_unavailable"
    assert snapshot() == before
    assert [(r.method, r.path) for r in stripe.requests] == [("GET", f"/v1/payment_intents/{intent}")]


def test_given_refund_refused_before_fulfilment_when_completion_then_refund_redelivered_then_refunded(
    stripe: FakeStripe,
) -> None:
    completion, intent = gift_completion(stripe)
    refund = refund_of(intent, 48000)
    assert deliver(refund)[0] == 503

    status, body = deliver(completion)
    assert status == 200 and body["result"].startswith("paid"), body
    status, body = deliver(refund)  # Stripe's retry

    assert status == 200 and body["result"].startswith("refunded"), body
    purchase_id = body["result"].split()[-1]
    purchase = get_store().purchase(purchase_id)
    assert purchase is not None and (purchase.status, int(purchase.amount_refunded)) == ("refunded", 48000)
    assert {s.state for s in seats(purchase_id).values()} == {"cancelled"}
    assert int(profile(BUYER).plans_bought) == 0
    assert len(stripe.to("/v1/payment_intents/")) == 1  # the retry found the purchase without asking


def test_given_stripe_has_no_such_payment_intent_when_refunded_then_200_not_ours_logged_nothing_written(
    stripe: FakeStripe, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 14: Stripe's 404 resource_missing is "not ours", not "Stripe unavailable" (no 3 days of 503s)."""
    before = snapshot()

    status, body = deliver(refund_of("pi_test_stripe_does_not_know", 24000))  # Stripe answers 404

    assert status == 200 and body["result"].startswith("ignored"), body
    assert snapshot() == before
    assert len(stripe.to("/v1/payment_intents/")) == 1
    assert "no such payment intent" in caplog.text


@pytest.mark.parametrize("stripe_status", [500, 503])
def test_given_stripe_failing_when_unknown_intent_refunded_then_503_and_nothing_written(
    stripe: FakeStripe, stripe_status: int
) -> None:
    stripe.status = stripe_status  # Stripe's own 5xx: only this (and timeouts) is worth Stripe's retries
    before = snapshot()

    status, body = deliver(refund_of("pi_test_stripe_is_down", 24000))

    assert status == 503, body
    assert snapshot() == before
