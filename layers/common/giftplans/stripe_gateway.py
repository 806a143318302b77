"""The only module that talks to Stripe (with `stripe_gateway_invoices`, its invoice reads).

`stripe` is imported inside the functions that need it, never at module top: most
functions never call Stripe and should not pay for the import on a cold start.

- The API key comes from `giftplans.secrets` (SSM SecureString when deployed).
- `STRIPE_API_BASE`, when set, points the client at another Stripe (the local stand-in
  of `make dev`, a stub in tests).
- Every request is built from the stripe library's own parameter types (`stripe.params`
  TypedDicts) and sent through its typed services, so mypy refuses a misspelt parameter
  or a value outside an enum before Stripe does.
- Stripe failures become domain errors: a refusal (bad request, auth, card, idempotency
  clash) is a `PaymentProviderError` (502); a network failure, rate limit or Stripe
  5xx is `UpstreamUnavailable` (503) and the client may retry.

Idempotency key of a gift checkout (`gift_checkout_idempotency_key`): SHA-256 over the buyer's
sub, the plan, the quantity and a *scope*: the client's `Idempotency-Key` header, else the
current UTC minute (a double click gets the same Session back; a purchase a minute later a new one).

Webhook signatures (`verify_webhook`): Stripe's own `WebhookSignature.verify_header` against the
wall clock, never the service's (Stripe signs with real time); a timestamp further in the future
than the tolerance is refused here as well (`verify_header` refuses only old ones).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from giftplans import clock, secrets
from giftplans.errors import PaymentProviderError, UpstreamUnavailable

if TYPE_CHECKING:
    import stripe as stripe_module
    from stripe.params import (
        CouponCreateParams,
        CustomerBalanceTransactionCreateParams,
        CustomerBalanceTransactionListParams,
        CustomerCreateParams,
        RefundCreateParams,
    )
    from stripe.params.billing_portal import SessionCreateParams as PortalSessionCreateParams
    from stripe.params.checkout import (
        SessionCreateParams,
        SessionCreateParamsLineItem,
        SessionCreateParamsSubscriptionData,
    )

    from giftplans.identity import Caller
    from giftplans.settings import Plan

DEFAULT_TOLERANCE_S = 300
UNAVAILABLE = (
    "The payment provider is not answering right now; nothing was charged. Please try again in a moment."
)
REFUSED = "The payment provider refused to start the checkout; nothing was charged."


class SignatureError(Exception):
    """The webhook's Stripe-Signature header is missing, malformed, wrong or stale."""


# ---- the client ---------------------------------------------------------------------------------------


def client() -> stripe_module.StripeClient:
    import stripe

    base = os.environ.get("STRIPE_API_BASE")
    return stripe.StripeClient(
        secrets.get("STRIPE_API_KEY"),
        base_addresses={"api": base.rstrip("/")} if base else None,
        max_network_retries=2,
    )


def _translate(error: Exception) -> Exception:
    """A Stripe exception as the domain error the caller should see."""
    import stripe

    if isinstance(error, (stripe.APIConnectionError, stripe.RateLimitError)):
        return UpstreamUnavailable(UNAVAILABLE, code="payment_provider_unavailable")
    if isinstance(error, stripe.StripeError) and (error.http_status or 0) >= 500:
        return UpstreamUnavailable(UNAVAILABLE, code="payment_provider_unavailable")
    return PaymentProviderError(REFUSED)


@contextmanager
def _refusals() -> Iterator[None]:
    """Stripe's failures as the domain errors the caller should see (see the module doc)."""
    import stripe

    try:
        yield
    except stripe.StripeError as error:
        raise _translate(error) from error


# ---- gift checkout ------------------------------------------------------------------------------------


def minute_scope() -> str:
    """The current UTC minute: requests in it are "the same" checkout (gift and renewal keys)."""
    return clock.now().strftime("%Y-%m-%dT%H:%MZ")


def gift_checkout_idempotency_key(buyer_sub: str, plan: str, quantity: int, scope: str | None) -> str:
    """Deterministic: the same buyer, plan, quantity and scope always give the same key (see module doc)."""
    scope = scope.strip() if scope and scope.strip() else minute_scope()
    material = json.dumps(["gift-checkout", buyer_sub, plan, quantity, scope[:200]])
    return "gift-" + hashlib.sha256(material.encode()).hexdigest()


