"""Purchases: what a paid (or pending) Stripe Checkout becomes, and the Billing page's reads.

Fulfilment is keyed on the Checkout Session: `purchase_id_for(session_id)` is
deterministic, so every delivery of every event for one session addresses the same
purchase item. It is crash-safe: the purchase item is created together with the first
chunk of seats, and each further chunk of seats is written in one transaction with the
purchase's `seats_written` progress, conditioned on its previous value. A retry after a
crash continues from the last committed chunk; a duplicate delivery finds the work done.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from giftplans import audit, clock, money, stripe_gateway, terms
from giftplans.seats import CREATE
from giftplans.store import get_store
from giftplans.store import keys as k
from giftplans.store import models as m
from giftplans.store.transitions import created_seat, initial_counts
from giftplans.store.writes import Steps, retry_on_conflict, stamp

PurchaseStatus = Literal["pending_payment", "paid", "payment_failed", "refunded"]
PAID: PurchaseStatus = "paid"
PENDING: PurchaseStatus = "pending_payment"
FAILED: PurchaseStatus = "payment_failed"
REFUNDED: PurchaseStatus = "refunded"

# A transaction holds at most 100 actions: the first carries the purchase, the payment
# lookup, the buyer's profile and the audit event beside its seats; later ones carry the
# purchase's progress update beside theirs.
FIRST_CHUNK = 96
CHUNK = 99
# Status moves Stripe can cause, from -> allowed targets. Anything else is a replay or
# an out-of-order delivery and changes nothing.
STATUS_MOVES: dict[str, frozenset[str]] = {
    PENDING: frozenset({PAID, FAILED}),
    FAILED: frozenset({PAID}),
}


@dataclass(frozen=True)
class CheckoutFacts:
    """What fulfilment needs from a Stripe Checkout Session (parsed by the webhook)."""

    session_id: str
    buyer_id: str
    buyer_email: str
    buyer_name: str | None
    plan: str
    quantity: int
    currency: str
    amount_subtotal: int  # after discounts, before tax: what the seats are worth together
    amount_total: int
    payment_intent: str | None


def purchase_id_for(session_id: str) -> str:
    digest = hashlib.sha256(session_id.encode()).digest()
    return "pur_" + base64.b32encode(digest).decode().lower()[:26]


def record_checkout(facts: CheckoutFacts, status: PurchaseStatus, at: datetime) -> str:
    """Make the purchase and its seats exist in `status`, or advance an existing one. Idempotent.

    A racing delivery can win a step (`Refused`): read again and go on from where it left things.
    """
    purchase_id = purchase_id_for(facts.session_id)
    store = get_store()

    def attempt() -> str:
        purchase = store.purchase(purchase_id)
        if purchase is None:
            _create(facts, purchase_id, status, at)
            purchase = store.purchase(purchase_id)
            assert purchase is not None
        _write_remaining_seats(purchase)
        if purchase.status != status and status in STATUS_MOVES.get(purchase.status, frozenset()):
            _move_status(purchase, status, at)
        return purchase_id

    return retry_on_conflict(attempt, times=5)


def _seat(purchase: m.Purchase, seat_no: int) -> m.Seat:
    return created_seat(
        purchase.purchase_id,
        seat_no,
        actor=audit.STRIPE,
        plan=purchase.plan,
        currency=purchase.currency,
        seat_value=money.seat_value(int(purchase.amount_subtotal), int(purchase.quantity), seat_no),
        term_start=purchase.term_start,
        term_end=purchase.term_end,
        term_end_ts=purchase.term_end_ts,
        buyer_id=purchase.buyer_id,
        buyer_email=purchase.buyer_email,
        buyer_name=purchase.buyer_name,
    )


def _count_plans(steps: Steps, buyer_id: str, quantity: int) -> None:
    """Rule 4 counts plans bought across all purchases: kept on the buyer's profile."""
    steps.update(
        "profile",
        m.Profile(k.account_pk(buyer_id), k.PROFILE_SK),
        [
            m.Profile.type.set(m.Profile),
            m.Profile.sub.set(buyer_id),
            m.Profile.plans_bought.add(quantity),
            m.Profile.version.add(1),
        ],
    )


