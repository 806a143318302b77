"""Purchases, seats and the audit trail (`GET /purchases`, `GET /purchases/{id}`, the seat actions)."""

from __future__ import annotations

from giftplans import contract as c

PURCHASE_STATUSES = ("pending_payment", "paid", "payment_failed", "refunded")
SEAT_STATES = ("available", "invited", "accepted", "claimed", "upgraded", "expired", "cancelled")
DELIVERIES = ("sent", "bounced")

SEAT_COUNTS_OUT = c.model("SeatCountsOut", {state: c.integer() for state in SEAT_STATES})

PURCHASE_OUT = c.model(
    "PurchaseOut",
    {
        "purchase_id": c.string(),
        "plan": c.string(),
        "quantity": c.integer(),
        "status": c.string(enum=PURCHASE_STATUSES),
        "currency": c.string(),
        "amount_total": c.integer(),
        "amount_subtotal": c.integer(),
        "term_start": c.string(),
        "term_end": c.string(),
        "days_left": c.integer(),
        "active": c.boolean(),
        "seat_counts": SEAT_COUNTS_OUT,
        "frozen": c.boolean(),
        "created_at": c.string(),
    },
    {
        "amount_tax": c.integer(default=0),  # SPEC 8.6: Stripe's tax, never part of a seat's value
        "amount_refunded": c.integer(default=0),  # SPEC 8.7
        "invoice_url": c.string(nullable=True),  # SPEC 8.6: the hosted invoice, once Stripe has one
    },
    extra=True,
)

SEAT_OUT = c.model(
    "SeatOut",
    {
        "seat_id": c.string(),
        "state": c.string(enum=SEAT_STATES),
        "recipient_email": c.string(nullable=True),
        "invited_at": c.string(nullable=True),
        "accepted_at": c.string(nullable=True),
        # by hand: `c.string(enum=..., nullable=True)` keeps null out of its enum, so refuses it
        "delivery": c.string(enum=DELIVERIES, nullable=True),
        "resend_count": c.integer(),
    },
    {
        "from_name": c.string(nullable=True, description="Who the buyer said the gift is from (SPEC 8.4)."),
        "credited": c.integer(nullable=True),  # SPEC 8.5: minor units credited to the holder's Stripe balance
        "last_sent_at": c.string(nullable=True),
        "shared": c.boolean(
            default=False,
            description="SPEC 8.2: invited by a link the buyer shares; no address until accepted.",
        ),
        "shared_at": c.string(nullable=True, description="When the shared seat's current link was made."),
        "send_at": c.string(
            nullable=True,
            description="SPEC 8.1: when the invitation is (or was) to be mailed (ISO-8601 UTC).",
        ),
        "sent_at": c.string(
            nullable=True,
            description="SPEC 8.1: when the invitation's mail was accepted for delivery; null until then.",
        ),
    },
    extra=True,
)

AUDIT_EVENT_OUT = c.model(
    "AuditEventOut",
    {
        "at": c.string(),
        "kind": c.string(),
        "actor": c.string(),
        "seat_ids": c.array(c.string()),
        "detail": c.anything(),
    },
)

PURCHASE_LIST_OUT = c.model(
    "PurchaseListOut",
    {"purchases": c.array(PURCHASE_OUT), "next_cursor": c.string(nullable=True)},
)

PURCHASE_DETAIL_OUT = c.model(
    "PurchaseDetailOut",
    {"purchase": PURCHASE_OUT, "seats": c.array(SEAT_OUT), "next_cursor": c.string(nullable=True)},
    extra=True,
    description="`events` (a list of `AuditEventOut`) is added only when `?include=events` asks for it.",
)

HISTORY_ENTRY_OUT = c.model(
    "HistoryEntryOut",
    {"event": c.string(), "at": c.string(), "actor": c.string()},
    {"recipient": c.string(nullable=True)},
    description="One thing that happened to a seat: `invited`, `resent`, `revoked`, `declined`, "
    "`bounced`, ...",
)

SEAT_HISTORY_OUT = c.model("SeatHistoryOut", {"seat": SEAT_OUT, "history": c.array(HISTORY_ENTRY_OUT)})