def create_gift_checkout(buyer: Caller, plan: Plan, quantity: int, idempotency_key: str) -> tuple[str, str]:
    """A Stripe Checkout Session (payment mode, one line item) for `quantity` plans "For Others"."""
    from giftplans.settings import get as settings

    conf = settings()
    metadata = {
        "kind": "gift",
        "buyer_id": buyer.sub,
        "buyer_email": buyer.email or "",
        "plan": plan.name,
        "quantity": str(quantity),
        "buyer_locale": buyer.locale or "",
    }
    params: SessionCreateParams = {
        "mode": "payment",
        "line_items": [_one(plan.price_id, quantity)],
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata},
        "client_reference_id": buyer.sub,
        "success_url": conf.checkout_success_url,
        "cancel_url": conf.checkout_cancel_url,
        # SPEC 8.6: an invoice for every gift purchase; tax ids and Stripe Tax when configured.
        "invoice_creation": {
            "enabled": True,
            "invoice_data": {"metadata": {"kind": "gift", "buyer_id": buyer.sub}},
        },
    }
    if conf.collect_tax_ids:
        params["tax_id_collection"] = {"enabled": True}
    if conf.automatic_tax:
        params["automatic_tax"] = {"enabled": True}
    if buyer.email:
        params["customer_email"] = buyer.email
    return _create_session(params, idempotency_key)


# ---- webhooks -----------------------------------------------------------------------------------------


def _check_signature(payload: bytes, sig_header: str | None, secret: str, tolerance: int) -> None:
    """Stripe's own check (HMAC of `<t>.<body>`, not older than `tolerance`), plus: not from the future."""
    import stripe

    try:
        stripe.WebhookSignature.verify_header(payload, sig_header, secret, tolerance)
    except stripe.SignatureVerificationError as error:
        raise SignatureError(str(error).split(". ")[0] + ".") from error
    except UnicodeDecodeError as error:
        raise SignatureError("The signed body is not UTF-8 text.") from error
    timestamp = int(str(sig_header).split("t=", 1)[1].split(",", 1)[0])  # verify_header parsed it
    if timestamp > time.time() + tolerance:  # wall clock: Stripe signs with real time
        raise SignatureError("The Stripe-Signature timestamp is in the future.")


def verify_webhook(payload: bytes, sig_header: str | None) -> dict[str, Any]:
    """The verified event as a plain dict; `SignatureError` when the signature is bad or stale.

    Raises `ValueError` when the verified payload is not a JSON object.
    """
    from giftplans.settings import get as settings

    secret = secrets.get("STRIPE_WEBHOOK_SECRET")
    tolerance = settings().stripe_webhook_tolerance_s or DEFAULT_TOLERANCE_S
    _check_signature(payload, sig_header, secret, tolerance)
    event = json.loads(payload.decode("utf-8"))
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        raise ValueError("a Stripe event is a JSON object with a type")
    return event


# ---- room for other capabilities (upgrades: create_upgrade_checkout, create_coupon) ------------------


def _field(obj: Any, name: str) -> Any:
    """A field of a Stripe object (a StripeObject is not a dict: no `.get`)."""
    try:
        return obj[name]
    except (KeyError, TypeError):
        return None


def create_coupon(
    *,
    amount_off: int,
    currency: str,
    redeem_by: int,
    name: str,
    metadata: dict[str, str],
    idempotency_key: str,
) -> str:
    """A one-time coupon worth `amount_off` (an upgrade's credit): once, one redemption; returns its id."""
    params: CouponCreateParams = {
        "amount_off": amount_off,
        "currency": currency,
        "duration": "once",
        "max_redemptions": 1,
        "redeem_by": redeem_by,
        "name": name[:40],
        "metadata": metadata,
    }
    with _refusals():
        coupon = client().v1.coupons.create(params=params, options={"idempotency_key": idempotency_key})
    if not _field(coupon, "id"):
        raise PaymentProviderError("The payment provider did not return the upgrade's credit.")
    return str(_field(coupon, "id"))