def _create(facts: CheckoutFacts, purchase_id: str, status: PurchaseStatus, at: datetime) -> None:
    from giftplans.settings import get as settings
    from giftplans.tokens import email_key

    start = clock.as_utc(at)
    end = terms.term_end(start)
    kind, day = terms.milestones(end)[0]
    shard = terms.due_shard(purchase_id, settings().due_shards)
    purchase = m.Purchase(
        k.purchase_pk(purchase_id),
        k.PURCHASE_SK,
        purchase_id=purchase_id,
        checkout_session_id=facts.session_id,
        payment_intent=facts.payment_intent,
        buyer_id=facts.buyer_id,
        buyer_email=facts.buyer_email,
        buyer_name=facts.buyer_name,
        plan=facts.plan,
        quantity=facts.quantity,
        status=status,
        currency=facts.currency,
        amount_subtotal=facts.amount_subtotal,
        amount_total=facts.amount_total,
        term_start=clock.iso(start),
        term_end=clock.iso(end),
        term_end_ts=clock.epoch(end),
        created_at=clock.iso(start),
        seat_counts=initial_counts(facts.quantity),
        available=set(range(1, facts.quantity + 1)),
        holders={},
        seats_written=0,
        due_kind=kind,
        GSI2PK=k.due_gsi(day, shard),
        GSI2SK=k.due_gsi_sk(purchase_id),
        GSI1PK=k.buyer_gsi(facts.buyer_id),
        GSI1SK=k.buyer_gsi_sk(clock.iso(start), purchase_id),
        GSI3PK=k.email_gsi(email_key(facts.buyer_email)),
        GSI3SK=k.purchase_email_sk(purchase_id),
        last_action=CREATE,
        actor=audit.STRIPE,
        version=1,
    )
    first = min(FIRST_CHUNK, facts.quantity)
    purchase.seats_written = first

    def build(steps: Steps) -> None:
        steps.put("purchase", purchase, condition=m.Purchase.PK.does_not_exist())
        if facts.payment_intent:
            steps.put(
                "payment",
                m.PaymentLookup(k.payment_pk(facts.payment_intent), k.PAYMENT_SK, purchase_id=purchase_id),
            )
        if status == PAID:
            _count_plans(steps, facts.buyer_id, facts.quantity)
        steps.put(
            "audit",
            audit.event(
                purchase_id,
                start,
                f"purchase.{status}",
                "stripe",
                detail={"quantity": facts.quantity, "plan": facts.plan},
            ),
        )
        for seat_no in range(1, first + 1):
            steps.put(f"seat {seat_no}", _seat(purchase, seat_no))

    get_store().write(build)


def _write_remaining_seats(purchase: m.Purchase) -> None:
    written = int(purchase.seats_written)
    quantity = int(purchase.quantity)
    while written < quantity:
        upto = min(quantity, written + CHUNK)

        def build(steps: Steps, lo: int = written, hi: int = upto) -> None:
            steps.update(
                "purchase",
                purchase,
                [m.Purchase.seats_written.set(hi)],
                condition=m.Purchase.seats_written == lo,
            )
            for seat_no in range(lo + 1, hi + 1):
                steps.put(f"seat {seat_no}", _seat(purchase, seat_no))

        get_store().write(build)
        written = upto
    purchase.seats_written = written


def _move_status(purchase: m.Purchase, status: PurchaseStatus, at: datetime) -> None:
    def build(steps: Steps) -> None:
        steps.update(
            "purchase",
            purchase,
            [m.Purchase.status.set(status), *stamp(m.Purchase, f"payment_{status}", "stripe")],
            condition=m.Purchase.status == purchase.status,
        )
        if status == PAID:
            _count_plans(steps, purchase.buyer_id, int(purchase.quantity))
        steps.put("audit", audit.event(purchase.purchase_id, at, f"purchase.{status}", "stripe"))

    get_store().write(build)


# ---- checkout: starting a purchase --------------------------------------------------------------------


def start_gift_checkout(
    buyer: stripe_gateway.Buyer, plan_name: str, quantity: int, client_key: str | None = None
) -> tuple[str, str]:
    """Rule 1: a Stripe Checkout for `quantity` plans "For Others"; returns (session_id, url).

    `client_key` is the client's Idempotency-Key header, if it sent one (see
    `stripe_gateway.gift_checkout_idempotency_key` for what makes two calls "the same").
    """
    from giftplans.errors import Invalid
    from giftplans.settings import get as settings

    conf = settings()
    plan = conf.known_plan(plan_name)
    if not 1 <= quantity <= conf.max_quantity:
        raise Invalid(f"The quantity must be between 1 and {conf.max_quantity}.", code="invalid_quantity")
    key = stripe_gateway.gift_checkout_idempotency_key(buyer.sub, plan.name, quantity, client_key)
    return stripe_gateway.create_gift_checkout(buyer, plan, quantity, key)


# ---- reads for the Billing page -----------------------------------------------------------------------

LIVE_STATES = ("available", "invited", "accepted", "claimed")  # what the term's end folds into `expired`
NOT_FOUND = "There is no purchase with this id on your account."
BAD_CURSOR = "The cursor is not one this API gave out; start again without it."
CURSOR_KEYS = frozenset({"PK", "SK", "GSI1PK", "GSI1SK"})


def _term_ended(term_end: str, now: datetime) -> bool:
    return not terms.is_active(clock.parse_iso(term_end), now)


def seat_counts_view(counts: dict[str, int], term_ended: bool) -> dict[str, int]:
    """Counts by state; past term_end every live seat counts as expired (rule 9), whatever the sweep did."""
    out = {state: int(counts.get(state, 0) or 0) for state in m.SEAT_STATES}
    if term_ended:
        for state in LIVE_STATES:
            out["expired"] += out[state]
            out[state] = 0
    return out


