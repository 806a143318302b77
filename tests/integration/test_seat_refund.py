"""SPEC 8.7: support cancels a never-used seat with `{"refund": true}`; Stripe refunds its value once."""

from __future__ import annotations

from typing import Any

import pytest
from giftplans import webhooks
from giftplans.store import get_store

from tests.integration.test_admin_api import admin, setup_purchase
from tests.support.stripe_fake import FakeStripe

pytestmark = pytest.mark.usefixtures("aws", "clock")


def cancel(purchase_id: str, seat_id: str, body: Any = None) -> tuple[int, Any]:
    return admin(
        "POST",
        f"/admin/purchases/{purchase_id}/seats/{seat_id}/cancel",
        "/admin/purchases/{purchase_id}/seats/{seat_id}/cancel",
        body=body,
        path_params={"purchase_id": purchase_id, "seat_id": seat_id},
    )


def charged(stripe: FakeStripe, purchase_id: str) -> str:
    """The purchase's payment as the fake knows it: 72000 paid (3 seats of 24000)."""
    purchase = get_store().purchase(purchase_id)
    assert purchase is not None and purchase.payment_intent
    intent, charge = str(purchase.payment_intent), "ch_" + purchase_id
    stripe.charges[charge] = {
        "id": charge, "amount": 72000, "amount_refunded": 0, "refunded": False, "currency": "usd",
        "payment_intent": intent, "customer": None, "refunds": {"object": "list", "data": []},
    }  # fmt: skip
    stripe.payment_intents[intent] = {"id": intent, "latest_charge": charge, "metadata": {"kind": "gift"}}
    return charge


def test_given_invited_seat_when_cancelled_with_refund_then_one_stripe_refund_of_its_value(
    stripe: FakeStripe,
) -> None:
    purchase_id = setup_purchase()
    charge = charged(stripe, purchase_id)

    status, body = cancel(purchase_id, "0002", {"refund": True})

    assert status == 200, body
    assert body["seat"]["state"] == "cancelled"
    [request] = stripe.to("/v1/refunds")
    assert request.form["amount"] == "24000"
    assert request.idempotency_key == f"seat-refund-{purchase_id}-0002"
    seat = get_store().seat(purchase_id, "0002")
    assert seat is not None and (seat.refund_status, seat.last_action) == ("done", "seat_refund")
    purchase = get_store().purchase(purchase_id)
    assert purchase is not None and int(purchase.amount_refunded) == 24000
    assert purchase.status == "paid" and purchase.seat_counts.as_dict()["accepted"] == 1
    assert stripe.charges[charge]["amount_refunded"] == 24000

    for event in stripe.events:  # the charge.refunded that follows: partial, cancels nothing more
        webhooks.handle(event)
    after = get_store().purchase(purchase_id)
    assert after is not None and int(after.amount_refunded) == 24000 and after.status == "paid"
    assert get_store().seat(purchase_id, "0001").state == "accepted"  # type: ignore[union-attr]


def test_given_refund_repeated_when_done_then_409_and_no_second_refund(stripe: FakeStripe) -> None:
    purchase_id = setup_purchase()
    charged(stripe, purchase_id)
    assert cancel(purchase_id, "0003", {"refund": True})[0] == 200

    status, body = cancel(purchase_id, "0003", {"refund": True})

    assert (status, body["error"]["code"]) == (409, "seat_not_cancellable")
    assert len(stripe.to("/v1/refunds")) == 1


def test_given_seat_in_use_when_refund_asked_then_409_says_why_and_stripe_not_called(
    stripe: FakeStripe,
) -> None:
    purchase_id = setup_purchase()
    charged(stripe, purchase_id)

    status, body = cancel(purchase_id, "0001", {"refund": True})

    assert (status, body["error"]["code"]) == (409, "seat_in_use")
    assert "someone uses it" in body["error"]["message"]
    assert stripe.to("/v1/refunds") == []
    assert get_store().seat(purchase_id, "0001").state == "accepted"  # type: ignore[union-attr]


def test_given_stripe_down_when_refunding_then_503_seat_cancelled_pending_and_a_retry_refunds_once(
    stripe: FakeStripe,
) -> None:
    purchase_id = setup_purchase()
    charged(stripe, purchase_id)
    stripe.status = 503

    status, body = cancel(purchase_id, "0002", {"refund": True})

    assert (status, body["error"]["code"]) == (503, "refund_unfinished")
    seat = get_store().seat(purchase_id, "0002")
    assert seat is not None and (seat.state, seat.refund_status) == ("cancelled", "pending")
    stripe.status = 200
    again = cancel(purchase_id, "0002", {"refund": True})
    assert again[0] == 200
    refunds = [r for r in stripe.to("/v1/refunds") if r.method == "POST"]
    assert len(stripe.stripe.all("refund")) == 1 and len(refunds) >= 1
    purchase = get_store().purchase(purchase_id)
    assert purchase is not None and int(purchase.amount_refunded) == 24000


def test_given_no_body_when_cancelled_then_no_refund_and_a_bad_body_is_400(stripe: FakeStripe) -> None:
    purchase_id = setup_purchase()
    assert cancel(purchase_id, "0003")[0] == 200
    assert stripe.requests == []
    status, body = cancel(purchase_id, "0002", {"refund": "yes please"})
    assert (status, body["error"]["code"]) == (400, "bad_request")
