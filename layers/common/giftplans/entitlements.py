"""The entitlement: which plan an account has, until when, and whether it renews.

One item per account (`ACCOUNT#<sub>` / `ENTITLEMENT`), so `GET /me/entitlement` is one
read. Its sources: an accepted gift (`gift`), a claimed seat (`claim`), or the
account's own Stripe subscription (`subscription`, from `customer.subscription.*`).

"Active" is decided by the reader at the clock's now: not ended and `now < term_end`.
A sweep that is late or failed never makes an ended plan look active (SPEC rule 9).
A gift or claim may only be written over nothing, an ended entitlement or one whose
term has passed (`grant_condition`): one plan per account at a time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger
from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from giftplans import clock
from giftplans.errors import Conflict
from giftplans.settings import get as settings
from giftplans.store import models as m
from giftplans.store.tx import Cancelled, dynamodb_errors, transact

logger = Logger(service="gift-plans")

GIFT, CLAIM, SUBSCRIPTION = "gift", "claim", "subscription"
INACTIVE: dict[str, Any] = {
    "active": False,
    "plan": None,
    "source": None,
    "term_end": None,
    "auto_renew": False,
}


# ---- the answer ----------------------------------------------------------------------------------------


def is_active(entitlement: m.Item | None, now: datetime) -> bool:
    return (
        isinstance(entitlement, m.Entitlement)
        and not entitlement.ended
        and clock.epoch(now) < int(entitlement.term_end_ts)
    )


def view(entitlement: m.Item | None, now: datetime) -> dict[str, Any]:
    """The SPEC entitlement JSON `{active, plan, source, term_end, auto_renew}`."""
    if not isinstance(entitlement, m.Entitlement):
        return dict(INACTIVE)
    active = is_active(entitlement, now)
    return {
        "active": active,
        "plan": entitlement.plan,
        "source": entitlement.source,
        "term_end": entitlement.term_end,
        "auto_renew": bool(entitlement.auto_renew) and active,
    }


def load(sub: str) -> m.Entitlement | None:
    with dynamodb_errors():
        try:
            return m.Entitlement.get(m.account_pk(sub), m.ENTITLEMENT_SK, consistent_read=True)
        except m.Entitlement.DoesNotExist:
            return None


def current(sub: str) -> dict[str, Any]:
    """`GET /me/entitlement`: one GetItem."""
    return view(load(sub), clock.now())


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
    return m.Entitlement(
        m.account_pk(sub),
        m.ENTITLEMENT_SK,
        sub=sub,
        plan=plan,
        source=source,
        term_end=term_end,
        term_end_ts=term_end_ts,
        auto_renew=False,
        ended=False,
        purchase_id=purchase_id,
        seat_id=seat_id,
        updated_at=clock.iso(now),
    )


def grant_condition(now: datetime) -> Condition:
    """Nothing there, or nothing active: a gift or claim never replaces a live plan."""
    condition: Condition = (
        m.Entitlement.PK.does_not_exist()
        | (m.Entitlement.term_end_ts <= clock.epoch(now))
        | (m.Entitlement.ended == True)  # noqa: E712 - a DynamoDB condition, not a Python comparison
    )
    return condition


def already_subscribed(existing: m.Item | None) -> Conflict:
    """409 with the plan the account holds and when it ends."""
    if isinstance(existing, m.Entitlement):
        return Conflict(
            f"This account already has the {existing.plan} plan until {existing.term_end}; "
            "a second plan cannot be added while it is active.",
            code="already_subscribed",
            details={"plan": existing.plan, "term_end": existing.term_end},
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
    with dynamodb_errors():
        try:
            return m.CustomerLookup.get(m.customer_pk(str(customer)), "CUSTOMER").sub, False
        except m.CustomerLookup.DoesNotExist:
            return None, False


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
    not_older = m.Entitlement.event_ts.does_not_exist() | (m.Entitlement.event_ts <= event_ts)
    key = m.Entitlement(m.account_pk(account), m.ENTITLEMENT_SK)

    def build(tx: TransactWrite) -> None:
        if live:
            end = clock.from_epoch(period_end)
            tx.save(
                m.Entitlement(
                    m.account_pk(account),
                    m.ENTITLEMENT_SK,
                    sub=account,
                    plan=plan.name,
                    source=SUBSCRIPTION,
                    term_end=clock.iso(end),
                    term_end_ts=period_end,
                    ended=False,
                    auto_renew=not bool(subscription.get("cancel_at_period_end")),
                    subscription_id=subscription_id,
                    event_ts=event_ts,
                    updated_at=clock.iso(now),
                ),
                condition=not_older,
            )
        else:
            # An end that arrives before the subscription's created/updated events leaves an ended
            # record (with its event_ts) where nothing live stands, so the late, older events
            # cannot bring the subscription back to life.
            nothing_live = (
                m.Entitlement.PK.does_not_exist()
                | (m.Entitlement.ended == True)  # noqa: E712 - a DynamoDB condition
                | (m.Entitlement.term_end_ts <= clock.epoch(now))
            )
            tx.update(
                key,
                actions=[
                    m.Entitlement.type.set(m.Entitlement),
                    m.Entitlement.sub.set(account),
                    m.Entitlement.plan.set(plan.name),
                    m.Entitlement.source.set(SUBSCRIPTION),
                    m.Entitlement.term_end.set(clock.iso(clock.from_epoch(period_end))),
                    m.Entitlement.term_end_ts.set(period_end),
                    m.Entitlement.subscription_id.set(subscription_id),
                    m.Entitlement.purchase_id.remove(),
                    m.Entitlement.seat_id.remove(),
                    m.Entitlement.ended.set(True),
                    m.Entitlement.auto_renew.set(False),
                    m.Entitlement.event_ts.set(event_ts),
                    m.Entitlement.updated_at.set(clock.iso(now)),
                ],
                condition=((m.Entitlement.subscription_id == subscription_id) | nothing_live) & not_older,
            )
        customer = subscription.get("customer")
        if from_metadata and isinstance(customer, str) and customer:
            tx.save(m.CustomerLookup(m.customer_pk(customer), "CUSTOMER", sub=account))

    try:
        transact(build)
    except Cancelled:
        logger.info(
            "subscription event changed nothing",
            extra={"subscription_id": subscription_id, "event_id": event.get("id")},
        )
        return "ignored: older than the stored entitlement, or not this subscription's"
    return f"{'active' if live else 'ended'} {plan.name}"