def purchase_view(purchase: m.Purchase, now: datetime | None = None) -> dict[str, object]:
    """The SPEC purchase JSON. Works on a full item and on the GSI1 projection."""
    now = now or clock.now()
    ended = _term_ended(purchase.term_end, now)
    counts = purchase.seat_counts.as_dict() if purchase.seat_counts is not None else {}
    return {
        "purchase_id": purchase.purchase_id,
        "plan": purchase.plan,
        "quantity": int(purchase.quantity),
        "status": purchase.status,
        "currency": purchase.currency,
        "amount_total": int(purchase.amount_total),
        "amount_subtotal": int(purchase.amount_subtotal),
        "term_start": purchase.term_start,
        "term_end": purchase.term_end,
        "days_left": terms.days_left(clock.parse_iso(purchase.term_end), now),
        "active": purchase.status == PAID and not ended,
        "seat_counts": seat_counts_view(counts, ended),
        "frozen": bool(purchase.frozen),
        "created_at": purchase.created_at,
    }


def seat_view(seat: m.Seat, term_ended: bool) -> dict[str, object]:
    """The SPEC seat JSON; the state is what a reader must see (rule 9), not only what is stored."""
    from giftplans.seats import effective_state

    delivery = seat.delivery
    if delivery == "complained":  # rule 12: a complaint is shown like a bounce
        delivery = "bounced"
    return {
        "seat_id": seat.seat_id,
        "state": effective_state(seat.state, term_ended).value,
        "recipient_email": seat.recipient_email,
        "invited_at": seat.invited_at,
        "accepted_at": seat.accepted_at,
        "delivery": delivery,
        "resend_count": int(seat.resend_count or 0),
    }


def event_view(event: m.AuditEvent) -> dict[str, object]:
    return {
        "at": event.at,
        "kind": event.kind,
        "actor": event.actor,
        "seat_ids": event.seat_ids or [],
        "detail": event.detail.as_dict() if event.detail is not None else {},
    }


def encode_cursor(last_key: dict[str, dict[str, Any]] | None) -> str | None:
    if not last_key:
        return None
    text = json.dumps(last_key, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, buyer_id: str) -> dict[str, dict[str, Any]] | None:
    """The LastEvaluatedKey behind an opaque cursor; `BadRequest` (invalid_cursor) for anything else."""
    from giftplans.errors import BadRequest

    if cursor is None or cursor == "":
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except ValueError:
        raise BadRequest(BAD_CURSOR, code="invalid_cursor") from None
    well_formed = (
        isinstance(key, dict)
        and set(key) == CURSOR_KEYS
        and all(isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) for v in key.values())
    )
    if not well_formed or key["GSI1PK"]["S"] != k.buyer_gsi(buyer_id) or not _purchase_key_values(key):
        raise BadRequest(BAD_CURSOR, code="invalid_cursor")
    return {name: {"S": str(value["S"])} for name, value in key.items()}


def _purchase_key_values(key: dict[str, dict[str, str]]) -> bool:
    """A purchase item's keys, within DynamoDB's key limits (else the Query itself fails: a 500)."""
    sizes = []
    for value in (key["PK"]["S"], key["GSI1SK"]["S"]):
        try:
            sizes.append(len(value.encode("utf-8")))
        except UnicodeEncodeError:  # a lone surrogate: not UTF-8, DynamoDB refuses it
            return False
    return (
        key["PK"]["S"].startswith(k.purchase_pk(""))
        and key["SK"]["S"] == k.PURCHASE_SK
        and all(0 < size <= 1024 for size in sizes)
    )


def list_for_buyer(buyer_id: str, limit: int = 20, cursor: str | None = None) -> dict[str, object]:
    """`GET /purchases`: the buyer's purchases, newest first, one page of `limit`; `next_cursor` or None."""
    start = decode_cursor(cursor, buyer_id)
    now = clock.now()
    page, last_key = get_store().buyer_purchases(buyer_id, limit, start)
    return {"purchases": [purchase_view(p, now) for p in page], "next_cursor": encode_cursor(last_key)}


def _owned(purchase: m.Purchase | None, buyer_id: str) -> m.Purchase:
    from giftplans.errors import NotFound

    if purchase is None or purchase.buyer_id != buyer_id:
        raise NotFound(NOT_FOUND, code="purchase_not_found")
    return purchase


def detail_for_buyer(buyer_id: str, purchase_id: str, include_events: bool = False) -> dict[str, object]:
    """`GET /purchases/{id}`: the purchase and every seat, from one Query (SK >= PURCHASE).

    The purchase item sorts first (`PURCHASE` < `SEAT#...`); audit events (`EVENT#...`)
    sort before it and are read only when asked for.
    """
    from giftplans.errors import NotFound

    if not purchase_id.startswith("pur_") or len(purchase_id) > 64:
        raise NotFound(NOT_FOUND, code="purchase_not_found")
    store = get_store()
    purchase, seats = store.purchase_and_seats(purchase_id)
    owned = _owned(purchase, buyer_id)
    now = clock.now()
    ended = _term_ended(owned.term_end, now)
    body: dict[str, object] = {
        "purchase": purchase_view(owned, now),
        "seats": [seat_view(seat, ended) for seat in seats],
    }
    if include_events:
        body["events"] = [event_view(e) for e in store.audit_trail(purchase_id)]
    return body
