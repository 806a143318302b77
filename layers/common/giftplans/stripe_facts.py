"""Stripe's objects as typed facts, read once, at the edge (the webhook dispatch).

Each reader takes a verified event (`Event`) and returns the facts the domain acts on,
or raises `NotOurs` with the webhook's answer when the event is not something this
service does: a checkout of somebody else's, a session without the links we set, a
subscription at a price that is not one of our plans. The domain never opens a Stripe
object; `integer` and `stripe_id` are the only readers of Stripe's loosely typed fields.

Stripe sends integers as JSON numbers; a string of digits is read as the number too.
Expandable fields (`payment_intent`, `customer`, `charge`, `subscription`) are either an
id or the expanded object: `stripe_id` reads both.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from giftplans import clock, locales
from giftplans.errors import DomainError
from giftplans.purchases import FAILED, PAID, PENDING, PurchaseStatus
from giftplans.settings import get as settings

CHECKOUT_COMPLETED = "checkout.session.completed"
ASYNC_SUCCEEDED = "checkout.session.async_payment_succeeded"
ASYNC_FAILED = "checkout.session.async_payment_failed"
SUBSCRIPTION_DELETED = "customer.subscription.deleted"
PAID_STATUSES = ("paid", "no_payment_required")
ACTIVE_STATUSES = frozenset({"active", "trialing"})


class NotOurs(Exception):
    """The event asks nothing of this service: `result` is the webhook's answer, `reason` is logged."""

    def __init__(self, result: str, reason: str | None = None) -> None:
        super().__init__(reason or result)
        self.result = result
        self.reason = reason or result


# ---- fields ---------------------------------------------------------------------------------------------


def integer(value: Any) -> int | None:
    """An integer field: a JSON integer, or a string of digits; None for anything else (booleans too)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def stripe_id(value: Any) -> str | None:
    """The id of an expandable field: the id itself, or the `id` of the expanded object."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def _text(value: Any) -> str:
    return str(value) if value else ""


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


# ---- the event ------------------------------------------------------------------------------------------


class Event(NamedTuple):
    """A verified Stripe event: its id, type, when Stripe says it happened, and its object."""

    id: str | None
    type: str
    created: int | None  # epoch seconds, as Stripe sent it
    object: dict[str, Any]

    @classmethod
    def of(cls, raw: dict[str, Any]) -> "Event":
        created = integer(raw.get("created"))
        return cls(
            id=_text(raw.get("id")) or None,
            type=_text(raw.get("type")),
            created=created if created is not None and created > 0 else None,
            object=_mapping(_mapping(raw.get("data")).get("object")),
        )

    @property
    def at(self) -> datetime:
        """When Stripe says the event happened (`created`), else now."""
        return clock.from_epoch(self.created) if self.created is not None else clock.now()

    @property
    def metadata(self) -> dict[str, Any]:
        return _mapping(self.object.get("metadata"))

    @property
    def checkout_kind(self) -> str:
        """A Checkout Session's `metadata.kind`: gift, upgrade, renewal (ours), or anything else."""
        return _text(self.metadata.get("kind"))


# ---- checkout sessions ----------------------------------------------------------------------------------


class GiftCheckout(NamedTuple):
    """What fulfilment needs from a gift Checkout Session."""

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
    amount_tax: int = 0  # SPEC 8.6: never part of a seat's value
    invoice: str | None = None  # the invoice Stripe made for the checkout (invoice_creation)
    buyer_locale: str | None = None  # en | de, from our metadata (the buyer's request at checkout)


class Unfulfillable(DomainError):
    """A paid gift checkout this service cannot turn into a purchase (issue 14): never acknowledged.

    The webhook records it for support (`purchases.attention`), logs an error, counts the
    `UnfulfillableCheckout` metric (alarmed) and answers 503, so Stripe keeps the event and
    retries: once the cause is fixed (a retired price added to `RetiredPrices`), a retry fulfils it.
    """

    status = 503
    code = "unfulfillable_checkout"

    def __init__(self, reason: str, session: Mapping[str, Any]) -> None:
        super().__init__("This checkout cannot be fulfilled now; support has been told. Stripe will retry.")
        self.reason, self.session = reason, session


