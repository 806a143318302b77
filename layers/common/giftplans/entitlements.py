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

from dataclasses import replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from aws_lambda_powertools import Logger
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from giftplans import clock
from giftplans.errors import Conflict
from giftplans.settings import get as settings
from giftplans.store import get_store
from giftplans.store import keys as k
from giftplans.store import models as m
from giftplans.store.writes import Refused, Steps
from giftplans.views import INACTIVE, EntitlementView

logger = Logger(service="gift-plans")


class Source(StrEnum):
    """Where an entitlement comes from (the SPEC's `source`)."""

    GIFT = "gift"  # an accepted seat
    CLAIM = "claim"  # a seat the buyer claimed
    SUBSCRIPTION = "subscription"  # the account's own Stripe subscription


# ---- the answer ----------------------------------------------------------------------------------------


def _sub_active(e: m.Entitlement, now_ts: int) -> bool:
    return bool(e.sub_plan) and e.sub_status == "active" and now_ts < int(e.sub_term_end_ts or 0)


def _gift_active(e: m.Entitlement, now_ts: int) -> bool:
    return bool(e.source) and not e.ended and now_ts < int(e.term_end_ts or 0)


def answer(entitlement: m.Item | None, now: datetime) -> EntitlementView:
    """The SPEC entitlement `{active, plan, source, term_end, auto_renew}` from both parts.

    An active subscription part wins; else an active gift part; else inactive, naming the part
    that ended last.
    """
    if not isinstance(entitlement, m.Entitlement):
        return INACTIVE
    e, now_ts = entitlement, clock.epoch(now)
    subscription = EntitlementView(
        True, e.sub_plan, Source.SUBSCRIPTION.value, e.sub_term_end, bool(e.auto_renew)
    )
    gift = EntitlementView(True, e.plan, e.source, e.term_end, False)
    if _sub_active(e, now_ts):
        return subscription
    if _gift_active(e, now_ts):
        return gift
    parts = [(int(e.sub_term_end_ts or 0), subscription)] if e.sub_plan else []
    parts += [(int(e.term_end_ts or 0), gift)] if e.source else []
    if not parts:
        return INACTIVE
    return replace(max(parts, key=lambda part: part[0])[1], active=False, auto_renew=False)


def is_active(entitlement: m.Item | None, now: datetime) -> bool:
    return answer(entitlement, now).active


def current(sub: str) -> EntitlementView:
    """`GET /me/entitlement`: one GetItem."""
    return answer(get_store().entitlement(sub), clock.now())


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
) -> m.Entitlement:
    """The gift part as written (the key and the gift fields only)."""
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
    no_subscription: Condition = (
        e.sub_status.does_not_exist() | (e.sub_status != "active") | (e.sub_term_end_ts <= now_ts)
    )
    both: Condition = no_gift & no_subscription
    return both


def already_subscribed(existing: m.Item | None) -> Conflict:
    """409 with the plan the account holds and when it ends."""
    shown = answer(existing, clock.now())
    if isinstance(existing, m.Entitlement) and shown.plan:
        from giftplans.mail.templates import moment, plan_name  # the error path only: words for people

        held, until = plan_name(shown.plan), moment(shown.term_end)
        return Conflict(
            f"This account already has the {held} plan until {until}; "
            "a second plan cannot be added while it is active.",
            code="already_subscribed",
            details={"plan": shown.plan, "term_end": shown.term_end},
        )
    return Conflict("This account already has an active plan.", code="already_subscribed")


# ---- the account's own subscription (Stripe customer.subscription.*) ----------------------------------

SUBSCRIPTION_EVENTS = (
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
)
ACTIVE_STATUSES = frozenset({"active", "trialing"})


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _first_item(subscription: dict[str, Any]) -> dict[str, Any]:
    data = (subscription.get("items") or {}).get("data") or []
    return data[0] if data and isinstance(data[0], dict) else {}


def _account_for(subscription: dict[str, Any]) -> tuple[str | None, bool]:
    """The account sub: metadata first, else the customer lookup. Second value: learnt from metadata."""
    meta = subscription.get("metadata") or {}
    if meta.get("account_id"):
        return str(meta["account_id"]), True
    customer = subscription.get("customer")
    if isinstance(customer, dict):
        customer = customer.get("id")
    if not customer:
        return None, False
    return get_store().account_for_customer(str(customer)), False


def on_subscription_event(event: dict[str, Any]) -> str:
    """created/updated/deleted -> the account's entitlement; an event older than the stored one is ignored."""
    subscription = (event.get("data") or {}).get("object") or {}
    if not isinstance(subscription, dict) or not subscription.get("id"):
        return "ignored: no subscription"
    account, from_metadata = _account_for(subscription)
    if not account:
        return "ignored: no account for this customer"
    item = _first_item(subscription)
    price = item.get("price") or {}
    plan = settings().plan_by_price(str(price.get("id") if isinstance(price, dict) else price))
    if plan is None:
        return "ignored: price is not one of our plans"
    period_end = _int(item.get("current_period_end")) or _int(subscription.get("current_period_end"))
    if period_end is None:
        return "ignored: no current_period_end"
    event_ts = _int(event.get("created")) or clock.epoch(clock.now())
    subscription_id = str(subscription["id"])
    now = clock.now()
    live = (
        event.get("type") != "customer.subscription.deleted" and subscription.get("status") in ACTIVE_STATUSES
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
        e.sub_plan.set(plan.name),
        e.sub_term_end.set(clock.iso(clock.from_epoch(period_end))),
        e.sub_term_end_ts.set(period_end),
        e.sub_status.set("active" if live else "ended"),
        e.subscription_id.set(subscription_id),
        e.auto_renew.set(live and not bool(subscription.get("cancel_at_period_end"))),
        e.event_ts.set(event_ts),
        e.sub_provisional.remove(),
        e.updated_at.set(clock.iso(now)),
    ]
    # A live event: newer than the part's last one, and not another subscription's over a provisional
    # part. An end: only of this subscription's part, or where nothing live stands (then the ended
    # part keeps its event_ts, so a `created` delivered after the `deleted` cannot revive it).
    condition = not_older & (same | (not_provisional | nothing_live if live else nothing_live))

    def build(steps: Steps) -> None:
        steps.update("entitlement", key, actions, condition=condition)
        customer = subscription.get("customer")
        if from_metadata and isinstance(customer, str) and customer:
            steps.put("customer", m.CustomerLookup(k.customer_pk(customer), k.CUSTOMER_SK, sub=account))

    try:
        get_store().write(build)
    except Refused as refused:
        if refused.conflict:
            raise  # lost a race with another write: Stripe delivers the event again
        logger.info(
            "subscription event changed nothing",
            extra={"subscription_id": subscription_id, "event_id": event.get("id")},
        )
        return "ignored: older than the stored entitlement, or not this subscription's"
    return f"{'active' if live else 'ended'} {plan.name}"
