"""The HTTP API's response shapes as pydantic models (SPEC section 4), for OpenAPI and response validation.

The domain returns typed results (`giftplans.views`) whose `as_json()` is the SPEC JSON;
routes annotate their return type with these models so the OpenAPI document shows the
contract. Field names are part of the contract.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

PurchaseStatus = Literal["pending_payment", "paid", "payment_failed", "refunded"]
SeatStateName = Literal["available", "invited", "accepted", "claimed", "upgraded", "expired", "cancelled"]


class SeatCountsOut(BaseModel):
    available: int
    invited: int
    accepted: int
    claimed: int
    upgraded: int
    expired: int
    cancelled: int


class PurchaseOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    purchase_id: str
    plan: str
    quantity: int
    status: PurchaseStatus
    currency: str
    amount_total: int
    amount_subtotal: int
    term_start: str
    term_end: str
    days_left: int
    active: bool
    seat_counts: SeatCountsOut
    frozen: bool
    created_at: str


class SeatOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    seat_id: str
    state: SeatStateName
    recipient_email: str | None
    invited_at: str | None
    accepted_at: str | None
    delivery: Literal["sent", "bounced"] | None
    resend_count: int


class AuditEventOut(BaseModel):
    at: str
    kind: str
    actor: str
    seat_ids: list[str]
    detail: dict[str, Any]


class PurchaseListOut(BaseModel):
    purchases: list[PurchaseOut]
    next_cursor: str | None


class PurchaseDetailOut(BaseModel):
    """`events` (a list of `AuditEventOut`) is added only when `?include=events` asks for it."""

    model_config = ConfigDict(extra="allow")

    purchase: PurchaseOut
    seats: list[SeatOut]


class CheckoutSessionOut(BaseModel):
    session_id: str
    url: str


class EntitlementOut(BaseModel):
    """What an account has now (`giftplans.entitlements.current`), for GET /me/entitlement and accept."""

    active: bool
    plan: str | None
    source: str | None
    term_end: str | None
    auto_renew: bool
