"""Rule 14, disputes: created freezes invitations and claims, won lifts it, lost acts as a full refund."""

from __future__ import annotations

from typing import Any

import pytest
from giftplans.store import get_store

from tests.hardening.faults import snapshot
from tests.support import stripe_events as se
from tests.support.apigw import call, claims, http_event
from tests.support.factories import paid_purchase
from tests.support.stripe_fake import FakeStripe
from tests.support.upgrade_steps import (
    audit_trail,
    deliver,
    entitlement,
    holder,
    payment_intent,
    seats,
)

pytestmark = pytest.mark.usefixtures("aws", "clock")

BUYER, BUYER_EMAIL = "buyer-1", "buyer@example.com"


def dispute_event(
    event_type: str,
    purchase_id: str,
    *,
    status: str = "needs_response",
    by_charge: bool = False,
    dispute_id: str = "dp_test_1",
) -> dict[str, Any]:
    purchase = get_store().purchase(purchase_id)
    assert purchase is not None
    dispute = se.resource("dispute")
    dispute.update(
        {
            "id": dispute_id,
            "amount": int(purchase.amount_total),
            "status": status,
            "charge": "ch_test_disputed",
            "payment_intent": None if by_charge else purchase.payment_intent,
        }
    )
    return se.event(event_type, dispute)


def invite(purchase_id: str, email: str) -> tuple[int, Any]:
    return call(
        "purchases_api",
        http_event(
            "POST",
            f"/purchases/{purchase_id}/invitations",
            route="/purchases/{purchase_id}/invitations",
            path_params={"purchase_id": purchase_id},
            body={"invitations": [{"email": email}]},
            claims=claims(BUYER, BUYER_EMAIL),
        ),
    )


def test_given_paid_purchase_when_dispute_created_then_frozen_and_invites_refused_with_409() -> None:
    purchase_id = paid_purchase(BUYER, BUYER_EMAIL, quantity=2)

    status, body = deliver(dispute_event("charge.dispute.created", purchase_id))

    assert status == 200, body
    assert get_store().purchase(purchase_id).frozen is True  # type: ignore[union-attr]
    code, refusal = invite(purchase_id, "ivan@example.com")
    assert code == 409
    assert refusal["error"]["code"] == "purchase_frozen"
    assert "dispute" in refusal["error"]["message"]
    assert [e.kind for e in audit_trail(purchase_id)].count("purchase.dispute_opened") == 1


def test_given_dispute_created_when_replayed_then_one_audit_event() -> None:
    purchase_id = paid_purchase(BUYER, BUYER_EMAIL, quantity=1)
    evt = dispute_event("charge.dispute.created", purchase_id)
    deliver(evt)
    version = get_store().purchase(purchase_id).version  # type: ignore[union-attr]

    status, body = deliver(evt)

    assert status == 200 and body["result"].startswith("already frozen")
    assert get_store().purchase(purchase_id).version == version  # type: ignore[union-attr]
    assert [e.kind for e in audit_trail(purchase_id)].count("purchase.dispute_opened") == 1


def test_given_frozen_purchase_when_dispute_won_then_invites_work_again() -> None:
    purchase_id = paid_purchase(BUYER, BUYER_EMAIL, quantity=2)
    deliver(dispute_event("charge.dispute.created", purchase_id))

    status, _ = deliver(dispute_event("charge.dispute.closed", purchase_id, status="won"))

    assert status == 200
    assert get_store().purchase(purchase_id).frozen is False  # type: ignore[union-attr]
    code, body = invite(purchase_id, "ivan@example.com")
    assert code == 201, body
    assert [e.kind for e in audit_trail(purchase_id)].count("purchase.dispute_won") == 1


def test_given_frozen_purchase_when_dispute_lost_then_full_refund() -> None:
    purchase_id = paid_purchase(BUYER, BUYER_EMAIL, quantity=2)
    holder(purchase_id, 1, "rita", "rita@example.com")
    deliver(dispute_event("charge.dispute.created", purchase_id))

    status, body = deliver(dispute_event("charge.dispute.closed", purchase_id, status="lost"))

    assert status == 200, body
    purchase = get_store().purchase(purchase_id)
    assert purchase is not None and purchase.status == "refunded"
    assert {s.state for s in seats(purchase_id).values()} == {"cancelled"}
    ent = entitlement("rita")
    assert ent is not None and ent.ended is True
    [event] = [e for e in audit_trail(purchase_id) if e.kind == "purchase.refunded"]
    assert event.detail is not None and event.detail.as_dict()["reason"] == "dispute_lost"


def test_given_dispute_naming_only_its_charge_when_created_then_charge_looked_up_and_frozen(
    stripe: FakeStripe,
) -> None:
    purchase_id = paid_purchase(BUYER, BUYER_EMAIL, quantity=1)
    charge = se.resource("charge")
    bought = get_store().purchase(purchase_id)
    assert bought is not None
    charge.update({"id": "ch_test_disputed", "payment_intent": bought.payment_intent})
    stripe.charges["ch_test_disputed"] = charge

    status, _ = deliver(dispute_event("charge.dispute.created", purchase_id, by_charge=True))

    assert status == 200
    assert [r.path for r in stripe.requests] == ["/v1/charges/ch_test_disputed"]
    assert get_store().purchase(purchase_id).frozen is True  # type: ignore[union-attr]


