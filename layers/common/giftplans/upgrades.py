"""Upgrades (SPEC rule 8): a recipient moves from a gifted or claimed seat to a higher tier.

- **Quote** (`quote_for`): the caller's entitlement names the seat it comes from; the seat
  holds what the buyer paid for it (`seat_value`) and the term. The numbers are
  `money.quote()` exactly: `credit = round_half_even(seat_value * remaining_days /
  term_days)`, `amount_due = max(0, target_price - credit)`.
  Refusals: no gift or claimed seat behind the entitlement -> 404 `no_gift`; the same or
  a lower tier -> 409 `not_an_upgrade`; the term has ended -> 409 `term_ended` (nothing
  is left to credit: the recipient buys the plan at full price instead); an unknown
  plan -> 422 `unknown_plan`.
- **Checkout** (`start_checkout`): one Stripe Checkout in subscription mode for the
  target plan's recurring yearly price, with a one-time coupon worth the credit
  (`amount_off`, `duration: once`, `max_redemptions: 1`). Self-serve and support
  (`admin.offer_upgrade`) call the same function.
- **A quote is honoured for `settings.quote_valid_minutes` (30)** and stays stateless:
  nothing is stored. The coupon's and the session's Stripe idempotency keys name the
  seat, the target plan, the credit and the UTC minute of the request, and the quote's
  end is counted from the end of that minute, so every request in the minute (a double
  click, a retry) sends Stripe the very same parameters and gets the same coupon and
  session back (Stripe refuses a key reused with other parameters); a request in a
  later minute is recomputed (a new day means a smaller credit). A quote is honoured
  30 to 31 minutes; the session expires with it (Stripe's minimum lifetime is 30
  minutes, so it is given one minute of slack) and the coupon cannot be redeemed after.
- **UpgradeCompletion** (`complete`, on `checkout.session.completed` with `metadata.kind =
  "upgrade"`): one transaction moves the seat `accepted/claimed -> upgraded`, fixes the
  purchase's counts and holders, ends the entitlement's gift part (if it names the
  seat) and writes its subscription part (provisional `term_end` one year on,
  `event_ts = 0`, `sub_provisional`), records the Stripe customer -> account lookup and
  the audit event. That subscription's `customer.subscription.*` events refine the part;
  another subscription's events do not overwrite it; a provisional write never
  overwrites a part that a real event of this subscription wrote, so the two may arrive
  in any order. A replay finds the seat upgraded and changes nothing.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from giftplans import audit, clock, entitlements, money, stripe_gateway, terms
from giftplans.errors import Conflict, NotFound
from giftplans.observability import logger
from giftplans.seats import IN_USE, Action, SeatState, allowed_from, target
from giftplans.settings import get as settings
from giftplans.store import get_store
from giftplans.store import keys as k
from giftplans.store import models as m
from giftplans.store.transitions import Move, transition
from giftplans.store.writes import Refused, Steps
from giftplans.views_checkout import Quote, UpgradeCheckout

if TYPE_CHECKING:  # the webhook reads Stripe; the functions that never do need not import it
    from giftplans.stripe_facts import UpgradeCompletion

KIND = "upgrade"
NO_GIFT = "You have no gifted or claimed plan to upgrade from."
TERM_ENDED = (
    "Your gifted plan has ended, so there is nothing left to credit; "
    "choose a plan to buy at its full price instead."
)
SESSION_SLACK_S = 60  # Stripe refuses a session that expires less than 30 minutes after it is created


class QuoteWindow(NamedTuple):
    minute: int  # the UTC minute since the epoch the quote was made in
    expires_at: datetime


DEDUPE_S = 60  # requests in one UTC minute are "the same" upgrade checkout


def quote_window(now: datetime) -> QuoteWindow:
    """The minute `now` falls in; its quotes are honoured until the minute's end + valid minutes.

    Derived from the minute alone, so a repeat in it sends Stripe identical parameters.
    """
    minutes = max(1, settings().quote_valid_minutes)
    minute = clock.epoch(now) // DEDUPE_S
    return QuoteWindow(
        minute=minute, expires_at=clock.from_epoch((minute + 1) * DEDUPE_S) + timedelta(minutes=minutes)
    )


# ---- reading the seat behind an account ---------------------------------------------------------------


def seat_of_account(sub: str) -> m.Seat:
    """The accepted or claimed seat the account's entitlement comes from; 404 `no_gift` otherwise."""
    ent = get_store().entitlement(sub)
    if (
        ent is None
        or ent.source not in (entitlements.Source.GIFT, entitlements.Source.CLAIM)
        or ent.ended
        or not ent.purchase_id
        or not ent.seat_id
    ):
        raise NotFound(NO_GIFT, code="no_gift")
    seat = get_store().seat(ent.purchase_id, ent.seat_id)
    if seat is None or seat.recipient_sub != sub or SeatState(seat.state) not in IN_USE:
        raise NotFound(NO_GIFT, code="no_gift")
    return seat


# ---- quote ----------------------------------------------------------------------------------------------


