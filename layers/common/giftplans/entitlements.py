"""The entitlement: which plan an account has, until when, and whether it renews.

One item per account (`ACCOUNT#<sub>` / `ENTITLEMENT`), so `GET /me/entitlement` is one
read. It holds two parts, each written only by its own transitions: the gift part (an
accepted `gift` or a claimed `claim` seat: `plan`, `source`, `term_end[_ts]`, `ended`,
`purchase_id`, `seat_id`) and the subscription part (the account's own Stripe subscription,
from `customer.subscription.*` or an upgrade: `sub_plan`, `sub_term_end[_ts]`, `sub_status`,
`subscription_id`, `auto_renew`, `event_ts`, `sub_provisional`). `answer` combines them: an
active subscription wins, else an active gift or claim, else inactive. So ending one
subscription never hides a seat still in term (SPEC "subscriber").

"Active" is decided by the reader at the clock's now: not ended and `now < term_end`.
A sweep that is late or failed never makes an ended plan look active (SPEC rule 9).
A gift or claim is only written where neither part is active (`grant_condition`): one
plan per account at a time, and a subscriber cannot accept or claim.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from giftplans import clock, givers, terms
from giftplans.errors import Conflict
from giftplans.observability import logger
from giftplans.store import get_store
from giftplans.store import keys as k
from giftplans.store import models as m
from giftplans.store.writes import Refused, Steps, stamp
from giftplans.views import INACTIVE, EntitlementView

if TYPE_CHECKING:  # the webhook reads Stripe; the functions that never do need not import it
    from giftplans.stripe_facts import SubscriptionFacts


class Source(StrEnum):
    """Where an entitlement comes from (the SPEC's `source`)."""

    GIFT = "gift"  # an accepted seat
    CLAIM = "claim"  # a seat the buyer claimed
    SUBSCRIPTION = "subscription"  # the account's own Stripe subscription


# ---- the answer ----------------------------------------------------------------------------------------


def grace_s() -> int:
    """SPEC 8.8: a renewing subscription stays active this long past its period end (`GraceDays`)."""
    from giftplans.settings import get as settings

    return max(0, settings().grace_days) * 86400


def _sub_until(e: m.Entitlement) -> int:
    """Until when the subscription part is active: its period end, plus the grace while it renews."""
    end = int(e.sub_term_end_ts or 0)
    return end + grace_s() if e.auto_renew else end


def _sub_active(e: m.Entitlement, now_ts: int) -> bool:
    return bool(e.sub_plan) and e.sub_status == "active" and now_ts < _sub_until(e)


def _gift_active(e: m.Entitlement, now_ts: int) -> bool:
    return bool(e.source) and not e.ended and now_ts < int(e.term_end_ts or 0)


def answer(entitlement: m.Item | None, now: datetime) -> EntitlementView:
    """The SPEC entitlement `{active, plan, source, term_end, auto_renew, days_left}` from both parts.

    An active subscription part wins; else an active gift part; else inactive, naming the part
    that ended last. `days_left` counts whole UTC days to the shown part's end (0 once ended).
    """
    shown = _answer(entitlement, now)
    if shown.term_end is None:
        return shown
    return shown._replace(days_left=terms.days_left(clock.parse_iso(shown.term_end), now))


def _answer(entitlement: m.Item | None, now: datetime) -> EntitlementView:
    if not isinstance(entitlement, m.Entitlement):
        return INACTIVE
    e, now_ts = entitlement, clock.epoch(now)
    grace_until = clock.iso(clock.from_epoch(_sub_until(e))) if e.auto_renew and grace_s() else None
    subscription = EntitlementView(
        True,
        e.sub_plan,
        Source.SUBSCRIPTION.value,
        e.sub_term_end,
        bool(e.auto_renew),
        grace_until,
        first_charge=first_charge(e) if e.auto_renew else None,
    )
    gift = EntitlementView(True, e.plan, e.source, e.term_end, False, gift_from=e.gift_from)
    if _sub_active(e, now_ts):
        return subscription
    if _gift_active(e, now_ts):
        return gift
    parts = [(int(e.sub_term_end_ts or 0), subscription)] if e.sub_plan else []
    parts += [(int(e.term_end_ts or 0), gift)] if e.source else []
    if not parts:
        return INACTIVE
    ended = max(parts, key=lambda part: part[0])[1]
    return ended._replace(active=False, auto_renew=False, grace_until=None, first_charge=None)


def is_active(entitlement: m.Item | None, now: datetime) -> bool:
    return answer(entitlement, now).active


def current(sub: str) -> EntitlementView:
    """`GET /me/entitlement`: one GetItem (who gave a gift is written on it from the accept's stream
    record; in the second before that, one more read of the seat: `givers`)."""
    entitlement = get_store().entitlement(sub)
    if isinstance(entitlement, m.Entitlement) and not entitlement.gift_from:
        entitlement.gift_from = givers.lookup(entitlement)
    return answer(entitlement, clock.now())


# ---- writing a gift or a claim (inside the seat's transaction) -----------------------------------------


def granted(
    sub: str,
    *,
    plan: str,
    source: str,
    term_end: str,
    term_end_ts: int,
    purchase_id: str,
    seat_id: str,
    now: datetime,
    gift_from: str | None = None,
) -> m.Entitlement:
    """The gift part as written (the key and the gift fields only); `gift_from` only for a gift."""
    return m.Entitlement(
        k.account_pk(sub),
        k.ENTITLEMENT_SK,
        sub=sub,
        plan=plan,
        source=source,
        term_end=term_end,
        term_end_ts=term_end_ts,
        ended=False,
        purchase_id=purchase_id,
        seat_id=seat_id,
        gift_from=gift_from,
        updated_at=clock.iso(now),
    )


def grant(steps: Steps, entitlement: m.Entitlement, now: datetime) -> None:
    """Write the gift part of `granted(...)`, leaving the subscription part as it is."""
    e = m.Entitlement
    steps.update(
        "entitlement",
        entitlement,
        [
            e.type.set(e),
            e.sub.set(entitlement.sub),
            e.plan.set(entitlement.plan),
            e.source.set(entitlement.source),
            e.term_end.set(entitlement.term_end),
            e.term_end_ts.set(entitlement.term_end_ts),
            e.ended.set(False),
            e.purchase_id.set(entitlement.purchase_id),
            e.seat_id.set(entitlement.seat_id),
            e.gift_from.set(entitlement.gift_from) if entitlement.gift_from else e.gift_from.remove(),
            e.updated_at.set(entitlement.updated_at),
        ],
        condition=grant_condition(now),
    )


def grant_condition(now: datetime) -> Condition:
    """No active gift part and no active subscription part: one plan per account at a time."""
    e, now_ts = m.Entitlement, clock.epoch(now)
    no_gift: Condition = (
        e.source.does_not_exist()
        | (e.ended == True)  # noqa: E712 - a DynamoDB condition, not a Python comparison
        | (e.term_end_ts <= now_ts)
    )
    renewing = e.auto_renew == True  # noqa: E712 - a DynamoDB condition
    no_subscription: Condition = (
        e.sub_status.does_not_exist()
        | (e.sub_status != "active")
        | (e.sub_term_end_ts <= now_ts - grace_s())
        | (~renewing & (e.sub_term_end_ts <= now_ts))
    )
    both: Condition = no_gift & no_subscription
    return both


def already_subscribed(existing: m.Item | None) -> Conflict:
    """409 with the plan the account holds and when it ends."""
    shown = answer(existing, clock.now())
    if isinstance(existing, m.Entitlement) and shown.plan:
        from giftplans.outbox.templates import moment, plan_name  # the error path only: words for people

        held, until = plan_name(shown.plan), moment(shown.term_end)
        return Conflict(
            f"This account already has the {held} plan until {until}; "
            "a second plan cannot be added while it is active.",
            code="already_subscribed",
            details={"plan": shown.plan, "term_end": shown.term_end},
        )
    return Conflict("This account already has an active plan.", code="already_subscribed")


def end_from_seat(steps: Steps, seat: m.Seat, at: datetime, *, step: str, condition: Condition) -> None:
    """End the seat holder's entitlement, on condition that it still comes from this seat, and `condition`.

    Inside the seat's own transaction (refund, close, expiry), as the step named `step`; what
    differs between them is `condition` (a refund: a gift or claim; expiry: not ended yet).
    """
    steps.update(
        step,
        m.Entitlement(k.account_pk(str(seat.recipient_sub)), k.ENTITLEMENT_SK),
        [m.Entitlement.ended.set(True), m.Entitlement.updated_at.set(clock.iso(at))],
        condition=(m.Entitlement.purchase_id == seat.purchase_id)
        & (m.Entitlement.seat_id == seat.seat_id)
        & condition,
    )


def from_gift_or_claim() -> Condition:
    """The entitlement was granted by a seat (a gift or a claim), not by a subscription."""
    condition: Condition = m.Entitlement.source.is_in(Source.GIFT.value, Source.CLAIM.value)
    return condition


def not_ended() -> Condition:
    """The entitlement has not ended yet (the sweep's expiry ends each one once)."""
    condition: Condition = m.Entitlement.ended.does_not_exist() | (m.Entitlement.ended == False)  # noqa: E712
    return condition


# ---- the account's own subscription (Stripe customer.subscription.*) ----------------------------------


def _account_for(subscription: SubscriptionFacts) -> str | None:
    """The account: the subscription's metadata first (our checkouts set it), else the customer lookup."""
    if subscription.account_id:
        return subscription.account_id
    return get_store().account_for_customer(subscription.customer) if subscription.customer else None


def on_subscription(subscription: SubscriptionFacts) -> str:
    """created/updated/deleted -> the account's entitlement; an event older than the stored one is ignored."""
    account = _account_for(subscription)
    if not account:
        return "ignored: no account for this customer"
    now = clock.now()
    event_ts = subscription.event_ts or clock.epoch(now)
    subscription_id, period_end, live = (
        subscription.subscription_id,
        subscription.period_end,
        subscription.live,
    )
    e = m.Entitlement
    not_older = e.event_ts.does_not_exist() | (e.event_ts <= event_ts)
    same = e.subscription_id == subscription_id
    # Nothing live in the subscription part (a gift part is never touched here).
    nothing_live = (
        e.sub_status.does_not_exist() | (e.sub_status != "active") | (e.sub_term_end_ts <= clock.epoch(now))
    )
    # An upgrade's provisional part is refined only by its own subscription's events.
    not_provisional = e.sub_provisional.does_not_exist() | (e.sub_provisional == False)  # noqa: E712
    key = m.Entitlement(k.account_pk(account), k.ENTITLEMENT_SK)
    actions: list[Action] = [
        e.type.set(m.Entitlement),
        e.sub.set(account),
        e.sub_plan.set(subscription.plan),
        e.sub_term_end.set(clock.iso(clock.from_epoch(period_end))),
        e.sub_term_end_ts.set(period_end),
        e.sub_status.set("active" if live else "ended"),
        e.subscription_id.set(subscription_id),
        e.auto_renew.set(live and not subscription.cancel_at_period_end),
        e.event_ts.set(event_ts),
        e.sub_provisional.remove(),
        *charge_actions(subscription.charge_at, subscription.charge_amount, subscription.charge_currency),
        e.updated_at.set(clock.iso(now)),
    ]
    # A live event: newer than the part's last one, and not another subscription's over a provisional
    # part. An end: only of this subscription's part, or where nothing live stands (then the ended
    # part keeps its event_ts, so a `created` delivered after the `deleted` cannot revive it).
    condition = not_older & (same | (not_provisional | nothing_live if live else nothing_live))

    def build(steps: Steps) -> None:
        steps.update("entitlement", key, actions, condition=condition)
        customer = subscription.customer
        if subscription.account_id and customer:  # learnt from metadata: remember the customer's account
            steps.put("customer", m.CustomerLookup(k.customer_pk(customer), k.CUSTOMER_SK, sub=account))
            remember_customer(steps, account, customer, actor="stripe")

    try:
        get_store().write(build)
    except Refused as refused:
        if refused.conflict:
            raise  # lost a race with another write: Stripe delivers the event again
        logger.info(
            "subscription event changed nothing",
            extra={"subscription_id": subscription_id, "event_id": subscription.event_id},
        )
        return "ignored: older than the stored entitlement, or not this subscription's"
    return f"{'active' if live else 'ended'} {subscription.plan}"


def charge_actions(at: int | None, amount: int | None, currency: str | None) -> list[Action]:
    """The subscription part's next charge, or its removal when there is none (it ends, or is unknown)."""
    e = m.Entitlement
    if at is None or amount is None or not currency:
        return [e.sub_charge_ts.remove(), e.sub_charge_amount.remove(), e.sub_charge_currency.remove()]
    return [e.sub_charge_ts.set(at), e.sub_charge_amount.set(amount), e.sub_charge_currency.set(currency)]


def first_charge(e: m.Entitlement) -> dict[str, object] | None:
    """`first_charge` {at, amount, currency}: what the renewing subscription bills next, if known."""
    if e.sub_charge_ts is None or e.sub_charge_amount is None or not e.sub_charge_currency:
        return None
    at = clock.iso(clock.from_epoch(int(e.sub_charge_ts)))
    return {"at": at, "amount": int(e.sub_charge_amount), "currency": e.sub_charge_currency}


def remember_customer(steps: Steps, sub: str, customer: str, *, actor: str) -> None:
    """The account's Stripe customer on its profile, unless one is recorded (a gift's credit goes there)."""
    p = m.Profile
    steps.update(
        "profile",
        m.Profile(k.account_pk(sub), k.PROFILE_SK),
        [
            p.type.set(m.Profile),
            p.sub.set(sub),
            p.stripe_customer.set(p.stripe_customer | customer),
            *stamp(m.Profile, "customer", actor),
        ],
    )
