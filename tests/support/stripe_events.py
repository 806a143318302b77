"""Stripe webhook events of the real shape, built from Stripe's own fixtures, signed as Stripe signs them.

Objects start from `shared/data/stripe-openapi-fixtures3.json` (`resources.<name>`), get
the fields our code reads set on top, and are wrapped in the fixture `event` envelope.
"""

from __future__ import annotations

import copy
import functools
import itertools
import json
from typing import Any

import stripe
from giftplans import clock

from tests.support.paths import shared_file

TEST_SECRET = "whsec_local_dev"
_ids = itertools.count(1)


@functools.cache
def fixtures() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(shared_file("data/stripe-openapi-fixtures3.json").read_text("utf-8"))
    return data["resources"]


def resource(name: str) -> dict[str, Any]:
    """A deep copy of Stripe's example object for `name` (e.g. "checkout.session", "charge")."""
    return copy.deepcopy(fixtures()[name])


def event(event_type: str, obj: dict[str, Any], created: int | None = None) -> dict[str, Any]:
    """Stripe's event envelope around `obj`; `created` defaults to the test clock's now."""
    envelope = resource("event")
    envelope.update(
        {
            "id": f"evt_test_{next(_ids):08d}",
            "type": event_type,
            "created": clock.epoch(clock.now()) if created is None else created,
            "data": {"object": obj},
            "api_version": "2026-08-27.basil",
        }
    )
    return envelope


def gift_session(
    *,
    session_id: str | None = None,
    buyer_id: str = "buyer-1",
    buyer_email: str = "buyer@example.com",
    plan: str = "pro",
    quantity: int = 3,
    unit_amount: int = 24000,
    discount: int = 0,
    tax: int = 0,
    payment_status: str = "paid",
    **overrides: Any,
) -> dict[str, Any]:
    """A completed gift Checkout Session as our checkout creates it (metadata) and Stripe completes it."""
    session = resource("checkout.session")
    subtotal = unit_amount * quantity
    session.update(
        {
            "id": session_id or f"cs_test_{next(_ids):08d}",
            "mode": "payment",
            "status": "complete",
            "payment_status": payment_status,
            "metadata": {
                "kind": "gift",
                "buyer_id": buyer_id,
                "buyer_email": buyer_email,
                "plan": plan,
                "quantity": str(quantity),
            },
            "client_reference_id": buyer_id,
            "customer_email": buyer_email,
            "currency": "usd",
            "amount_subtotal": subtotal,
            "amount_total": subtotal - discount + tax,
            "total_details": {"amount_discount": discount, "amount_shipping": 0, "amount_tax": tax},
            "payment_intent": f"pi_test_{next(_ids):08d}",
            "shipping_cost": None,
            "currency_conversion": None,
        }
    )
    session["customer_details"]["email"] = buyer_email
    session.update(overrides)
    return session


def checkout_completed(
    payment_status: str = "paid", created: int | None = None, **session_overrides: Any
) -> dict[str, Any]:
    session = gift_session(payment_status=payment_status, **session_overrides)
    return event("checkout.session.completed", session, created)


def async_succeeded(session: dict[str, Any], created: int | None = None) -> dict[str, Any]:
    paid = {**copy.deepcopy(session), "payment_status": "paid"}
    return event("checkout.session.async_payment_succeeded", paid, created)


def async_failed(session: dict[str, Any], created: int | None = None) -> dict[str, Any]:
    unpaid = {**copy.deepcopy(session), "payment_status": "unpaid"}
    return event("checkout.session.async_payment_failed", unpaid, created)


def sign(payload: bytes, secret: str = TEST_SECRET, t: int | None = None) -> str:
    """A Stripe-Signature header for `payload` at `t` (default: the wall clock's now, as Stripe signs)."""
    # Stripe's bodies are UTF-8; a test body that is not gets signed as Latin-1 (the service refuses it).
    text = payload.decode("utf-8", errors="strict") if _is_utf8(payload) else payload.decode("latin-1")
    return stripe.WebhookSignature.generate_signature_header(text, secret, t)


def _is_utf8(payload: bytes) -> bool:
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def body(evt: dict[str, Any]) -> bytes:
    return json.dumps(evt).encode()


def webhook_request(
    evt: dict[str, Any] | None = None,
    *,
    payload: bytes | None = None,
    signature: str | None = "sign",
    secret: str = TEST_SECRET,
    t: int | None = None,
) -> dict[str, Any]:
    """An HTTP API event posting `evt` (or raw `payload`) to /webhooks/stripe, signed unless told."""
    from tests.support.apigw import http_event

    raw = payload if payload is not None else body(evt or {})
    headers = {}
    if signature == "sign":
        headers["stripe-signature"] = sign(raw, secret, t)
    elif signature is not None:
        headers["stripe-signature"] = signature
    text = raw.decode("utf-8", errors="replace")
    return http_event("POST", "/webhooks/stripe", raw_body=text, headers=headers)
