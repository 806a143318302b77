"""A gift purchase's invoice link when Stripe makes the invoice after the checkout (SPEC 8.6).

Fulfilment reads the hosted invoice page once, when the Checkout Session names an invoice
that Stripe has finalised. Stripe may make or finalise it later: `invoice.finalized` and
`invoice.paid` then bring the page (`on_invoice`). The purchase is found by the invoice's
payment (the `PAYMENT#` lookup), else among the buyer's newest purchases by the invoice id
the session recorded. The link is written only where the purchase has none, so a repeat
or a late `invoice.finalized` after `invoice.paid` changes nothing.

An invoice whose purchase is not recorded yet (its event outran `checkout.session.completed`)
answers 503: Stripe delivers it again, by when fulfilment has made the purchase.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from giftplans import audit
from giftplans.errors import DomainError
from giftplans.observability import logger
from giftplans.store import get_store
from giftplans.store import models as m
from giftplans.store.writes import Refused, Steps

if TYPE_CHECKING:  # the webhook reads Stripe; the functions that never do need not import it
    from giftplans.stripe_facts import GiftInvoice

RECENT = 25  # how many of the buyer's newest purchases an invoice is looked for among


class PurchaseNotRecorded(DomainError):
    """The invoice's purchase is not there yet: 503, Stripe retries."""

    status = 503
    code = "purchase_not_recorded"


def _paid_by(invoice_id: str) -> str | None:
    """The payment intent that paid the invoice: one Stripe read, through the gateway."""
    from giftplans import stripe_gateway_invoices

    try:
        return stripe_gateway_invoices.invoice_payment_intent(invoice_id)
    except DomainError:  # Stripe cannot say now: the purchase is not found, and Stripe delivers again
        logger.warning("invoice payments not read", extra={"invoice": invoice_id})
        return None


def _purchase_of(invoice: GiftInvoice) -> m.Purchase | None:
    """By the paying intent the event names; else by the invoice id the session recorded; else ask Stripe."""
    store = get_store()
    if invoice.payment_intent:
        return store.purchase_for_payment(invoice.payment_intent)
    if invoice.buyer_id:
        page, _ = store.buyer_purchases(invoice.buyer_id, RECENT, None)
        match = next((p for p in page if p.invoice_id == invoice.invoice_id), None)
        if match is not None:
            return store.purchase(match.purchase_id)
    intent = _paid_by(invoice.invoice_id)
    return store.purchase_for_payment(intent) if intent else None


def on_invoice(invoice: GiftInvoice) -> str:
    """Set the purchase's `invoice_url` (and `invoice_id`) once; idempotent, in any order."""
    url = invoice.url
    if not url:
        return "ignored: the invoice has no page yet"
    purchase = _purchase_of(invoice)
    if purchase is None:
        raise PurchaseNotRecorded(
            "The purchase this invoice belongs to is not recorded yet; Stripe will deliver it again."
        )
    if purchase.invoice_url:
        return f"unchanged {purchase.purchase_id}"
    p = m.Purchase

    def build(steps: Steps) -> None:
        steps.update(
            "purchase",
            purchase,
            [p.invoice_url.set(url), p.invoice_id.set(invoice.invoice_id), p.actor.set(audit.STRIPE)],
            condition=p.invoice_url.does_not_exist(),  # None is never stored: no link yet
        )

    try:
        get_store().write(build)
    except Refused:  # another delivery wrote it first
        return f"unchanged {purchase.purchase_id}"
    logger.info("invoice link recorded", extra={"purchase_id": purchase.purchase_id})
    return f"invoice {purchase.purchase_id}"
