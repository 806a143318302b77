"""Rule 1: a Stripe Checkout for N plans of one tier "For Others"."""

from __future__ import annotations

from giftplans import stripe_gateway
from giftplans.errors import Invalid
from giftplans.identity import Caller
from giftplans.settings import get as settings
from giftplans.views_checkout import CheckoutSession


def start_gift_checkout(
    buyer: Caller, plan_name: str, quantity: int, client_key: str | None = None
) -> CheckoutSession:
    """The Checkout Session the buyer pays `quantity` plans of `plan_name` in.

    `client_key` is the client's Idempotency-Key header, if it sent one (see
    `stripe_gateway.gift_checkout_idempotency_key` for what makes two calls "the same").
    """
    conf = settings()
    plan = conf.known_plan(plan_name)
    if not 1 <= quantity <= conf.max_quantity:
        raise Invalid(f"The quantity must be between 1 and {conf.max_quantity}.", code="invalid_quantity")
    key = stripe_gateway.gift_checkout_idempotency_key(buyer.sub, plan.name, quantity, client_key)
    session_id, url = stripe_gateway.create_gift_checkout(buyer, plan, quantity, key)
    return CheckoutSession(session_id, url)