def test_given_payment_intent_not_ours_when_dispute_created_then_200_ignored_after_one_stripe_read(
    stripe: FakeStripe,
) -> None:
    purchase_id = paid_purchase(BUYER, BUYER_EMAIL, quantity=1)
    stripe.payment_intents["pi_not_ours"] = payment_intent("pi_not_ours", {"kind": "upgrade"})
    evt = dispute_event("charge.dispute.created", purchase_id)
    evt["data"]["object"]["payment_intent"] = "pi_not_ours"
    before = snapshot()

    status, body = deliver(evt)

    assert status == 200 and body["result"].startswith("ignored")
    assert snapshot() == before
    assert [(r.method, r.path) for r in stripe.requests] == [("GET", "/v1/payment_intents/pi_not_ours")]


def test_given_gift_not_fulfilled_yet_when_dispute_created_then_503_and_after_fulfilment_frozen(
    stripe: FakeStripe,
) -> None:
    completion = se.checkout_completed(buyer_id=BUYER, buyer_email=BUYER_EMAIL, quantity=2)
    session = completion["data"]["object"]
    intent = str(session["payment_intent"])
    stripe.payment_intents[intent] = payment_intent(intent, dict(session["metadata"]))
    dispute = se.resource("dispute")
    dispute.update(
        {"id": "dp_test_early", "amount": 48000, "status": "needs_response", "payment_intent": intent}
    )
    created = se.event("charge.dispute.created", dispute)
    before = snapshot()

    status, body = deliver(created)

    assert status == 503, body
    assert snapshot() == before

    status, body = deliver(completion)
    assert status == 200, body
    purchase_id = body["result"].split()[-1]
    status, body = deliver(created)  # Stripe's retry, after fulfilment

    assert status == 200 and body["result"].startswith("frozen"), body
    assert get_store().purchase(purchase_id).frozen is True  # type: ignore[union-attr]
    assert invite(purchase_id, "ivan@example.com")[0] == 409
    assert [e.kind for e in audit_trail(purchase_id)].count("purchase.dispute_opened") == 1
    assert len(stripe.to("/v1/payment_intents/")) == 1


def test_given_dispute_won_when_its_created_event_arrives_late_then_purchase_stays_unfrozen() -> None:
    purchase_id = paid_purchase(BUYER, BUYER_EMAIL, quantity=2)
    created = dispute_event("charge.dispute.created", purchase_id)
    deliver(created)
    deliver(dispute_event("charge.dispute.closed", purchase_id, status="won"))

    status, _ = deliver(created)  # Stripe's retry of the created event, after the close

    assert status == 200
    assert get_store().purchase(purchase_id).frozen is False  # type: ignore[union-attr]
    code, body = invite(purchase_id, "ivan@example.com")
    assert code == 201, body


def test_given_dispute_closed_won_first_when_created_arrives_then_purchase_is_not_frozen() -> None:
    purchase_id = paid_purchase(BUYER, BUYER_EMAIL, quantity=2)
    deliver(dispute_event("charge.dispute.closed", purchase_id, status="won"))

    status, _ = deliver(dispute_event("charge.dispute.created", purchase_id))

    assert status == 200
    assert get_store().purchase(purchase_id).frozen is False  # type: ignore[union-attr]


def test_given_stripe_has_no_such_charge_when_dispute_names_only_it_then_200_not_ours(
    stripe: FakeStripe,
) -> None:
    """Issue 14: a dispute whose charge Stripe answers 404 for is somebody else's: 200, nothing written."""
    dispute = se.resource("dispute")
    dispute.update(
        {"id": "dp_test_stranger", "amount": 1000, "status": "needs_response", "charge": "ch_unknown"}
    )
    dispute.pop("payment_intent", None)
    before = snapshot()

    status, body = deliver(se.event("charge.dispute.created", dispute))

    assert status == 200 and body["result"].startswith("ignored"), body
    assert snapshot() == before
    assert [(r.method, r.path) for r in stripe.requests] == [("GET", "/v1/charges/ch_unknown")]


def test_given_two_open_disputes_when_the_first_is_won_then_still_frozen_until_the_second_is() -> None:
    purchase_id = paid_purchase(BUYER, BUYER_EMAIL, quantity=2)
    deliver(dispute_event("charge.dispute.created", purchase_id, dispute_id="dp_a"))
    deliver(dispute_event("charge.dispute.created", purchase_id, dispute_id="dp_b"))

    deliver(dispute_event("charge.dispute.closed", purchase_id, status="won", dispute_id="dp_a"))

    assert get_store().purchase(purchase_id).frozen is True  # type: ignore[union-attr]
    code, body = invite(purchase_id, "ivan@example.com")
    assert (code, body["error"]["code"]) == (409, "purchase_frozen")
    deliver(dispute_event("charge.dispute.closed", purchase_id, status="won", dispute_id="dp_b"))
    assert get_store().purchase(purchase_id).frozen is False  # type: ignore[union-attr]
    assert invite(purchase_id, "ivan@example.com")[0] == 201
