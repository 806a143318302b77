"""Verified Stripe events -> domain calls, by event type, through one table read top to bottom.

`handle(event)` looks the event's type up in `HANDLERS` and returns a short result
string for the webhook's response and logs. A Checkout Session's three events go on to
`CHECKOUT_KINDS` by the session's `metadata.kind`. Each entry reads the Stripe object
into typed facts (`giftplans.stripe_facts`) and hands them to the domain; a type or kind
not in the tables, or an object that is not ours (`NotOurs`), is "ignored": a real
Stripe account sends many events this service does not use, and each gets a 200 with
nothing written.

Every handler must be safe to run twice and in any order: Stripe retries for three
days and does not keep order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from giftplans import entitlements, refunds, renewals, upgrades
from giftplans import stripe_facts as facts
from giftplans.observability import logger
from giftplans.purchases import fulfilment, invoices
from giftplans.stripe_facts import Event, NotOurs
from giftplans.tokens import mask_email

IGNORED = "ignored"
Handler = Callable[[Event], str]


# ---- checkout sessions, by kind -------------------------------------------------------------------------


def _gift(event: Event) -> str:
    """Fulfilment (SPEC rule 2): the purchase and its seats exist in the status Stripe reports.

    A paid gift checkout is never acknowledged without its purchase: one that cannot be
    fulfilled (`facts.Unfulfillable`) is recorded for support, logged as an error, counted
    (`UnfulfillableCheckout`, alarmed) and answered 503, so Stripe keeps retrying.
    """
    try:
        checkout, status = facts.gift_checkout(event), facts.gift_status(event)
    except facts.Unfulfillable as unfulfillable:
        from aws_lambda_powertools.metrics import MetricUnit

        from giftplans.observability import metrics
        from giftplans.purchases import attention

        attention.record(unfulfillable.reason, unfulfillable.session, event.at)
        metrics.add_metric(name="UnfulfillableCheckout", unit=MetricUnit.Count, value=1)
        logger.error(
            "paid gift checkout cannot be fulfilled; not acknowledged",
            extra={
                "event_id": event.id,
                "session_id": event.object.get("id"),
                "reason": unfulfillable.reason,
            },
        )
        raise
    purchase_id = fulfilment.record_checkout(checkout, status, event.at)
    logger.info(
        "gift checkout recorded",
        extra={
            "purchase_id": purchase_id,
            "status": status,
            "quantity": checkout.quantity,
            "buyer": mask_email(checkout.buyer_email),
        },
    )
    return f"{status} {purchase_id}"


def _upgrade(event: Event) -> str:
    return upgrades.complete(facts.upgrade_completion(event), event.at)


def _renewal(event: Event) -> str:
    return renewals.record_completion(facts.renewal_completion(event), event.at)


CHECKOUT_KINDS: dict[str, Handler] = {
    "gift": _gift,
    upgrades.KIND: _upgrade,
    renewals.KIND: _renewal,
}


def _checkout_session(event: Event) -> str:
    handler = CHECKOUT_KINDS.get(event.checkout_kind)
    if handler is None:
        raise NotOurs(IGNORED, f"checkout session of kind {event.checkout_kind!r} is not ours")
    return handler(event)


# ---- the table ------------------------------------------------------------------------------------------


def _subscription(event: Event) -> str:
    return entitlements.on_subscription(facts.subscription(event))


HANDLERS: dict[str, Handler] = {
    facts.CHECKOUT_COMPLETED: _checkout_session,
    facts.ASYNC_SUCCEEDED: _checkout_session,
    facts.ASYNC_FAILED: _checkout_session,
    "charge.refunded": lambda event: refunds.on_charge_refunded(facts.charge_refund(event)),
    "charge.dispute.created": lambda event: refunds.on_dispute_created(facts.dispute(event)),
    "charge.dispute.closed": lambda event: refunds.on_dispute_closed(facts.dispute(event)),
    facts.INVOICE_FINALIZED: lambda event: invoices.on_invoice(facts.gift_invoice(event)),
    facts.INVOICE_PAID: lambda event: invoices.on_invoice(facts.gift_invoice(event)),
    "customer.subscription.created": _subscription,
    "customer.subscription.updated": _subscription,
    facts.SUBSCRIPTION_DELETED: _subscription,
}


def handle(raw: dict[str, Any]) -> str:
    """Run the handler for the event's type; "ignored" when there is none or the object is not ours."""
    event = Event.of(raw)
    handler = HANDLERS.get(event.type)
    try:
        if handler is None:
            raise NotOurs(IGNORED)
        result = handler(event)
    except NotOurs as not_ours:
        logger.info(
            "stripe event ignored",
            extra={"event_type": event.type, "event_id": event.id, "reason": not_ours.reason},
        )
        return not_ours.result
    logger.info(
        "stripe event handled", extra={"event_type": event.type, "event_id": event.id, "result": result}
    )
    return result
