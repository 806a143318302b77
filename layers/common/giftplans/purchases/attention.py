"""Paid gift checkouts that need a person (issue 14): recorded, alarmed, listed for support.

A `checkout.session.completed` (or async success) of kind `gift` that fulfilment cannot
turn into a purchase (`stripe_facts.Unfulfillable`: no buyer, a plan and price nobody
configured, no amounts) is never acknowledged: the webhook answers 503 so Stripe keeps
retrying for three days, logs an error and counts `UnfulfillableCheckout` (alarmed in
template.yaml). Each delivery records the session here, in the `ATTENTION` partition,
so `GET /admin/attention` lists it with what Stripe charged. Once the cause is fixed
(the retired price added to `RetiredPrices`), Stripe's next retry fulfils it, and the
list leaves out every session whose payment now has a purchase.

A refund or dispute of such a payment is not retried for three days either: it finds the
record (`for_payment`), logs an error and is acknowledged (support refunds by hand anyway).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from giftplans import clock
from giftplans.store import get_store
from giftplans.store import keys as k
from giftplans.store import models as m
from giftplans.stripe_facts import integer, stripe_id
from giftplans.tokens import mask_email


def record(reason: str, session: Mapping[str, Any], at: datetime) -> None:
    """Note (or note again) an unfulfillable session; the first sighting's time is kept."""
    session_id = stripe_id(session.get("id")) or "unknown"
    details = session.get("customer_details")
    email = (details.get("email") if isinstance(details, Mapping) else None) or session.get("customer_email")
    now = clock.iso(at)
    actions = [
        m.Attention.session_id.set(session_id),
        m.Attention.reason.set(reason),
        m.Attention.first_seen.set(m.Attention.first_seen | now),
        m.Attention.last_seen.set(now),
        m.Attention.deliveries.add(1),
        m.Attention.type.set(m.Attention),
    ]
    if (intent := stripe_id(session.get("payment_intent"))) is not None:
        actions.append(m.Attention.payment_intent.set(intent))
    if (total := integer(session.get("amount_total"))) is not None:
        actions.append(m.Attention.amount_total.set(total))
    if session.get("currency"):
        actions.append(m.Attention.currency.set(str(session["currency"]).lower()))
    if isinstance(email, str) and "@" in email:
        actions.append(m.Attention.buyer_email.set(mask_email(email)))
    item = m.Attention(k.ATTENTION_PK, k.attention_sk(session_id))
    get_store().write(lambda steps: steps.update("attention", item, actions))


def for_payment(payment_intent: str) -> m.Attention | None:
    """The unfulfillable checkout paid by `payment_intent`, if one was recorded."""
    return next((a for a in get_store().attention() if a.payment_intent == payment_intent), None)


def open_items() -> list[dict[str, Any]]:
    """`GET /admin/attention`: recorded sessions whose payment still has no purchase."""
    out = []
    for item in get_store().attention():
        if item.payment_intent and get_store().purchase_for_payment(item.payment_intent) is not None:
            continue  # fulfilled by a later retry
        out.append(
            {
                "kind": "unfulfillable_checkout",
                "session_id": item.session_id,
                "payment_intent": item.payment_intent,
                "reason": item.reason,
                "amount_total": int(item.amount_total) if item.amount_total is not None else None,
                "currency": item.currency,
                "buyer_email": item.buyer_email,
                "first_seen": item.first_seen,
                "last_seen": item.last_seen,
                "deliveries": int(item.deliveries or 0),
            }
        )
    return out
