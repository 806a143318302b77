"""Self-serve renewal (SPEC rule 7): a recipient subscribes on their own before or after the gift ends.

Gifted and claimed plans never renew automatically; the reminder and plan-ended emails
send the recipient to My plan, which calls `POST /me/renewal/checkout` (`renewal_checkout`).

- **Who**: an account whose entitlement's gift part names a gift or claimed seat that is
  still in term, or that ended at most `GRACE_DAYS` (30) days ago. Nothing of the kind
  -> 404 `no_gift`; ended longer ago -> 404 `gift_ended` (the plans page sells a plan to
  anybody). An account whose own subscription is active already -> 409 `already_subscribed`.
- **Checkout**: one Stripe Checkout in subscription mode for any plan's recurring yearly
  price (the same tier or another), with no coupon: a renewal is paid in full. While the
  gift is still active the subscription starts with `trial_end` = the gift's `term_end`,
  so billing starts when the gift ends and nothing is paid twice. Stripe refuses a
  `trial_end` less than 48 hours ahead: a gift ending sooner (or already ended) is billed
  from the checkout on, and the response says so (`note`).
- **Idempotency**: the session's Stripe key names the account, seat, plan, trial end and
  the UTC minute of the request (`stripe_gateway.minute_scope`, as the gift checkout), so a
  double click or a retry within the minute gets the same session back.
- **Completion** (`record_completion`, `checkout.session.completed` with `metadata.kind =
  "renewal"`): records the Stripe customer -> account lookup and a `seat.renewed` audit
  event on the gift's purchase, once per session (the audit key is derived from the
  session id). The entitlement is not written here: it comes from the subscription's
  own `customer.subscription.*` events, as for any subscription (a trialing subscription
  counts as active until its trial ends, when Stripe bills it).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from giftplans import audit, clock, entitlements, stripe_gateway
from giftplans.errors import NotFound
from giftplans.observability import logger
from giftplans.seats import IN_USE, SeatState
from giftplans.settings import get as settings
from giftplans.store import get_store
from giftplans.store import keys as k
from giftplans.store import models as m
from giftplans.store.writes import Refused, Steps
from giftplans.views_checkout import RenewalCheckout

if TYPE_CHECKING:  # the webhook reads Stripe; the functions that never do need not import it
    from giftplans.stripe_facts import RenewalCompletion

KIND = "renewal"
GRACE_DAYS = 30
MIN_TRIAL_S = 48 * 3600  # Stripe refuses a trial_end less than 48 hours ahead
NO_GIFT = "You have no gifted or claimed plan to renew."
GIFT_ENDED = (
    f"Your gifted plan ended more than {GRACE_DAYS} days ago; choose a plan on the plans page to subscribe."
)
BILLED_NOW = (
    "Your gifted plan ends in less than 48 hours, so the payment provider cannot wait for it: "
    "billing starts when you complete the checkout."
)


class Gift(NamedTuple):
    """The gift part an account may renew from."""

    purchase_id: str
    seat_id: str
    term_end_ts: int
    active: bool


def gift_of(sub: str, now: datetime) -> Gift:
    """The gift or claim behind the account's entitlement, active or ended at most GRACE_DAYS ago."""
    ent = get_store().entitlement(sub)
    shown = entitlements.answer(ent, now)
    if shown.active and shown.source == entitlements.Source.SUBSCRIPTION:
        raise entitlements.already_subscribed(ent)
    if (
        ent is None
        or ent.source not in (entitlements.Source.GIFT, entitlements.Source.CLAIM)
        or not ent.purchase_id
        or not ent.seat_id
        or not ent.term_end_ts
    ):
        raise NotFound(NO_GIFT, code="no_gift")
    seat = get_store().seat(ent.purchase_id, ent.seat_id)
    if seat is None or seat.recipient_sub != sub:
        raise NotFound(NO_GIFT, code="no_gift")
    term_end_ts, now_ts = int(ent.term_end_ts), clock.epoch(now)
    if now_ts >= term_end_ts + int(timedelta(days=GRACE_DAYS).total_seconds()):
        raise NotFound(GIFT_ENDED, code="gift_ended")
    active = not ent.ended and now_ts < term_end_ts and SeatState(seat.state) in IN_USE
    return Gift(ent.purchase_id, ent.seat_id, term_end_ts, active)


