"""A gift accepted by an account that already has a plan becomes a credit (SPEC 8.5).

The account keeps its plan (its own subscription, or another gift or claim); the seat is
`accepted` with `credited` = rule 8's credit at the accept date,
`round_half_even(seat_value * remaining_days / term_days)`, and that amount goes to the
account's Stripe customer balance, which Stripe applies to its next invoices.

Two steps, so that a crash between Stripe and DynamoDB can neither credit twice nor lose
the credit:

1. `accept_as_credit(...)` (inside the accept's own transaction): the seat moves
   `invited -> accepted` with `credited` and `credit_status = pending`; the entitlement is
   only checked (it must still hold an active plan), never written.
2. `settle(seat)`: finds or creates the account's Stripe customer, then one balance
   transaction with the Stripe idempotency key `gift-credit-<purchase>-<seat>` and the
   amount recorded in step 1 (so every retry sends the same parameters), then the seat's
   `Touch.CREDIT` write (`credit_status = done`, `credit_txn`) under the condition that it
   is still pending. A retry of the accept by the same account finds the seat pending and
   runs step 2 again; after Stripe's 24 hours of key memory, the customer's balance
   transactions are searched for the seat's `metadata.credit_key` first.

The stream announces the `credit` touch: the recipient and the buyer are told in words
("... was added as a credit of 59.34 USD to your account").
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from pynamodb.expressions.update import Action as Update

from giftplans import audit, clock, money, stripe_gateway, terms
from giftplans.entitlements import grant_condition, remember_customer
from giftplans.observability import logger
from giftplans.seats import Touch
from giftplans.store import get_store
from giftplans.store import keys as k
from giftplans.store import models as m
from giftplans.store.transitions import seat_key, touch
from giftplans.store.writes import Refused, Steps

PENDING, DONE = "pending", "done"


class Credit(NamedTuple):
    amount: int
    remaining_days: int
    term_days: int


def credit_at(seat_value: int, term_start: str, term_end: str, at: datetime) -> Credit:
    """Rule 8's credit of a seat at `at` (0 once the term has ended)."""
    start, end = clock.parse_iso(term_start), clock.parse_iso(term_end)
    days, remaining = terms.term_days(start, end), terms.remaining_days(end, at)
    return Credit(money.credit(seat_value, remaining, days), remaining, days)


def holds_a_plan(steps: Steps, sub: str, now: datetime) -> None:
    """The account's entitlement holds an active plan (the negation of the grant's condition)."""
    steps.check(
        "entitlement", m.Entitlement, k.account_pk(sub), k.ENTITLEMENT_SK, condition=~grant_condition(now)
    )


def accepted_changes(amount: int) -> list[Update]:
    """What the accept's seat write adds when the gift becomes a credit."""
    return [m.Seat.credited.set(amount), m.Seat.credit_status.set(PENDING if amount > 0 else DONE)]


def credit_key(seat: m.Seat) -> str:
    return f"gift-credit-{seat.purchase_id}-{seat.seat_id}"


def known_customer(sub: str) -> tuple[str | None, bool]:
    """The account's Stripe customer (recorded on its profile, else its subscription's); and if recorded."""
    store = get_store()
    profile = store.profile(sub)
    if profile is not None and profile.stripe_customer:
        return str(profile.stripe_customer), True
    entitlement = store.entitlement(sub)
    if entitlement is not None and entitlement.subscription_id:
        return stripe_gateway.subscription_customer(str(entitlement.subscription_id)), False
    return None, False


def _customer_of(sub: str, email: str | None) -> str:
    """The account's Stripe customer: recorded on its profile, else its subscription's, else a new one."""
    customer, recorded = known_customer(sub)
    if recorded and customer:
        return customer
    if not customer:
        customer = stripe_gateway.create_customer(
            account_id=sub, email=email, idempotency_key=f"customer-{sub}"
        )
    _record_customer(sub, customer)
    return customer


def _record_customer(sub: str, customer: str) -> None:
    def build(steps: Steps) -> None:
        remember_customer(steps, sub, customer, actor=audit.RECIPIENT)
        steps.put("customer", m.CustomerLookup(k.customer_pk(customer), k.CUSTOMER_SK, sub=sub))

    get_store().write(build)


def settle(seat: m.Seat, *, email: str | None, resumed: bool) -> m.Seat:
    """Step 2: the seat's recorded credit reaches the holder's Stripe balance, once."""
    if seat.credit_status != PENDING or not seat.recipient_sub:
        return seat
    amount = int(seat.credited or 0)
    customer = _customer_of(str(seat.recipient_sub), email)
    key = credit_key(seat)
    found = stripe_gateway.find_balance_credit(customer, key) if resumed else None
    from giftplans.outbox.templates import money as words  # the description: words for people
    from giftplans.outbox.templates import plan_name

    transaction = found or stripe_gateway.credit_balance(
        customer=customer,
        amount=amount,
        currency=seat.currency,
        description=f"Gift of {plan_name(seat.plan)}: {words(amount, seat.currency)} credit",
        metadata={"purchase_id": seat.purchase_id, "seat_id": seat.seat_id, "credit_key": key},
        idempotency_key=key,
    )
    now = clock.now()

    def build(steps: Steps) -> None:
        touch(
            steps,
            Touch.CREDIT,
            seat_key(seat.purchase_id, seat.seat_id),
            [m.Seat.credit_status.set(DONE), m.Seat.credit_txn.set(transaction)],
            actor=audit.STRIPE,
            condition=m.Seat.credit_status == PENDING,
        )
        steps.put(
            "audit",
            audit.event(
                seat.purchase_id,
                now,
                "seat.credited",
                audit.STRIPE,
                [seat.seat_id],
                {"credited": amount, "currency": seat.currency, "balance_transaction": transaction},
            ),
        )

    try:
        get_store().write(build)
    except Refused as refused:
        if not refused.failed("seat"):
            raise
        logger.info(
            "credit already recorded", extra={"purchase_id": seat.purchase_id, "seat_id": seat.seat_id}
        )
    stored = get_store().seat(seat.purchase_id, seat.seat_id)
    return stored if stored is not None else seat


NO_CUSTOMER = (
    "There is no subscription or billing account for this account yet; "
    "renew or upgrade your plan first, then manage it here."
)


def billing_portal(sub: str) -> str:
    """`POST /me/billing-portal` (SPEC 8.8): Stripe's customer portal for the account's customer."""
    from giftplans.errors import NotFound
    from giftplans.settings import get as settings

    customer, _ = known_customer(sub)
    if not customer:
        raise NotFound(NO_CUSTOMER, code="no_billing_account")
    return stripe_gateway.portal_url(customer=customer, return_url=settings().renew_url())