def _line_item(session: Mapping[str, Any], session_id: str) -> tuple[str | None, int | None]:
    """The session's own (first) line item: its price id and quantity (asked of Stripe unless expanded)."""
    expanded = _mapping(session.get("line_items")).get("data")
    if isinstance(expanded, list):
        items: list[Any] = expanded
    else:
        from giftplans import stripe_gateway

        items = stripe_gateway.checkout_line_items(session_id)
    if not items:
        return None, None
    first = _mapping(items[0])
    price = first.get("price")
    price_id = stripe_id(price if isinstance(price, str) else _mapping(price).get("id"))
    return price_id, integer(first.get("quantity"))


def gift_checkout(event: Event) -> GiftCheckout:
    """Read a gift Checkout Session; `NotOurs` when it is no gift payment, `Unfulfillable` when it is one
    this service cannot fulfil.

    The plan and quantity are the ones Stripe charged: the metadata's plan when it is still
    configured, else the line item's price (current or `retired_prices`); the metadata's
    quantity, else the line item's, with no upper bound (MaxQuantity is checked when the
    session is created; money taken after the limit changed is still fulfilled).
    """
    conf, session, meta = settings(), event.object, event.metadata
    if session.get("mode") != "payment":
        raise NotOurs("ignored", f"mode {session.get('mode')!r} is not payment")
    session_id = stripe_id(session.get("id"))
    if session_id is None:
        raise NotOurs("ignored", "session has no id")
    buyer_id = _text(meta.get("buyer_id") or session.get("client_reference_id"))
    if not buyer_id:
        raise Unfulfillable("no buyer_id in metadata", session)
    details = _mapping(session.get("customer_details"))
    buyer_email = _text(meta.get("buyer_email") or details.get("email") or session.get("customer_email"))
    if "@" not in buyer_email:
        raise Unfulfillable("no buyer email", session)
    plan = conf.plan(_text(meta.get("plan")))
    quantity = integer(meta.get("quantity"))
    if plan is None or quantity is None:
        price_id, line_quantity = _line_item(session, session_id)
        plan = plan or (conf.plan_by_price(price_id) if price_id else None)
        quantity = quantity if quantity is not None else line_quantity
        if plan is None:
            raise Unfulfillable(f"plan {meta.get('plan')!r} / price {price_id!r} is not configured", session)
    if quantity is None or quantity < 1:
        raise Unfulfillable(f"quantity {meta.get('quantity')!r} is not a positive number", session)
    subtotal, total = integer(session.get("amount_subtotal")), integer(session.get("amount_total"))
    if subtotal is None or total is None:
        raise Unfulfillable("session has no amounts", session)
    discount = integer(_mapping(session.get("total_details")).get("amount_discount")) or 0
    return GiftCheckout(
        session_id=session_id,
        buyer_id=buyer_id,
        buyer_email=buyer_email,
        buyer_name=_text(details.get("name")) or None,
        plan=plan.name,
        quantity=quantity,
        currency=_text(session.get("currency") or plan.currency).lower(),
        amount_subtotal=max(0, subtotal - discount),
        amount_total=total,
        payment_intent=stripe_id(session.get("payment_intent")),
        amount_tax=integer(_mapping(session.get("total_details")).get("amount_tax")) or 0,
        invoice=stripe_id(session.get("invoice")),
        buyer_locale=locales.supported(meta.get("buyer_locale")),
    )


def gift_status(event: Event) -> PurchaseStatus:
    """The purchase status a gift checkout event reports; `NotOurs` for a payment status we do not know."""
    if event.type == ASYNC_SUCCEEDED:
        return PAID
    if event.type == ASYNC_FAILED:
        return FAILED
    payment_status = event.object.get("payment_status")
    if payment_status in PAID_STATUSES:
        return PAID
    if payment_status == "unpaid":
        return PENDING
    raise NotOurs("ignored", f"payment_status {payment_status!r} is unknown")