def idempotency_key(sub: str, gift: Gift, plan: str, trial_end: int | None) -> str:
    """Deterministic per account, seat, plan, trial end and UTC minute (see the module doc)."""
    material = json.dumps(
        [
            "renewal-checkout",
            sub,
            gift.purchase_id,
            gift.seat_id,
            plan,
            trial_end,
            stripe_gateway.minute_scope(),
        ]
    )
    return "renewal-" + hashlib.sha256(material.encode()).hexdigest()


def renewal_checkout(sub: str, email: str | None, plan_name: str) -> RenewalCheckout:
    """`POST /me/renewal/checkout`: a subscription that starts billing when the gift ends."""
    plan = settings().known_plan(plan_name)
    now = clock.now()
    gift = gift_of(sub, now)
    trial_end = (
        gift.term_end_ts if gift.active and gift.term_end_ts - clock.epoch(now) >= MIN_TRIAL_S else None
    )
    metadata = {
        "kind": KIND,
        "account_id": sub,
        "purchase_id": gift.purchase_id,
        "seat_id": gift.seat_id,
        "plan": plan.name,
    }
    session_id, url = stripe_gateway.create_renewal_checkout(
        account_id=sub,
        email=email,
        price_id=plan.recurring_price_id,
        metadata=metadata,
        trial_end=trial_end,
        idempotency_key=idempotency_key(sub, gift, plan.name, trial_end),
    )
    logger.info(
        "renewal checkout started",
        extra={
            "purchase_id": gift.purchase_id,
            "seat_id": gift.seat_id,
            "plan": plan.name,
            "trial_end": trial_end,
        },
    )
    return RenewalCheckout(
        session_id=session_id,
        url=url,
        plan=plan.name,
        starts_billing_at=clock.iso(clock.from_epoch(trial_end) if trial_end else now),
        note=BILLED_NOW if gift.active and trial_end is None else None,
    )


# ---- completion (webhook) -------------------------------------------------------------------------------


def record_completion(done: RenewalCompletion, at: datetime) -> str:
    """A completed renewal checkout (`metadata.kind = "renewal"`): the customer lookup and one audit event."""
    # One audit item per session: its key comes from the session, so a replay finds it there.
    marker = hashlib.sha256(done.session_id.encode()).hexdigest()[:16]
    record = audit.event(
        done.purchase_id,
        at,
        "seat.renewed",
        audit.STRIPE,
        seat_ids=[done.seat_id],
        detail={"plan": done.plan, "subscription_id": done.subscription_id, "session_id": done.session_id},
    )
    record.SK = k.event_sk(clock.iso(at), f"renewal-{marker}")
    customer = done.customer

    def build(steps: Steps) -> None:
        steps.put("audit", record, condition=m.AuditEvent.SK.does_not_exist())
        if customer:
            steps.put(
                "customer", m.CustomerLookup(k.customer_pk(customer), k.CUSTOMER_SK, sub=done.account_id)
            )
            entitlements.remember_customer(steps, done.account_id, customer, actor=audit.STRIPE)

    try:
        get_store().write(build)
    except Refused as refused:
        if refused.failed("audit"):
            return f"already recorded renewal {done.purchase_id}/{done.seat_id}"
        raise  # a conflict: Stripe retries the event
    logger.info("renewal recorded", extra={"purchase_id": done.purchase_id, "seat_id": done.seat_id})
    return f"renewed {done.purchase_id}/{done.seat_id}"
