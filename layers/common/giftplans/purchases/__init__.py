"""Purchases: plans bought "For Others" (SPEC rules 1, 2, 4, 9).

- `checkout`: starting a gift purchase (a Stripe Checkout Session);
- `fulfilment`: what a paid (or pending) Checkout becomes: the purchase and its seats;
- `billing`: the Billing and Purchases page's reads;
- `handout`: whether a purchase's seats can be handed out now (invite, claim).

A purchase's status moves `pending_payment -> paid | payment_failed`, `payment_failed -> paid`
(Stripe's asynchronous payments) and `paid -> refunded` (`giftplans.refunds`).
"""

from __future__ import annotations

import base64
import hashlib
from typing import Literal

PurchaseStatus = Literal["pending_payment", "paid", "payment_failed", "refunded"]
PAID: PurchaseStatus = "paid"
PENDING: PurchaseStatus = "pending_payment"
FAILED: PurchaseStatus = "payment_failed"
REFUNDED: PurchaseStatus = "refunded"


def purchase_id_for(session_id: str) -> str:
    """A purchase's id, from its Checkout Session: every delivery for one session names one purchase."""
    digest = hashlib.sha256(session_id.encode()).digest()
    return "pur_" + base64.b32encode(digest).decode().lower()[:26]