class UpgradeCompletion(NamedTuple):
    """A paid upgrade checkout: which seat moves to which plan, on which subscription."""

    account_id: str
    purchase_id: str
    seat_id: str
    plan: str
    subscription_id: str
    customer: str | None


def upgrade_completion(event: Event) -> UpgradeCompletion:
    session, meta = event.object, event.metadata
    paid = session.get("payment_status") in PAID_STATUSES
    if event.type == ASYNC_FAILED or (event.type == CHECKOUT_COMPLETED and not paid):
        raise NotOurs("ignored: upgrade not paid yet")
    subscription_id = stripe_id(session.get("subscription"))
    account_id = _text(meta.get("account_id") or session.get("client_reference_id"))
    plan = settings().plan(_text(meta.get("plan")))
    if not (subscription_id and account_id and plan and meta.get("purchase_id") and meta.get("seat_id")):
        raise NotOurs("ignored: upgrade session lacks its links")
    return UpgradeCompletion(
        account_id=account_id,
        purchase_id=_text(meta["purchase_id"]),
        seat_id=_text(meta["seat_id"]),
        plan=plan.name,
        subscription_id=subscription_id,
        customer=stripe_id(session.get("customer")),
    )


class RenewalCompletion(NamedTuple):
    """A completed renewal checkout: the account, the gift it renews, and its subscription."""

    session_id: str
    account_id: str
    purchase_id: str
    seat_id: str
    plan: str
    subscription_id: str
    customer: str | None


def renewal_completion(event: Event) -> RenewalCompletion:
    if event.type != CHECKOUT_COMPLETED:
        raise NotOurs("ignored: a renewal is recorded on completion only")
    session, meta = event.object, event.metadata
    if session.get("payment_status") not in PAID_STATUSES:
        raise NotOurs("ignored: renewal not paid yet")
    session_id = stripe_id(session.get("id"))
    account_id = _text(meta.get("account_id") or session.get("client_reference_id"))
    purchase_id, seat_id = _text(meta.get("purchase_id")), _text(meta.get("seat_id"))
    if not (session_id and account_id and purchase_id and seat_id):
        raise NotOurs("ignored: renewal session lacks its links")
    return RenewalCompletion(
        session_id=session_id,
        account_id=account_id,
        purchase_id=purchase_id,
        seat_id=seat_id,
        plan=_text(meta.get("plan")),
        subscription_id=stripe_id(session.get("subscription")) or "",
        customer=stripe_id(session.get("customer")),
    )


# ---- invoices -------------------------------------------------------------------------------------------

INVOICE_FINALIZED = "invoice.finalized"
INVOICE_PAID = "invoice.paid"


class GiftInvoice(NamedTuple):
    """`invoice.finalized` / `invoice.paid` of a gift checkout's invoice (our `metadata.kind = "gift"`)."""

    invoice_id: str
    url: str | None  # hosted_invoice_url: None while Stripe has no page for it
    buyer_id: str | None
    payment_intent: str | None  # from the invoice's `payments` (when Stripe includes them)


def gift_invoice(event: Event) -> GiftInvoice:
    found = event.object
    invoice_id = stripe_id(found.get("id"))
    if invoice_id is None or event.checkout_kind != "gift" or found.get("subscription"):
        raise NotOurs("ignored", "not a gift checkout's invoice")
    intent = stripe_id(found.get("payment_intent"))  # API versions before 2025-03-31
    payments = _mapping(found.get("payments")).get("data")
    for paid in payments if isinstance(payments, list) else []:
        intent = intent or stripe_id(_mapping(_mapping(paid).get("payment")).get("payment_intent"))
    return GiftInvoice(
        invoice_id=invoice_id,
        url=_text(found.get("hosted_invoice_url")) or None,
        buyer_id=_text(event.metadata.get("buyer_id")) or None,
        payment_intent=intent,
    )


# ---- charges and disputes -------------------------------------------------------------------------------


