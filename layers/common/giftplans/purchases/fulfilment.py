"""Fulfilment (SPEC rule 2): what a paid (or pending) Stripe Checkout becomes.

Fulfilment is keyed on the Checkout Session: `purchase_id_for(session_id)` is
deterministic, so every delivery of every event for one session addresses the same
purchase item. It is crash-safe: the purchase item is created together with the first
chunk of seats, and each further chunk of seats is written in one transaction with the
purchase's `seats_written` progress, conditioned on its previous value. A retry after a
crash continues from the last committed chunk; a duplicate delivery finds the work done.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from giftplans import audit, clock, money, terms
from giftplans.observability import Metric, count, logger
from giftplans.purchases import FAILED, PAID, PENDING, PurchaseStatus, purchase_id_for
from giftplans.seats import CREATE
from giftplans.settings import get as settings
from giftplans.store import get_store
from giftplans.store import keys as k
from giftplans.store import models as m
from giftplans.store.transitions import created_seat, initial_counts
from giftplans.store.writes import Steps, retry_on_conflict, stamp
from giftplans.tokens import email_key

if TYPE_CHECKING:  # the webhook reads Stripe; the functions that never do need not import it
    from giftplans.stripe_facts import GiftCheckout

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


def record_checkout(facts: GiftCheckout, status: PurchaseStatus, at: datetime) -> str:
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
        buyer_locale=purchase.buyer_locale,
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


def _invoice_url(invoice: str | None) -> str | None:
    """The invoice's hosted page (one Stripe read per purchase); None when Stripe cannot say now."""
    if not invoice:
        return None
    from giftplans import stripe_gateway_invoices
    from giftplans.errors import DomainError

    try:
        return stripe_gateway_invoices.invoice_url(invoice)
    except DomainError:  # the purchase matters more than its invoice link: the page shows none yet
        logger.warning("invoice url not read", extra={"invoice": invoice})
        return None


def _create(facts: GiftCheckout, purchase_id: str, status: PurchaseStatus, at: datetime) -> None:
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
        buyer_locale=facts.buyer_locale,
        plan=facts.plan,
        quantity=facts.quantity,
        status=status,
        currency=facts.currency,
        amount_subtotal=facts.amount_subtotal,
        amount_total=facts.amount_total,
        amount_tax=facts.amount_tax,
        invoice_id=facts.invoice,
        invoice_url=_invoice_url(facts.invoice),
        term_start=clock.iso(start),
        term_end=clock.iso(end),
        term_end_ts=clock.epoch(end),
        created_at=clock.iso(start),
        seat_counts=initial_counts(facts.quantity),
        fresh_from=1,
        holes=0,
        seats_written=0,
        due_kind=kind,
        GSI2PK=k.due_gsi(day, shard),
        GSI2SK=k.due_gsi_sk(purchase_id),
        GSI1PK=k.buyer_gsi(facts.buyer_id),
        GSI1SK=k.buyer_gsi_sk(clock.iso(start), purchase_id, clock.now()),
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
                audit.STRIPE,
                detail={"quantity": facts.quantity, "plan": facts.plan},
            ),
        )
        for seat_no in range(1, first + 1):
            steps.put(f"seat {seat_no}", _seat(purchase, seat_no))

    get_store().write(build)
    if status == PAID:
        _count_paid(facts.quantity)


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
            [m.Purchase.status.set(status), *stamp(m.Purchase, f"payment_{status}", audit.STRIPE)],
            condition=m.Purchase.status == purchase.status,
        )
        if status == PAID:
            _count_plans(steps, purchase.buyer_id, int(purchase.quantity))
        steps.put("audit", audit.event(purchase.purchase_id, at, f"purchase.{status}", audit.STRIPE))

    get_store().write(build)
    if status == PAID:
        _count_paid(int(purchase.quantity))


def _count_paid(quantity: int) -> None:
    count(Metric.PURCHASES_PAID)
    count(Metric.SEATS_PAID, quantity)