def quote_seat(seat: m.Seat, plan_name: str, now: datetime) -> Quote:
    """The rule-8 numbers for moving `seat`'s holder to `plan_name` at `now`."""
    target = settings().known_plan(plan_name)
    current = settings().plan(seat.plan)
    if current is not None and target.rank <= current.rank:
        raise Conflict(
            f"The {target.name} plan is not a higher tier than your {seat.plan} plan; "
            "an upgrade must move to a higher tier.",
            code="not_an_upgrade",
        )
    if target.currency.lower() != seat.currency.lower():
        raise Conflict(
            f"The {target.name} plan is priced in {target.currency.upper()} and your gift in "
            f"{seat.currency.upper()}; support can help with this upgrade.",
            code="currency_mismatch",
        )
    start, end = clock.parse_iso(seat.term_start), clock.parse_iso(seat.term_end)
    numbers = money.quote(int(seat.seat_value), start, end, now, target.amount)
    if not numbers.active:
        raise Conflict(TERM_ENDED, code="term_ended")
    return Quote(
        plan=target.name,
        target_price=numbers.target_price,
        credit=numbers.credit,
        amount_due=numbers.amount_due,
        currency=seat.currency,
        remaining_days=numbers.remaining_days,
        term_days=numbers.term_days,
        quote_expires_at=clock.iso(quote_window(now).expires_at),
        from_plan=seat.plan,
        term_end=seat.term_end,
        purchase_id=seat.purchase_id,
        seat_id=seat.seat_id,
    )


def quote_for(sub: str, plan_name: str) -> Quote:
    """`POST /me/upgrade/quote`: the caller's numbers for moving to `plan_name` now."""
    settings().known_plan(plan_name)  # an unknown plan is a 422 whatever the account holds
    return quote_seat(seat_of_account(sub), plan_name, clock.now())


# ---- checkout -------------------------------------------------------------------------------------------


def idempotency_key(kind: str, quote: Quote, window: int) -> str:
    """Deterministic per seat, target plan, credit and quote window (see the module doc)."""
    material = f"upgrade-{kind}:{quote.purchase_id}:{quote.seat_id}:{quote.plan}:{quote.credit}:{window}"
    return f"upgrade-{kind}-" + hashlib.sha256(material.encode()).hexdigest()[:48]


def start_checkout(seat: m.Seat, account_id: str, email: str | None, plan_name: str) -> UpgradeCheckout:
    """The one upgrade checkout: self-serve (`checkout_for`) and support (`admin.offer_upgrade`) call it."""
    now = clock.now()
    quote = quote_seat(seat, plan_name, now)
    target = settings().known_plan(plan_name)
    window = quote_window(now)
    closes_at = clock.epoch(window.expires_at) + SESSION_SLACK_S
    metadata = {
        "kind": KIND,
        "account_id": account_id,
        "purchase_id": seat.purchase_id,
        "seat_id": seat.seat_id,
        "plan": target.name,
        "credit": str(quote.credit),
        "from_plan": seat.plan,
    }
    coupon_id = None
    if quote.credit > 0:
        coupon_id = stripe_gateway.create_coupon(
            amount_off=quote.credit,
            currency=quote.currency,
            redeem_by=closes_at,
            name=f"Credit for your {seat.plan} gift",
            metadata=metadata,
            idempotency_key=idempotency_key("coupon", quote, window.minute),
        )
    session_id, url = stripe_gateway.create_upgrade_checkout(
        account_id=account_id,
        email=email,
        price_id=target.recurring_price_id,
        coupon_id=coupon_id,
        metadata=metadata,
        expires_at=closes_at,
        idempotency_key=idempotency_key("session", quote, window.minute),
    )
    logger.info(
        "upgrade checkout started",
        extra={
            "purchase_id": seat.purchase_id,
            "seat_id": seat.seat_id,
            "plan": target.name,
            "credit": quote.credit,
        },
    )
    return UpgradeCheckout(session_id, url, quote)


def checkout_for(sub: str, email: str | None, plan_name: str) -> UpgradeCheckout:
    """`POST /me/upgrade/checkout`: the caller's own upgrade."""
    settings().known_plan(plan_name)
    return start_checkout(seat_of_account(sub), sub, email, plan_name)


# ---- completion (webhook) -------------------------------------------------------------------------------


def _provisional_actions(done: UpgradeCompletion, at: datetime) -> list[Any]:
    """The subscription part an upgrade writes before Stripe's own subscription events arrive."""
    end, e = terms.term_end(at), m.Entitlement
    plan = settings().known_plan(done.plan)
    return [
        e.type.set(m.Entitlement),
        e.sub.set(done.account_id),
        e.sub_plan.set(done.plan),
        e.sub_term_end.set(clock.iso(end)),
        e.sub_term_end_ts.set(clock.epoch(end)),
        e.sub_status.set("active"),
        e.subscription_id.set(done.subscription_id),
        e.auto_renew.set(True),
        e.event_ts.set(0),
        e.sub_provisional.set(True),
        # Until Stripe's own event says otherwise: the plan's full price at the period's end.
        *entitlements.charge_actions(clock.epoch(end), plan.amount, plan.currency),
        e.updated_at.set(clock.iso(clock.now())),
    ]