def create_upgrade_checkout(
    *,
    account_id: str,
    email: str | None,
    price_id: str,
    coupon_id: str | None,
    metadata: dict[str, str],
    expires_at: int,
    idempotency_key: str,
) -> tuple[str, str]:
    """A Stripe Checkout Session (subscription mode) for the target plan's yearly price, minus the coupon.

    `subscription_data.metadata.account_id` lets `customer.subscription.*` events name the
    account even before the session's own completion event arrives.
    """
    from giftplans.settings import get as settings

    conf = settings()
    params: SessionCreateParams = {
        "mode": "subscription",
        "line_items": [_one(price_id, 1)],
        "metadata": metadata,
        "subscription_data": {
            "metadata": {
                "account_id": account_id,
                "kind": "upgrade",
                "purchase_id": metadata.get("purchase_id", ""),
                "seat_id": metadata.get("seat_id", ""),
            }
        },
        "client_reference_id": account_id,
        "success_url": conf.plan_success_url,
        "cancel_url": conf.plan_cancel_url,
        "expires_at": expires_at,
    }
    if coupon_id:
        params["discounts"] = [{"coupon": coupon_id}]
    if email:
        params["customer_email"] = email
    return _create_session(params, idempotency_key)


def create_renewal_checkout(
    *,
    account_id: str,
    email: str | None,
    price_id: str,
    metadata: dict[str, str],
    trial_end: int | None,
    idempotency_key: str,
) -> tuple[str, str]:
    """A Stripe Checkout Session (subscription mode, no coupon) renewing a gift at `price_id`.

    With `trial_end` (the gift's term end, at least 48 hours ahead) the subscription
    trials until then and billing starts when the gift ends; without it, billing starts now.
    """
    from giftplans.settings import get as settings

    conf = settings()
    subscription_data: SessionCreateParamsSubscriptionData = {
        "metadata": {"account_id": account_id, "kind": "renewal"}
    }
    if trial_end is not None:
        subscription_data["trial_end"] = trial_end
    params: SessionCreateParams = {
        "mode": "subscription",
        "line_items": [_one(price_id, 1)],
        "metadata": metadata,
        "subscription_data": subscription_data,
        "client_reference_id": account_id,
        "success_url": conf.plan_success_url,
        "cancel_url": conf.plan_cancel_url,
    }
    if email:
        params["customer_email"] = email
    return _create_session(params, idempotency_key)


def _found(fetch: Callable[[], Any], what: str, object_id: str) -> Any | None:
    """The object, or None (logged) on 404 `resource_missing`: not ours. 5xx/timeouts 503, else 502."""
    import stripe

    try:
        return fetch()
    except stripe.StripeError as error:
        if isinstance(error, stripe.InvalidRequestError) and error.code == "resource_missing":
            from giftplans.observability import logger

            logger.warning(f"Stripe has no such {what}: not ours", extra={"stripe_id": object_id})
            return None
        raise _translate(error) from error


def checkout_line_items(session_id: str) -> list[Any]:
    """A Checkout Session's line items (price and quantity), as Stripe charged them."""
    with _refusals():
        page = client().v1.checkout.sessions.line_items.list(session_id)
    return list(_field(page, "data") or [])


def charge_payment_intent(charge_id: str) -> str | None:
    """The payment intent of a charge (a dispute may name only its charge); None: no such charge."""
    charge = _found(lambda: client().v1.charges.retrieve(charge_id), "charge", charge_id)
    intent = _field(charge, "payment_intent") if charge is not None else None
    if intent is not None and not isinstance(intent, str):
        intent = _field(intent, "id")
    return str(intent) if intent else None


def payment_intent_kind(payment_intent_id: str) -> str:
    """`metadata.kind` of a payment intent ("gift" for ours, maybe not fulfilled yet); "" if none/not ours."""
    intents = client().v1.payment_intents
    intent = _found(lambda: intents.retrieve(payment_intent_id), "payment intent", payment_intent_id)
    kind = _field(_field(intent, "metadata"), "kind") if intent is not None else None
    return str(kind) if kind else ""


def _one(price_id: str, quantity: int) -> SessionCreateParamsLineItem:
    return {"price": price_id, "quantity": quantity}


