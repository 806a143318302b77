"""The Stripe gateway's invoice reads (SPEC 8.6): part of the gateway, the only code that talks to Stripe.

Split from `giftplans.stripe_gateway` (which holds the client, its failure mapping and the
other requests) so that module stays under the layer's size limit; the same rules hold here:
requests built from `stripe.params` types, Stripe's failures as domain errors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from giftplans.stripe_gateway import _field, _refusals, client

if TYPE_CHECKING:
    from stripe.params import InvoiceRetrieveParams


def invoice_url(invoice_id: str) -> str | None:
    """The hosted page of an invoice (a gift checkout's, SPEC 8.6); None until Stripe finalises it."""
    with _refusals():
        invoice = client().v1.invoices.retrieve(invoice_id)
    url = _field(invoice, "hosted_invoice_url")
    return str(url) if url else None


def invoice_payment_intent(invoice_id: str) -> str | None:
    """The payment intent that paid the invoice, None if none did: one read (`payments` only when expanded).

    Stripe's failures raise as domain errors (`PaymentProviderError`, `UpstreamUnavailable`).
    """
    from giftplans.stripe_facts import stripe_id

    params: InvoiceRetrieveParams = {"expand": ["payments"]}
    with _refusals():
        found = client().v1.invoices.retrieve(invoice_id, params=params)
    payments = found.to_dict().get("payments") or {}
    for paid in payments.get("data") or []:
        intent = stripe_id((paid.get("payment") or {}).get("payment_intent"))
        if intent:
            return intent
    return None
