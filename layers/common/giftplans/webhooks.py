"""Verified Stripe events -> domain calls, by event type.

`handle(event)` looks the event's type up in `HANDLERS` and returns a short result
string for the webhook's response and logs. Types nobody registered are "ignored":
a real Stripe account sends many events this service does not use, and each gets a
200 with nothing written.

Other capabilities register their own types without touching this file's dispatch:

    from giftplans.webhooks import register

    @register("customer.subscription.updated")
    def _subscription_updated(event: dict) -> str: ...

The modules named in `CAPABILITIES` are imported on the first `handle()` (not at import
time: they import this module for `register`), so their decorators have run before any
event is dispatched. A capability that registers handlers adds its module there.

The three `checkout.session.*` events share one handler that dispatches on the
session's `metadata.kind` through a second registry, `CHECKOUT_KINDS`
(`@checkout_kind("upgrade")`): "gift" (a purchase "For Others") is registered here.
A session without a known kind is somebody else's checkout and is ignored.

Every handler must be safe to run twice and in any order: Stripe retries for three
days and does not keep order.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger

from giftplans import clock, purchases
from giftplans.purchases import fulfilment
from giftplans.tokens import mask_email

logger = Logger(service="gift-plans")

Handler = Callable[[dict[str, Any]], str]
HANDLERS: dict[str, Handler] = {}
CHECKOUT_KINDS: dict[str, Handler] = {}
IGNORED = "ignored"
CAPABILITIES = ("giftplans.entitlements", "giftplans.refunds", "giftplans.upgrades")
_loaded = False

CHECKOUT_COMPLETED = "checkout.session.completed"
ASYNC_SUCCEEDED = "checkout.session.async_payment_succeeded"
ASYNC_FAILED = "checkout.session.async_payment_failed"


def register(event_type: str) -> Callable[[Handler], Handler]:
    def add(fn: Handler) -> Handler:
        HANDLERS[event_type] = fn
        return fn

    return add


def checkout_kind(kind: str) -> Callable[[Handler], Handler]:
    def add(fn: Handler) -> Handler:
        CHECKOUT_KINDS[kind] = fn
        return fn

    return add


def handle(event: dict[str, Any]) -> str:
    """Run the handler registered for the event's type; "ignored" when there is none."""
    _load_capabilities()
    event_type = str(event.get("type") or "")
    handler = HANDLERS.get(event_type)
    if handler is None:
        logger.info("stripe event ignored", extra={"event_type": event_type, "event_id": event.get("id")})
        return IGNORED
    result = handler(event)
    logger.info(
        "stripe event handled",
        extra={"event_type": event_type, "event_id": event.get("id"), "result": result},
    )
    return result


def _load_capabilities() -> None:
    global _loaded
    if not _loaded:
        for name in CAPABILITIES:
            importlib.import_module(name)
        _loaded = True


def data_object(event: dict[str, Any]) -> dict[str, Any]:
    obj = (event.get("data") or {}).get("object")
    return obj if isinstance(obj, dict) else {}


def event_time(event: dict[str, Any]) -> datetime:
    """When Stripe says the event happened (epoch `created`), else now."""
    created = event.get("created")
    if isinstance(created, int) and not isinstance(created, bool) and created > 0:
        return clock.from_epoch(created)
    return clock.now()


def _ignore(event: dict[str, Any], reason: str) -> str:
    logger.info(
        "stripe event ignored",
        extra={"event_type": event.get("type"), "event_id": event.get("id"), "reason": reason},
    )
    return IGNORED


# ---- checkout sessions --------------------------------------------------------------------------------


@register(CHECKOUT_COMPLETED)
@register(ASYNC_SUCCEEDED)
@register(ASYNC_FAILED)
def _checkout_session(event: dict[str, Any]) -> str:
    session = data_object(event)
    kind = str((session.get("metadata") or {}).get("kind") or "")
    handler = CHECKOUT_KINDS.get(kind)
    if handler is None:
        return _ignore(event, f"checkout session of kind {kind!r} is not ours")
    return handler(event)


