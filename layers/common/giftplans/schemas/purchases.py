"""Purchases, seats and the audit trail (`GET /purchases`, `GET /purchases/{id}`, the seat actions)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

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
    amount_tax: int = 0  # SPEC 8.6: Stripe's tax, never part of a seat's value
    amount_refunded: int = 0  # SPEC 8.7
    invoice_url: str | None = None  # SPEC 8.6: the hosted invoice, once Stripe has one


class SeatOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    seat_id: str
    state: SeatStateName
    recipient_email: str | None
    invited_at: str | None
    accepted_at: str | None
    delivery: Literal["sent", "bounced"] | None
    resend_count: int
    from_name: str | None = Field(default=None, description="Who the buyer said the gift is from (SPEC 8.4).")
    credited: int | None = None  # SPEC 8.5: minor units credited to the holder's Stripe balance
    last_sent_at: str | None = None
    shared: bool = Field(
        default=False, description="SPEC 8.2: invited by a link the buyer shares; no address until accepted."
    )
    shared_at: str | None = Field(default=None, description="When the shared seat's current link was made.")
    send_at: str | None = Field(
        default=None, description="SPEC 8.1: when the invitation is (or was) to be mailed (ISO-8601 UTC)."
    )
    sent_at: str | None = Field(
        default=None,
        description="SPEC 8.1: when the invitation's mail was accepted for delivery; null until then.",
    )


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
    next_cursor: str | None


class HistoryEntryOut(BaseModel):
    """One thing that happened to a seat: `invited`, `resent`, `revoked`, `declined`, `bounced`, ..."""

    event: str
    at: str
    actor: str
    recipient: str | None = None


class SeatHistoryOut(BaseModel):
    seat: SeatOut
    history: list[HistoryEntryOut]