def _create_session(params: SessionCreateParams, idempotency_key: str) -> tuple[str, str]:
    """Create one Checkout Session (every kind: gift, upgrade, renewal); its id and page URL."""
    with _refusals():
        session = client().v1.checkout.sessions.create(
            params=params, options={"idempotency_key": idempotency_key}
        )
    session_id, url = _field(session, "id"), _field(session, "url")
    if not session_id or not url:
        raise PaymentProviderError("The payment provider did not return a checkout page.")
    return str(session_id), str(url)


# ---- customers and their balance (SPEC 8.5: a gift accepted as a credit) -------------------------------


def create_customer(*, account_id: str, email: str | None, idempotency_key: str) -> str:
    """A Stripe customer for an account that has none; the key makes racing callers get the same one."""
    params: CustomerCreateParams = {"metadata": {"account_id": account_id}}
    if email:
        params["email"] = email
    with _refusals():
        customer = client().v1.customers.create(params=params, options={"idempotency_key": idempotency_key})
    if not _field(customer, "id"):
        raise PaymentProviderError("The payment provider did not return a customer.")
    return str(_field(customer, "id"))


def subscription_customer(subscription_id: str) -> str | None:
    """The customer a subscription bills (the account's own, for a credit to reach its invoices)."""
    with _refusals():
        subscription = client().v1.subscriptions.retrieve(subscription_id)
    customer = _field(subscription, "customer")
    if customer is not None and not isinstance(customer, str):
        customer = _field(customer, "id")
    return str(customer) if customer else None


def find_balance_credit(customer: str, credit_key: str) -> str | None:
    """A balance transaction made earlier with `metadata.credit_key` (a retry after Stripe forgot the key)."""
    params: CustomerBalanceTransactionListParams = {"limit": 100}
    with _refusals():
        page = client().v1.customers.balance_transactions.list(customer, params=params)
    for transaction in _field(page, "data") or []:
        if _field(_field(transaction, "metadata"), "credit_key") == credit_key:
            return str(_field(transaction, "id"))
    return None


def credit_balance(
    *,
    customer: str,
    amount: int,
    currency: str,
    description: str,
    metadata: dict[str, str],
    idempotency_key: str,
) -> str:
    """Add `amount` (minor units, > 0) to the customer's credit balance; Stripe applies it to next invoices.

    Stripe's balance is what the customer owes, so a credit is a negative amount.
    """
    params: CustomerBalanceTransactionCreateParams = {
        "amount": -amount,
        "currency": currency,
        "description": description[:350],
        "metadata": metadata,
    }
    with _refusals():
        transaction = client().v1.customers.balance_transactions.create(
            customer, params=params, options={"idempotency_key": idempotency_key}
        )
    if not _field(transaction, "id"):
        raise PaymentProviderError("The payment provider did not record the credit.")
    return str(_field(transaction, "id"))


# ---- refunds of one seat (SPEC 8.7) -------------------------------------------------------------------


def refund_seat(*, payment_intent: str, amount: int, metadata: dict[str, str], idempotency_key: str) -> str:
    """One refund of `amount` of the purchase's payment; the key is per seat, so a retry refunds once."""
    params: RefundCreateParams = {
        "payment_intent": payment_intent,
        "amount": amount,
        "reason": "requested_by_customer",
        "metadata": metadata,
    }
    with _refusals():
        refund = client().v1.refunds.create(params=params, options={"idempotency_key": idempotency_key})
    if not _field(refund, "id"):
        raise PaymentProviderError("The payment provider did not confirm the refund.")
    return str(_field(refund, "id"))


# ---- the customer portal (SPEC 8.8) ---------------------------------------------------------------------


def portal_url(*, customer: str, return_url: str) -> str:
    """A Stripe customer portal session's URL: cancel, payment method, invoices."""
    params: PortalSessionCreateParams = {"customer": customer, "return_url": return_url}
    with _refusals():
        session = client().v1.billing_portal.sessions.create(params=params)
    if not _field(session, "url"):
        raise PaymentProviderError("The payment provider did not open the customer portal.")
    return str(_field(session, "url"))


# invoices (SPEC 8.6): `giftplans.stripe_gateway_invoices`, the gateway's second module