class NotOurs(ValueError):
    """The session is not a gift checkout this service can fulfil (its reason is logged)."""


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def gift_facts(session: dict[str, Any]) -> fulfilment.CheckoutFacts:
    """Read a gift Checkout Session; `NotOurs` when it lacks what fulfilment needs."""
    from giftplans.settings import get as settings

    conf = settings()
    if session.get("mode") != "payment":
        raise NotOurs(f"mode {session.get('mode')!r} is not payment")
    session_id = session.get("id")
    if not isinstance(session_id, str) or not session_id:
        raise NotOurs("session has no id")
    meta = session.get("metadata") or {}
    buyer_id = str(meta.get("buyer_id") or session.get("client_reference_id") or "")
    if not buyer_id:
        raise NotOurs("no buyer_id in metadata")
    details = session.get("customer_details") or {}
    buyer_email = str(meta.get("buyer_email") or details.get("email") or session.get("customer_email") or "")
    if "@" not in buyer_email:
        raise NotOurs("no buyer email")
    plan = conf.plan(str(meta.get("plan") or ""))
    if plan is None:
        raise NotOurs(f"unknown plan {meta.get('plan')!r}")
    quantity = _int(meta.get("quantity"))
    if quantity is None or not 1 <= quantity <= max(conf.max_quantity, 1):
        raise NotOurs(f"quantity {meta.get('quantity')!r} is not in 1..{conf.max_quantity}")
    subtotal = _int(session.get("amount_subtotal"))
    total = _int(session.get("amount_total"))
    if subtotal is None or total is None:
        raise NotOurs("session has no amounts")
    discount = _int((session.get("total_details") or {}).get("amount_discount")) or 0
    currency = str(session.get("currency") or plan.currency).lower()
    intent = session.get("payment_intent")
    if isinstance(intent, dict):
        intent = intent.get("id")
    return fulfilment.CheckoutFacts(
        session_id=session_id,
        buyer_id=buyer_id,
        buyer_email=buyer_email,
        buyer_name=str(details["name"]) if details.get("name") else None,
        plan=plan.name,
        quantity=quantity,
        currency=currency,
        amount_subtotal=max(0, subtotal - discount),
        amount_total=total,
        payment_intent=str(intent) if intent else None,
    )


def _gift_status(event: dict[str, Any], session: dict[str, Any]) -> purchases.PurchaseStatus | None:
    event_type = event.get("type")
    if event_type == ASYNC_SUCCEEDED:
        return purchases.PAID
    if event_type == ASYNC_FAILED:
        return purchases.FAILED
    payment_status = session.get("payment_status")
    if payment_status in ("paid", "no_payment_required"):
        return purchases.PAID
    if payment_status == "unpaid":
        return purchases.PENDING
    return None


@checkout_kind("gift")
def _gift_checkout(event: dict[str, Any]) -> str:
    """Fulfilment (SPEC rule 2): the purchase and its seats exist in the status Stripe reports."""
    session = data_object(event)
    try:
        facts = gift_facts(session)
    except NotOurs as reason:
        return _ignore(event, str(reason))
    status = _gift_status(event, session)
    if status is None:
        return _ignore(event, f"payment_status {session.get('payment_status')!r} is unknown")
    purchase_id = fulfilment.record_checkout(facts, status, event_time(event))
    logger.info(
        "gift checkout recorded",
        extra={
            "purchase_id": purchase_id,
            "status": status,
            "quantity": facts.quantity,
            "buyer": mask_email(facts.buyer_email),
        },
    )
    return f"{status} {purchase_id}"


# ---- upgrades, refunds, disputes (registered here so that importing this module wires every handler) -----


def _register_money_paths() -> None:
    from giftplans import refunds, renewals, upgrades

    CHECKOUT_KINDS[upgrades.KIND] = upgrades.on_checkout_event
    CHECKOUT_KINDS[renewals.KIND] = renewals.on_checkout_event
    HANDLERS["charge.refunded"] = refunds.on_charge_refunded
    HANDLERS["charge.dispute.created"] = refunds.on_dispute_created
    HANDLERS["charge.dispute.closed"] = refunds.on_dispute_closed


def _register_subscriptions() -> None:
    from giftplans import entitlements

    for event_type in entitlements.SUBSCRIPTION_EVENTS:
        HANDLERS.setdefault(event_type, entitlements.on_subscription_event)


_register_money_paths()
_register_subscriptions()
