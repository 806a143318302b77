"""Given-steps shared by tests: purchases as fulfilment makes them."""

from __future__ import annotations

import itertools
from datetime import datetime

from giftplans import clock, purchases
from giftplans.purchases import fulfilment
from giftplans.stripe_facts import GiftCheckout

_counter = itertools.count(1)


def paid_purchase(
    buyer_sub: str = "buyer-1",
    buyer_email: str = "buyer@example.com",
    *,
    plan: str = "pro",
    quantity: int = 3,
    unit_amount: int = 24000,
    status: purchases.PurchaseStatus = "paid",
    at: datetime | None = None,
    session_id: str | None = None,
) -> str:
    """Fulfil a checkout the way the webhook does; returns the purchase id."""
    n = next(_counter)
    facts = GiftCheckout(
        session_id=session_id or f"cs_test_factory_{n:06d}",
        buyer_id=buyer_sub,
        buyer_email=buyer_email,
        buyer_name=None,
        plan=plan,
        quantity=quantity,
        currency="usd",
        amount_subtotal=unit_amount * quantity,
        amount_total=unit_amount * quantity,
        payment_intent=f"pi_test_factory_{n:06d}",
    )
    return fulfilment.record_checkout(facts, status, at or clock.now())
