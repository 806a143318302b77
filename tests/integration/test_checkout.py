"""POST /checkout/sessions: validated input; one Stripe Checkout call, right form, idempotency key."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.apigw import call, claims, http_event
from tests.support.stripe_fake import FakeStripe

pytestmark = pytest.mark.usefixtures("clock", "settings")

BUYER = claims("buyer-1", "buyer@example.com")


def checkout(
    body: Any = None,
    *,
    raw: str | None = None,
    who: dict[str, str] | None = BUYER,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    return call(
        "checkout",
        http_event("POST", "/checkout/sessions", body=body, raw_body=raw, claims=who, headers=headers),
    )


def assert_error(body: Any) -> None:
    assert isinstance(body["error"]["code"], str) and body["error"]["code"]
    assert isinstance(body["error"]["message"], str) and body["error"]["message"].endswith(".")


def test_given_signed_in_buyer_when_checkout_then_201_and_stripe_gets_one_payment_session(
    stripe_stub: FakeStripe,
) -> None:
    status, body = checkout({"plan": "pro", "quantity": 3})
    assert status == 201
    assert body == {
        "session_id": "cs_test_stub_0001",
        "url": "https://checkout.stripe.test/c/pay/cs_test_stub_0001",
    }
    [request] = stripe_stub.requests
    assert request.path == "/v1/checkout/sessions"
    assert request.headers["authorization"] == "Bearer sk_test_stub"
    form = request.form
    assert form["mode"] == "payment"
    assert form["line_items[0][price]"] == "price_pro_yearly_gift"
    assert form["line_items[0][quantity]"] == "3"
    assert "line_items[1][price]" not in form
    assert form["metadata[kind]"] == "gift"
    assert form["metadata[buyer_id]"] == "buyer-1"
    assert form["metadata[buyer_email]"] == "buyer@example.com"
    assert form["metadata[plan]"] == "pro"
    assert form["metadata[quantity]"] == "3"
    assert form["payment_intent_data[metadata][kind]"] == "gift"
    assert form["customer_email"] == "buyer@example.com"
    assert form["client_reference_id"] == "buyer-1"
    assert form["success_url"].startswith("http://127.0.0.1:3000/billing")
    assert form["cancel_url"] == "http://127.0.0.1:3000/"
    assert request.headers["idempotency-key"].startswith("gift-")


def test_given_same_request_within_the_minute_when_repeated_then_same_idempotency_key(
    stripe_stub: FakeStripe, clock: Any
) -> None:
    checkout({"plan": "pro", "quantity": 3})
    clock.advance(seconds=20)
    checkout({"plan": "pro", "quantity": 3})
    clock.advance(minutes=1)
    checkout({"plan": "pro", "quantity": 3})
    checkout({"plan": "pro", "quantity": 4})
    keys = [r.headers["idempotency-key"] for r in stripe_stub.requests]
    assert keys[0] == keys[1]
    assert len({keys[1], keys[2], keys[3]}) == 3


def test_given_client_idempotency_key_when_repeated_later_then_same_key_and_other_buyers_differ(
    stripe_stub: FakeStripe, clock: Any
) -> None:
    checkout({"plan": "team", "quantity": 2}, headers={"idempotency-key": "order-77"})
    clock.advance(hours=2)
    checkout({"plan": "team", "quantity": 2}, headers={"idempotency-key": "order-77"})
    checkout(
        {"plan": "team", "quantity": 2},
        headers={"idempotency-key": "order-77"},
        who=claims("buyer-2", "b2@example.com"),
    )
    keys = [r.headers["idempotency-key"] for r in stripe_stub.requests]
    assert keys[0] == keys[1] != keys[2]


@pytest.mark.parametrize(
    ("body", "raw", "status"),
    [
        ({"plan": "pro", "quantity": 0}, None, 422),
        ({"plan": "pro", "quantity": 1001}, None, 422),
        ({"plan": "pro", "quantity": "three"}, None, 422),
        ({"plan": "pro", "quantity": "3"}, None, 422),
        ({"plan": "pro", "quantity": 2.5}, None, 422),
        ({"plan": "pro", "quantity": 3.0}, None, 422),
        ({"plan": "pro", "quantity": True}, None, 422),
        ({"plan": "pro"}, None, 422),
        ({"quantity": 2}, None, 422),
        ({"plan": "platinum", "quantity": 2}, None, 422),
        (None, "", 400),
        (None, "{not json", 400),
        (None, "[1, 2]", 400),
    ],
    ids=[
        "zero",
        "1001",
        "three",
        "numeric-string",
        "float",
        "integral-float",
        "bool",
        "no-quantity",
        "no-plan",
        "unknown-plan",
        "empty-body",
        "malformed-json",
        "array-body",
    ],
)
def test_given_bad_input_when_checkout_then_4xx_in_spec_error_shape_and_no_stripe_call(
    stripe_stub: FakeStripe, body: Any, raw: str | None, status: int
) -> None:
    got, response = checkout(body, raw=raw)
    assert got == status
    assert_error(response)
    assert stripe_stub.requests == []


def test_given_unknown_plan_when_checkout_then_message_lists_the_plans(stripe_stub: FakeStripe) -> None:
    status, body = checkout({"plan": "platinum", "quantity": 2})
    assert status == 422
    assert body["error"]["code"] == "unknown_plan"
    assert "connect, pro, team" in body["error"]["message"]


def test_given_no_identity_when_checkout_then_401(stripe_stub: FakeStripe) -> None:
    status, body = checkout({"plan": "pro", "quantity": 1}, who=None)
    assert status == 401
    assert_error(body)
    assert stripe_stub.requests == []


def test_given_stripe_refuses_when_checkout_then_502_in_error_shape(stripe_stub: FakeStripe) -> None:
    stripe_stub.status = 400
    status, body = checkout({"plan": "pro", "quantity": 1})
    assert status == 502
    assert body["error"]["code"] == "payment_provider_error"


def test_given_stripe_down_when_checkout_then_503(
    stripe_stub: FakeStripe, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRIPE_API_BASE", "http://127.0.0.1:9")  # nothing listens on the discard port
    status, body = checkout({"plan": "pro", "quantity": 1})
    assert status == 503
    assert body["error"]["code"] == "payment_provider_unavailable"


def test_given_defaults_when_checkout_then_an_invoice_is_created_and_tax_is_off(
    stripe_stub: FakeStripe,
) -> None:
    assert checkout({"plan": "pro", "quantity": 2})[0] == 201
    form = stripe_stub.requests[0].form
    assert form["invoice_creation[enabled]"] == "true"  # SPEC 8.6
    assert not any(k.startswith(("automatic_tax", "tax_id_collection")) for k in form)


def test_given_tax_switched_on_when_checkout_then_tax_ids_and_automatic_tax_requested(
    stripe_stub: FakeStripe, monkeypatch: pytest.MonkeyPatch
) -> None:
    from giftplans import settings

    monkeypatch.setenv("COLLECT_TAX_IDS", "true")
    monkeypatch.setenv("AUTOMATIC_TAX", "true")
    settings.get.cache_clear()

    assert checkout({"plan": "pro", "quantity": 2})[0] == 201

    form = stripe_stub.requests[0].form
    assert (form["tax_id_collection[enabled]"], form["automatic_tax[enabled]"]) == ("true", "true")
    session = stripe_stub.stripe.all("checkout.session")[0]
    assert session["total_details"]["amount_tax"] > 0 and session["amount_subtotal"] == 48000


def test_given_automatic_tax_when_the_local_stripe_completes_the_checkout_then_seats_are_worth_pre_tax(
    aws: None, stripe_stub: FakeStripe, monkeypatch: pytest.MonkeyPatch
) -> None:
    from giftplans import settings, webhooks
    from giftplans.purchases import purchase_id_for
    from giftplans.store import get_store

    monkeypatch.setenv("AUTOMATIC_TAX", "true")
    settings.get.cache_clear()
    status, body = checkout({"plan": "pro", "quantity": 3})
    assert status == 201

    for event in stripe_stub.stripe.complete(body["session_id"]):
        webhooks.handle(event)

    purchase, seats = get_store().purchase_and_seats(purchase_id_for(body["session_id"]))
    assert purchase is not None
    assert (int(purchase.amount_subtotal), int(purchase.amount_tax or 0)) == (72000, 7200)  # the fake's 10 %
    assert int(purchase.amount_total) == 79200
    assert [int(s.seat_value) for s in seats] == [24000, 24000, 24000]  # SPEC 8.6: before tax
    invoice = stripe_stub.stripe.all("invoice")[0]
    assert purchase.invoice_id == invoice["id"] and purchase.invoice_url == invoice["hosted_invoice_url"]