def _sub_writable(subscription_id: str, at: datetime) -> Any:
    """Nothing there, a provisional part, or another subscription's part that is not live.

    Never over a part a real event of this subscription wrote, nor over another live subscription.
    """
    e = m.Entitlement
    not_live = (
        e.sub_status.does_not_exist() | (e.sub_status != "active") | (e.sub_term_end_ts <= clock.epoch(at))
    )
    return (
        e.subscription_id.does_not_exist()
        | (e.sub_provisional == True)  # noqa: E712 - a DynamoDB condition
        | ((e.subscription_id != subscription_id) & not_live)
    )


def _names_seat(seat: m.Seat) -> Any:
    return (m.Entitlement.purchase_id == seat.purchase_id) & (m.Entitlement.seat_id == seat.seat_id)


def _parts_after(old: Any, seat: m.Seat, done: UpgradeCompletion, at: datetime) -> tuple[bool, bool]:
    """Which parts `_sub_writable` and `_names_seat` allow, judged from the refused item."""
    if not isinstance(old, m.Entitlement):
        return True, False
    live = old.sub_status == "active" and clock.epoch(at) < int(old.sub_term_end_ts or 0)
    sub_ok = (
        not old.subscription_id
        or bool(old.sub_provisional)
        or (old.subscription_id != done.subscription_id and not live)
    )
    return sub_ok, (old.purchase_id, old.seat_id) == (seat.purchase_id, seat.seat_id)


def complete(done: UpgradeCompletion, at: datetime) -> str:
    """Seat -> upgraded, entitlement from the subscription. Idempotent; safe in any order."""
    for _ in range(3):
        seat = get_store().seat(done.purchase_id, done.seat_id)
        if seat is None:
            logger.warning(
                "upgrade for an unknown seat",
                extra={"purchase_id": done.purchase_id, "seat_id": done.seat_id},
            )
            return "ignored: unknown seat"
        if seat.state == target(Action.UPGRADE):
            return f"already upgraded {done.purchase_id}/{done.seat_id}"
        if SeatState(seat.state) not in allowed_from(Action.UPGRADE) or seat.recipient_sub != done.account_id:
            logger.warning(
                "upgrade completed for a seat that cannot upgrade",
                extra={"purchase_id": done.purchase_id, "seat_id": done.seat_id, "state": seat.state},
            )
            return f"ignored: seat is {seat.state}"
        parts = (True, True)  # (write the subscription part, end the gift part)
        for _ in range(3):
            try:
                _write_upgrade(seat, done, at, parts)
                return f"upgraded {done.purchase_id}/{done.seat_id}"
            except Refused as refused:
                if any(parts) and refused.failed("entitlement") and not refused.failed("seat"):
                    # A subscription event got there first with the real term, or the gift part
                    # names another seat: write only the parts that are still ours.
                    after = _parts_after(refused.old("entitlement"), seat, done, at)
                    parts = after if after != parts else (False, False)
                    continue
                break  # the seat moved under us: read it again
    return "ignored: seat kept changing"


def _write_upgrade(seat: m.Seat, done: UpgradeCompletion, at: datetime, parts: tuple[bool, bool]) -> None:
    old_state = seat.state
    ended_at = clock.iso(at)

    def build(steps: Steps) -> None:
        move = Move(
            seat.seat_id,
            [
                m.Seat.upgrade_plan.set(done.plan),
                m.Seat.subscription_id.set(done.subscription_id),
                m.Seat.ended_at.set(ended_at),
            ],
            from_state=SeatState(old_state),
            version=int(seat.version),
        )
        transition(
            steps,
            Action.UPGRADE,
            seat.purchase_id,
            [move],
            actor=audit.STRIPE,
            detail={
                "from_plan": seat.plan,
                "plan": done.plan,
                "subscription_id": done.subscription_id,
                "previous_state": old_state,
            },
            at=at,
        )
        write_sub, end_gift = parts
        if write_sub or end_gift:
            actions = _provisional_actions(done, at) if write_sub else []
            conditions = [_sub_writable(done.subscription_id, at)] if write_sub else []
            if end_gift:
                actions += [m.Entitlement.ended.set(True)]
                actions += [] if write_sub else [m.Entitlement.updated_at.set(ended_at)]
                conditions.append(_names_seat(seat))
            condition = conditions[0] if len(conditions) == 1 else conditions[0] & conditions[1]
            steps.update(
                "entitlement",
                m.Entitlement(k.account_pk(done.account_id), k.ENTITLEMENT_SK),
                actions,
                condition=condition,
            )
        if done.customer:
            steps.put(
                "customer", m.CustomerLookup(k.customer_pk(done.customer), k.CUSTOMER_SK, sub=done.account_id)
            )
            entitlements.remember_customer(steps, done.account_id, done.customer, actor=audit.STRIPE)

    get_store().write(build)