class ChargeRefund(NamedTuple):
    """`charge.refunded`: how much of which payment was refunded."""

    payment_intent: str | None
    amount: int
    amount_refunded: int
    refunded: bool  # Stripe's own "refunded in full"
    at: datetime

    @property
    def full(self) -> bool:
        return self.refunded or (self.amount > 0 and self.amount_refunded >= self.amount)


def charge_refund(event: Event) -> ChargeRefund:
    charge = event.object
    return ChargeRefund(
        payment_intent=stripe_id(charge.get("payment_intent")),
        amount=integer(charge.get("amount")) or 0,
        amount_refunded=integer(charge.get("amount_refunded")) or 0,
        refunded=charge.get("refunded") is True,
        at=event.at,
    )


class DisputeFacts(NamedTuple):
    """`charge.dispute.*`: the dispute, the payment it is about (or only its charge), how it stands."""

    dispute_id: str
    payment_intent: str | None
    charge_id: str | None  # when the dispute names only its charge (its payment intent needs a read)
    reason: str
    amount: int
    status: str
    at: datetime


def dispute(event: Event) -> DisputeFacts:
    found = event.object
    charge = found.get("charge")
    intent = stripe_id(found.get("payment_intent"))
    if intent is None and isinstance(charge, dict):
        intent = stripe_id(charge.get("payment_intent"))
    return DisputeFacts(
        dispute_id=_text(found.get("id")),
        payment_intent=intent,
        charge_id=charge if isinstance(charge, str) and charge else None,
        reason=_text(found.get("reason")),
        amount=integer(found.get("amount")) or 0,
        status=_text(found.get("status")),
        at=event.at,
    )


# ---- subscriptions --------------------------------------------------------------------------------------


class SubscriptionFacts(NamedTuple):
    """`customer.subscription.*`: whose subscription, to which of our plans, until when, whether it lives."""

    subscription_id: str
    event_id: str | None
    account_id: str | None  # from the subscription's metadata (our checkouts set it)
    customer: str | None
    plan: str
    period_end: int
    live: bool  # active or trialing, and not deleted
    cancel_at_period_end: bool
    event_ts: int | None  # the event's created time
    charge_at: int | None = None  # the first (next) charge: the trial's end, else the period's end
    charge_amount: int | None = None  # the item's price x quantity, before any customer balance
    charge_currency: str | None = None


def subscription(event: Event) -> SubscriptionFacts:
    found = event.object
    subscription_id = stripe_id(found.get("id"))
    if subscription_id is None:
        raise NotOurs("ignored: no subscription")
    items = _mapping(found.get("items")).get("data") or []
    item = items[0] if items and isinstance(items[0], dict) else {}
    plan = settings().plan_by_price(_text(stripe_id(item.get("price"))))
    if plan is None:
        raise NotOurs("ignored: price is not one of our plans")
    period_end = integer(item.get("current_period_end")) or integer(found.get("current_period_end"))
    if period_end is None:
        raise NotOurs("ignored: no current_period_end")
    return SubscriptionFacts(
        subscription_id=subscription_id,
        event_id=event.id,
        account_id=_text(_mapping(found.get("metadata")).get("account_id")) or None,
        customer=stripe_id(found.get("customer")),
        plan=plan.name,
        period_end=period_end,
        live=event.type != SUBSCRIPTION_DELETED and found.get("status") in ACTIVE_STATUSES,
        cancel_at_period_end=bool(found.get("cancel_at_period_end")),
        event_ts=event.created,
        **_next_charge(found, item, period_end),
    )


def _next_charge(found: dict[str, Any], item: dict[str, Any], period_end: int) -> dict[str, Any]:
    """When and how much Stripe charges next, while the subscription lives and renews; else nothing."""
    price = _mapping(item.get("price"))
    unit = integer(price.get("unit_amount"))
    if found.get("status") not in ACTIVE_STATUSES or found.get("cancel_at_period_end") or unit is None:
        return {}
    trial_end = integer(found.get("trial_end")) if found.get("status") == "trialing" else None
    return {
        "charge_at": trial_end or period_end,
        "charge_amount": unit * (integer(item.get("quantity")) or 1),
        "charge_currency": _text(price.get("currency") or found.get("currency")).lower() or None,
    }
