"""The fake Stripe's objects and rules, in memory, on a clock (like a Stripe test clock).

`Stripe` keeps Stripe-shaped objects (shaped after Stripe's own example objects in
`shared/data/stripe-openapi-fixtures3.json`, API version 2025-03-31.basil: billing periods
on subscription items, an invoice's subscription under `parent`) and applies Stripe's
rules to them. Every method that changes something returns the events Stripe would send,
in time order, each a full event envelope whose `created` is when it happened on the
clock; the caller delivers them (local.stripe_fake.webhooks).

Time: `now()` is the clock every rule reads (the service's clock locally, so `/_local/clock`
moves both). `advance(until)` does what a Stripe test clock does when it is moved: every
transition due by then, in time order: open Checkout Sessions expire at `expires_at`;
coupons stop being redeemable at `redeem_by`; `customer.subscription.trial_will_end` three
days before a trial ends; at a period's end a subscription renews on the calendar
(local.stripe_fake.periods), trialing -> active, with an invoice that the customer's
balance is applied to and that is paid (`invoice.created`, `customer.subscription.updated`,
`invoice.finalized`, `invoice.paid`), or it ends if it was set to cancel at period end
(`customer.subscription.deleted`).

Tax: with `automatic_tax[enabled]=true` a Checkout Session is taxed at LOCAL_TAX_RATE
(10 %, exclusive, rounded half up per line item): `total_details.amount_tax` and the
line items' `amount_tax` carry it. There is no address-based lookup locally.
"""

from __future__ import annotations

import copy
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from typing import Any

from local.stripe_fake import periods
from local.stripe_fake.errors import StripeError, no_such

API_VERSION = "2025-03-31.basil"
LOCAL_TAX_RATE = Decimal("0.10")
DAY_S = 24 * 3600
SESSION_DEFAULT_S = 24 * 3600
SESSION_MIN_S = 30 * 60
SESSION_MAX_S = 24 * 3600
TRIAL_MIN_S = 48 * 3600
TRIAL_WILL_END_S = 3 * DAY_S

Obj = dict[str, Any]


@dataclass(frozen=True)
class Price:
    """A Price the fake knows (the configured plans' prices, locally)."""

    id: str
    unit_amount: int
    currency: str
    recurring: bool
    interval: str = "year"  # when recurring
    product_name: str = ""

    def as_object(self, created: int) -> Obj:
        return {
            "id": self.id,
            "object": "price",
            "active": True,
            "billing_scheme": "per_unit",
            "created": created,
            "currency": self.currency,
            "custom_unit_amount": None,
            "livemode": False,
            "lookup_key": None,
            "metadata": {},
            "nickname": None,
            "product": "prod_" + self.id.removeprefix("price_"),
            "recurring": {
                "interval": self.interval,
                "interval_count": 1,
                "meter": None,
                "trial_period_days": None,
                "usage_type": "licensed",
            }
            if self.recurring
            else None,
            "tax_behavior": "unspecified",
            "tiers_mode": None,
            "transform_quantity": None,
            "type": "recurring" if self.recurring else "one_time",
            "unit_amount": self.unit_amount,
            "unit_amount_decimal": str(self.unit_amount),
        }


def random_ids(prefix: str) -> str:
    """`cs_test_...`, `pi_test_...`: an id of the kind Stripe gives, unique per process."""
    return f"{prefix}_test_{secrets.token_hex(12)}"


def _tax(amount: int, rate: Decimal) -> int:
    return int((Decimal(amount) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _list(data: list[Obj], url: str) -> Obj:
    return {"object": "list", "data": data, "has_more": False, "url": url}


# Fields Stripe's objects carry that the fake has nothing to say about: present, null (or empty), as
# in Stripe's own example objects, so that code reading them meets the real shape.
NULL_FIELDS = {
    "checkout.session": (
        "customer_account",
        "integration_identifier",
        "managed_payments",
        "origin_context",
        "permissions",
    ),
    "subscription": (
        "application_fee_percent",
        "billing_thresholds",
        "customer_account",
        "default_source",
        "managed_payments",
        "next_pending_invoice_item_invoice",
        "on_behalf_of",
        "pause_collection",
        "pending_invoice_item_interval",
        "pending_setup_intent",
        "transfer_data",
    ),
    "invoice": ("customer_account",),
    "customer_balance_transaction": ("customer_account",),
    "refund": ("customer_account", "payment_method"),
    "billing_portal.session": ("customer_account",),
    "payment_intent": (
        "application",
        "application_fee_amount",
        "automatic_payment_methods",
        "cancellation_reason",
        "client_secret",
        "customer_account",
        "last_payment_error",
        "managed_payments",
        "next_action",
        "on_behalf_of",
        "payment_method",
        "payment_method_configuration_details",
        "processing",
        "review",
        "setup_future_usage",
        "shipping",
        "source",
        "statement_descriptor",
        "statement_descriptor_suffix",
        "transfer_data",
        "transfer_group",
    ),
    "charge": (
        "application",
        "application_fee",
        "application_fee_amount",
        "calculated_statement_descriptor",
        "failure_balance_transaction",
        "failure_code",
        "failure_message",
        "on_behalf_of",
        "payment_method",
        "payment_method_details",
        "receipt_number",
        "receipt_url",
        "review",
        "shipping",
        "source",
        "source_transfer",
        "statement_descriptor",
        "statement_descriptor_suffix",
        "transfer_data",
        "transfer_group",
    ),
}
EMPTY_FIELDS: dict[str, dict[str, Any]] = {
    "subscription": {
        "billing_schedules": [],
        "default_tax_rates": [],
        "payment_settings": {
            "payment_method_options": None,
            "payment_method_types": None,
            "save_default_payment_method": "off",
        },
    },
    "payment_intent": {
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "capture_method": "automatic_async",
        "confirmation_method": "automatic",
        "excluded_payment_method_types": None,
        "payment_method_options": {},
    },
    "charge": {
        "fraud_details": {},
        "outcome": {
            "network_status": "approved_by_network",
            "reason": None,
            "risk_level": "normal",
            "seller_message": "Payment complete.",
            "type": "authorized",
        },
    },
}


class Stripe:
    """Stripe's objects in memory, with its rules and a clock. Thread-safe: one lock for all."""

    def __init__(
        self,
        *,
        base_url: str,
        now: Callable[[], int],
        prices: Callable[[str], Price | None],
        checkout_url: str | None = None,
        ids: Callable[[str], str] = random_ids,
        tax_rate: Decimal = LOCAL_TAX_RATE,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.checkout_url = checkout_url or f"{self.base_url}/_local/pay/"
        self.now = now
        self._prices = prices
        self._ids = ids
        self.tax_rate = tax_rate
        self.objects: dict[str, Obj] = {}
        self.extra: dict[str, dict[str, Any]] = {}  # what Stripe keeps about an object but does not show
        self.lock = threading.RLock()
        self._numbers = 0

    # ---- storage ----------------------------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        return self._ids(prefix)

    def get(self, kind: str, object_id: str, *, param: str = "id", status: int = 404) -> Obj:
        obj = self.objects.get(object_id)
        if obj is None or obj.get("object") != kind:
            error = no_such(kind, object_id, param)
            error.status = status
            raise error
        return obj

    def put(self, obj: Obj, **extra: Any) -> Obj:
        kind = str(obj.get("object"))
        for name in NULL_FIELDS.get(kind, ()):
            obj.setdefault(name, None)
        for name, value in EMPTY_FIELDS.get(kind, {}).items():
            obj.setdefault(name, copy.deepcopy(value))
        self.objects[obj["id"]] = obj
        if extra:
            self.extra.setdefault(obj["id"], {}).update(extra)
        return obj

    def all(self, kind: str) -> list[Obj]:
        return [o for o in self.objects.values() if o.get("object") == kind]

    def price(self, price_id: str, param: str) -> Price:
        price = self._prices(price_id)
        if price is None:
            raise StripeError(400, f"No such price: '{price_id}'", code="resource_missing", param=param)
        return price

    def event(self, kind: str, obj: Obj, at: int, previous: Obj | None = None) -> Obj:
        data: Obj = {"object": copy.deepcopy(obj)}
        if previous:
            data["previous_attributes"] = copy.deepcopy(previous)
        return {
            "id": self.new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": at,
            "data": data,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": kind,
        }

    # ---- customers ------------------------------------------------------------------------------

    def create_customer(self, params: Obj) -> Obj:
        now = self.now()
        customer = {
            "id": self.new_id("cus"),
            "object": "customer",
            "address": params.get("address"),
            "balance": int(params.get("balance") or 0),
            "created": now,
            "currency": None,
            "default_source": None,
            "delinquent": False,
            "description": params.get("description"),
            "discount": None,
            "email": params.get("email"),
            "invoice_prefix": secrets.token_hex(4).upper(),
            "invoice_settings": {
                "custom_fields": None,
                "default_payment_method": None,
                "footer": None,
                "rendering_options": None,
            },
            "livemode": False,
            "metadata": dict(params.get("metadata") or {}),
            "name": params.get("name"),
            "next_invoice_sequence": 1,
            "phone": params.get("phone"),
            "preferred_locales": list(params.get("preferred_locales") or []),
            "shipping": None,
            "tax_exempt": params.get("tax_exempt") or "none",
            "test_clock": None,
        }
        return self.put(customer)

    def update_customer(self, customer_id: str, params: Obj) -> Obj:
        customer = self.get("customer", customer_id)
        for key in ("email", "name", "description", "phone", "address", "tax_exempt"):
            if key in params:
                customer[key] = params[key] or None
        if "balance" in params:
            customer["balance"] = int(params["balance"])
        if "preferred_locales" in params:
            customer["preferred_locales"] = list(params["preferred_locales"] or [])
        _merge_metadata(customer, params.get("metadata"))
        return customer

    def create_balance_transaction(self, customer_id: str, params: Obj) -> Obj:
        customer = self.get("customer", customer_id)
        amount = int(params["amount"])
        currency = str(params["currency"]).lower()
        if customer["currency"] and customer["currency"] != currency:
            raise StripeError(
                400,
                f"The currency {currency} does not match the customer's currency {customer['currency']}.",
                param="currency",
            )
        if amount == 0:
            raise StripeError(
                400, "Amount must not be zero.", code="parameter_invalid_integer", param="amount"
            )
        return self._balance_transaction(customer, amount, currency, "adjustment", params)

    def _balance_transaction(
        self, customer: Obj, amount: int, currency: str, kind: str, params: Obj, invoice: str | None = None
    ) -> Obj:
        customer["currency"] = customer["currency"] or currency
        customer["balance"] = int(customer["balance"]) + amount
        transaction = {
            "id": self.new_id("cbtxn"),
            "object": "customer_balance_transaction",
            "amount": amount,
            "checkout_session": None,
            "created": self.now(),
            "credit_note": None,
            "currency": currency,
            "customer": customer["id"],
            "description": params.get("description"),
            "ending_balance": customer["balance"],
            "invoice": invoice,
            "livemode": False,
            "metadata": dict(params.get("metadata") or {}),
            "type": kind,
        }
        return self.put(transaction)

    def balance_transactions(self, customer_id: str) -> Obj:
        self.get("customer", customer_id)
        found = [t for t in self.all("customer_balance_transaction") if t["customer"] == customer_id]
        found.sort(key=lambda t: (t["created"], t["id"]), reverse=True)
        return _list(found, f"/v1/customers/{customer_id}/balance_transactions")

    # ---- coupons --------------------------------------------------------------------------------

    def create_coupon(self, params: Obj) -> Obj:
        now = self.now()
        amount_off = int(params["amount_off"]) if params.get("amount_off") not in (None, "") else None
        percent_off = float(params["percent_off"]) if params.get("percent_off") not in (None, "") else None
        if (amount_off is None) == (percent_off is None):
            raise StripeError(
                400, "You must pass exactly one of amount_off or percent_off.", param="amount_off"
            )
        if amount_off is not None and not params.get("currency"):
            raise StripeError(400, "You must pass currency when passing amount_off.", param="currency")
        redeem_by = int(params["redeem_by"]) if params.get("redeem_by") not in (None, "") else None
        if redeem_by is not None and redeem_by <= now:
            raise StripeError(
                400, "Invalid timestamp: must be an integer Unix timestamp in the future.", param="redeem_by"
            )
        coupon_id = str(params.get("id") or self.new_id("coupon"))
        if coupon_id in self.objects:
            raise StripeError(400, "Coupon already exists.", code="resource_already_exists", param="id")
        coupon = {
            "id": coupon_id,
            "object": "coupon",
            "amount_off": amount_off,
            "created": now,
            "currency": str(params["currency"]).lower() if params.get("currency") else None,
            "duration": params.get("duration") or "once",
            "duration_in_months": int(params["duration_in_months"])
            if params.get("duration_in_months")
            else None,
            "livemode": False,
            "max_redemptions": int(params["max_redemptions"]) if params.get("max_redemptions") else None,
            "metadata": dict(params.get("metadata") or {}),
            "name": params.get("name"),
            "percent_off": percent_off,
            "redeem_by": redeem_by,
            "times_redeemed": 0,
            "valid": True,
        }
        return self.put(coupon)

    def _redeemable(self, coupon_id: str, param: str) -> Obj:
        coupon = self.get("coupon", coupon_id, param=param, status=400)
        if not coupon["valid"] or (coupon["redeem_by"] is not None and coupon["redeem_by"] <= self.now()):
            coupon["valid"] = False
            raise StripeError(400, "This coupon has expired.", code="coupon_expired", param=param)
        return coupon

    def _redeem(self, coupon: Obj) -> None:
        coupon["times_redeemed"] += 1
        if coupon["max_redemptions"] is not None and coupon["times_redeemed"] >= coupon["max_redemptions"]:
            coupon["valid"] = False

    # ---- Checkout Sessions -------------------------------------------------------------------------

    def create_session(self, params: Obj) -> Obj:
        now = self.now()
        mode = params.get("mode")
        if not mode:
            raise StripeError(400, "Missing required param: mode.", code="parameter_missing", param="mode")
        items = params.get("line_items") or []
        if mode in ("payment", "subscription") and not items:
            raise StripeError(
                400, "Missing required param: line_items.", code="parameter_missing", param="line_items"
            )
        if params.get("customer") and params.get("customer_email"):
            raise StripeError(
                400,
                "You may only specify one of these parameters: customer, customer_email.",
                code="parameters_exclusive",
                param="customer",
            )
        customer = (
            self.get("customer", str(params["customer"]), param="customer", status=400)
            if params.get("customer")
            else None
        )
        expires_at = self._expires_at(params, now)
        lines, currency = self._line_items(mode, items, now)
        subtotal = sum(int(li["amount_subtotal"]) for li in lines)
        discount, applied = self._discounts(params.get("discounts") or [], subtotal, currency)
        if discount and params.get("allow_promotion_codes") == "true":
            raise StripeError(
                400,
                "You may only specify one of these parameters: allow_promotion_codes, discounts.",
                code="parameters_exclusive",
                param="discounts",
            )
        _spread(lines, "amount_discount", discount)
        automatic_tax = (params.get("automatic_tax") or {}).get("enabled") == "true"
        for li in lines:
            li["amount_tax"] = (
                _tax(li["amount_subtotal"] - li["amount_discount"], self.tax_rate) if automatic_tax else 0
            )
            li["amount_total"] = li["amount_subtotal"] - li["amount_discount"] + li["amount_tax"]
        tax = sum(li["amount_tax"] for li in lines)
        subscription_data = params.get("subscription_data") or {}
        trial_end = self._trial_end(mode, subscription_data, now)
        invoice_creation = params.get("invoice_creation") or {}
        if invoice_creation and mode != "payment":
            raise StripeError(
                400, "invoice_creation can only be used in payment mode.", param="invoice_creation"
            )
        session_id = self.new_id("cs")
        email = params.get("customer_email") or (customer or {}).get("email")
        tax_ids = (params.get("tax_id_collection") or {}).get("enabled") == "true"
        session: Obj = {
            "id": session_id,
            "object": "checkout.session",
            "adaptive_pricing": None,
            "after_expiration": None,
            "allow_promotion_codes": params.get("allow_promotion_codes") == "true" or None,
            "amount_subtotal": subtotal,
            "amount_total": subtotal - discount + tax,
            "automatic_tax": {
                "enabled": automatic_tax,
                "liability": {"type": "self"} if automatic_tax else None,
                "provider": "stripe" if automatic_tax else None,
                "status": "complete" if automatic_tax else None,
            },
            "billing_address_collection": params.get("billing_address_collection"),
            "cancel_url": params.get("cancel_url"),
            "client_reference_id": params.get("client_reference_id"),
            "client_secret": None,
            "collected_information": None,
            "consent": None,
            "consent_collection": None,
            "created": now,
            "currency": currency,
            "currency_conversion": None,
            "custom_fields": [],
            "custom_text": {
                "after_submit": None,
                "shipping_address": None,
                "submit": None,
                "terms_of_service_acceptance": None,
            },
            "customer": customer["id"] if customer else None,
            "customer_creation": None
            if customer or mode == "subscription"
            else (params.get("customer_creation") or "if_required"),
            "customer_details": None,
            "customer_email": params.get("customer_email"),
            "discounts": applied,
            "expires_at": expires_at,
            "invoice": None,
            "invoice_creation": {
                "enabled": invoice_creation.get("enabled") == "true",
                "invoice_data": {
                    "account_tax_ids": None,
                    "custom_fields": None,
                    "description": (invoice_creation.get("invoice_data") or {}).get("description"),
                    "footer": (invoice_creation.get("invoice_data") or {}).get("footer"),
                    "issuer": None,
                    "metadata": dict((invoice_creation.get("invoice_data") or {}).get("metadata") or {}),
                    "rendering_options": None,
                },
            }
            if mode == "payment"
            else None,
            "livemode": False,
            "locale": params.get("locale"),
            "metadata": dict(params.get("metadata") or {}),
            "mode": mode,
            "payment_intent": None,  # created when the customer pays, as in Stripe since 2022-08-01
            "payment_link": None,
            "payment_method_collection": "if_required" if mode == "subscription" else None,
            "payment_method_configuration_details": None,
            "payment_method_options": {},
            "payment_method_types": list(params.get("payment_method_types") or ["card"]),
            "payment_status": "unpaid",
            "phone_number_collection": {"enabled": False},
            "recovered_from": None,
            "saved_payment_method_options": None,
            "setup_intent": None,
            "shipping_address_collection": None,
            "shipping_cost": None,
            "shipping_options": [],
            "status": "open",
            "submit_type": params.get("submit_type"),
            "subscription": None,
            "success_url": params.get("success_url"),
            "tax_id_collection": {"enabled": tax_ids, "required": "never"},
            "total_details": {"amount_discount": discount, "amount_shipping": 0, "amount_tax": tax},
            "ui_mode": params.get("ui_mode") or "hosted",
            "url": f"{self.checkout_url}{session_id}",
            "wallet_options": None,
        }
        if email:
            session["customer_details"] = {
                "address": None,
                "email": email,
                "name": (customer or {}).get("name"),
                "phone": None,
                "tax_exempt": "none",
                "tax_ids": [],
            }
        return self.put(
            session,
            line_items=lines,
            payment_intent_data=copy.deepcopy(params.get("payment_intent_data") or {}),
            subscription_data={**copy.deepcopy(subscription_data), "trial_end": trial_end},
            coupons=[a["coupon"] for a in applied],
        )

    def _expires_at(self, params: Obj, now: int) -> int:
        if params.get("expires_at") in (None, ""):
            return now + SESSION_DEFAULT_S
        expires_at = int(params["expires_at"])
        if expires_at < now + SESSION_MIN_S - 60:  # Stripe allows for a little clock skew
            raise StripeError(
                400,
                "The `expires_at` timestamp must be at least 30 minutes from Checkout Session creation.",
                param="expires_at",
            )
        if expires_at > now + SESSION_MAX_S:
            raise StripeError(
                400,
                "The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.",
                param="expires_at",
            )
        return expires_at

    def _line_items(self, mode: str, items: list[Obj], now: int) -> tuple[list[Obj], str | None]:
        lines: list[Obj] = []
        currency: str | None = None
        recurring = False
        for index, item in enumerate(items):
            param = f"line_items[{index}]"
            if not item.get("price"):
                raise StripeError(
                    400,
                    "The local Stripe prices line items from configured Prices: pass `price`.",
                    code="parameter_missing",
                    param=f"{param}[price]",
                )
            price = self.price(str(item["price"]), f"{param}[price]")
            quantity = int(item.get("quantity") or 1)
            if quantity < 1:
                raise StripeError(
                    400,
                    "Quantity must be at least 1.",
                    code="parameter_invalid_integer",
                    param=f"{param}[quantity]",
                )
            if currency and price.currency != currency:
                raise StripeError(400, "All line items must use the same currency.", param=f"{param}[price]")
            currency = price.currency
            recurring = recurring or price.recurring
            if mode == "payment" and price.recurring:
                raise StripeError(
                    400,
                    "You specified `payment` mode but passed a recurring price. Either switch to "
                    "`subscription` mode or use only one-time prices.",
                    param=f"{param}[price]",
                )
            amount = price.unit_amount * quantity
            lines.append(
                {
                    "id": self.new_id("li"),
                    "object": "item",
                    "adjustable_quantity": None,
                    "amount_discount": 0,
                    "amount_subtotal": amount,
                    "amount_tax": 0,
                    "amount_total": amount,
                    "currency": price.currency,
                    "description": price.product_name or price.id,
                    "metadata": {},
                    "price": price.as_object(now),
                    "quantity": quantity,
                }
            )
        if mode == "subscription" and not recurring:
            raise StripeError(
                400,
                "You must provide at least one recurring price in `subscription` mode when using prices.",
                param="line_items",
            )
        return lines, currency

    def _discounts(self, discounts: list[Obj], subtotal: int, currency: str | None) -> tuple[int, list[Obj]]:
        total, applied = 0, []
        for index, entry in enumerate(discounts):
            param = f"discounts[{index}][coupon]"
            if not entry.get("coupon"):
                raise StripeError(400, "The local Stripe applies coupons only: pass `coupon`.", param=param)
            coupon = self._redeemable(str(entry["coupon"]), param)
            if coupon["amount_off"] is not None:
                if coupon["currency"] != currency:
                    raise StripeError(
                        400, f"The coupon's currency {coupon['currency']} is not the session's.", param=param
                    )
                off = int(coupon["amount_off"])
            else:
                off = int(
                    (Decimal(subtotal) * Decimal(str(coupon["percent_off"])) / 100).quantize(
                        Decimal(1), rounding=ROUND_HALF_UP
                    )
                )
            total += off
            applied.append({"coupon": coupon["id"], "promotion_code": None})
        return min(total, subtotal), applied

    def _trial_end(self, mode: str, data: Obj, now: int) -> int | None:
        """Stripe's rule: `subscription_data.trial_end` in subscription mode, at least 48 hours ahead."""
        if data.get("trial_end") in (None, ""):
            return None
        param = "subscription_data[trial_end]"
        trial_end = int(data["trial_end"])
        if mode != "subscription":
            raise StripeError(400, "trial_end can only be used in subscription mode.", param=param)
        if trial_end < now + TRIAL_MIN_S:
            raise StripeError(400, "trial_end must be at least 48 hours in the future.", param=param)
        return trial_end

    def session(self, session_id: str) -> Obj:
        return self.get("checkout.session", session_id)

    def line_items(self, session_id: str) -> Obj:
        self.session(session_id)
        return _list(
            copy.deepcopy(self.extra[session_id]["line_items"]),
            f"/v1/checkout/sessions/{session_id}/line_items",
        )

    def expire_session(self, session_id: str) -> tuple[Obj, list[Obj]]:
        session = self.session(session_id)
        if session["status"] != "open":
            raise StripeError(
                400,
                f'Only Checkout Sessions with a status in ["open"] can be expired. '
                f'This session has a status of "{session["status"]}".',
            )
        return session, self._expire(session, self.now())

    def _expire(self, session: Obj, at: int) -> list[Obj]:
        session["status"] = "expired"
        session["url"] = None
        return [self.event("checkout.session.expired", session, at)]

    def open_session(self, session_id: str) -> Obj:
        """The session a customer is paying for: refused as the Checkout page refuses when it is closed."""
        session = self.session(session_id)
        if session["status"] == "expired" or (
            session["status"] == "open" and session["expires_at"] <= self.now()
        ):
            raise StripeError(
                400,
                "This Checkout Session has expired: it can no longer be paid.",
                code="checkout_session_expired",
            )
        return session

    def complete(self, session_id: str, payment_status: str = "paid") -> list[Obj]:
        """The customer pays (or starts a delayed payment) on the Checkout page; the events Stripe sends."""
        if payment_status not in ("paid", "unpaid"):
            raise StripeError(400, "payment_status is 'paid' or 'unpaid'.", param="payment_status")
        session = self.open_session(session_id)
        extra = self.extra[session_id]
        if session["status"] == "complete":
            return [extra["completed_event"]]  # Stripe delivering the same event again
        if session["mode"] == "subscription" and payment_status != "paid":
            raise StripeError(
                400, "A subscription checkout is paid by card: payment_status 'paid'.", param="payment_status"
            )
        coupons = [self._redeemable(c, "discounts") for c in extra["coupons"]]
        now = self.now()
        for coupon in coupons:
            self._redeem(coupon)
        session["status"] = "complete"
        session["url"] = None
        events: list[Obj] = []
        if session["mode"] == "payment":
            customer = None
            if session["customer"]:
                customer = self.get("customer", session["customer"])
            elif session["customer_creation"] == "always" or session["invoice_creation"]["enabled"]:
                customer = self.create_customer({"email": (session["customer_details"] or {}).get("email")})
                session["customer"] = customer["id"]
            intent = self._payment_intent(session, extra, now, paid=payment_status == "paid")
            session["payment_intent"] = intent["id"]
            session["payment_status"] = payment_status
            if payment_status == "paid":
                self._paid(session, intent, now)
            event = self.event("checkout.session.completed", session, now)
            events += [event, *self._invoice_events(session, now)]
        else:
            subscription, invoice = self._subscribe(session, extra, now)
            session["payment_status"] = (
                "no_payment_required" if subscription["status"] == "trialing" else "paid"
            )
            event = self.event("checkout.session.completed", session, now)
            events += [
                event,
                self.event("customer.subscription.created", subscription, now),
                self.event("invoice.paid", invoice, now),
            ]
        extra["completed_event"] = event
        return events

    def settle(self, session_id: str, succeeded: bool) -> list[Obj]:
        """A delayed payment (bank transfer) of a completed, unpaid session succeeds or fails."""
        session = self.session(session_id)
        if session["status"] != "complete" or session["payment_status"] != "unpaid":
            raise StripeError(
                409,
                "Only a completed, unpaid session has an async payment to settle: "
                "complete it with payment_status 'unpaid' first.",
                code="no_pending_payment",
            )
        now = self.now()
        intent = self.get("payment_intent", session["payment_intent"])
        if succeeded:
            intent["status"] = "succeeded"
            session["payment_status"] = "paid"
            self._paid(session, intent, now)
            succeeded_event = self.event("checkout.session.async_payment_succeeded", session, now)
            return [succeeded_event, *self._invoice_events(session, now)]
        intent["status"] = "requires_payment_method"
        return [self.event("checkout.session.async_payment_failed", session, now)]

    def _payment_intent(self, session: Obj, extra: dict[str, Any], now: int, *, paid: bool) -> Obj:
        metadata = dict(extra["payment_intent_data"].get("metadata") or {})
        intent = {
            "id": self.new_id("pi"),
            "object": "payment_intent",
            "amount": session["amount_total"],
            "amount_received": session["amount_total"] if paid else 0,
            "canceled_at": None,
            "created": now,
            "currency": session["currency"],
            "customer": session["customer"],
            "description": extra["payment_intent_data"].get("description"),
            "latest_charge": None,
            "livemode": False,
            "metadata": metadata,
            "payment_method_types": list(session["payment_method_types"]),
            "receipt_email": (session["customer_details"] or {}).get("email"),
            "status": "succeeded" if paid else "processing",
        }
        return self.put(intent)

    def _paid(self, session: Obj, intent: Obj, now: int) -> None:
        """A payment-mode session's money arrived: the charge, and the invoice it asked for."""
        intent["amount_received"] = intent["amount"]
        email = (session["customer_details"] or {}).get("email")
        charge = {
            "id": self.new_id("ch"),
            "object": "charge",
            "amount": intent["amount"],
            "amount_captured": intent["amount"],
            "amount_refunded": 0,
            "balance_transaction": self.new_id("txn"),
            "billing_details": {"address": None, "email": email, "name": None, "phone": None},
            "captured": True,
            "created": now,
            "currency": intent["currency"],
            "customer": session["customer"],
            "description": None,
            "disputed": False,
            "livemode": False,
            "metadata": dict(intent["metadata"]),
            "paid": True,
            "payment_intent": intent["id"],
            "receipt_email": email,
            "refunded": False,
            "refunds": _list([], ""),
            "status": "succeeded",
        }
        charge["refunds"]["url"] = f"/v1/charges/{charge['id']}/refunds"
        self.put(charge)
        intent["latest_charge"] = charge["id"]
        if session["invoice_creation"]["enabled"]:
            lines = self.extra[session["id"]]["line_items"]
            invoice = self._invoice(
                customer=self.get("customer", session["customer"]),
                lines=lines,
                billing_reason="manual",
                period=(now, now),
                at=now,
                subscription=None,
                metadata=session["invoice_creation"]["invoice_data"]["metadata"],
                apply_balance=False,
            )
            session["invoice"] = invoice["id"]
            self.extra.setdefault(invoice["id"], {})["payment_intent"] = intent["id"]

    def invoice_payments(self, invoice: Obj) -> Obj:
        """An invoice's `payments` (Stripe includes them only when asked: `expand[]=payments`)."""
        paid = [intent for intent in [self.extra.get(invoice["id"], {}).get("payment_intent")] if intent]
        payments = [
            {
                "id": f"inpay_{invoice['id'][3:]}",
                "object": "invoice_payment",
                "amount_paid": invoice["amount_paid"],
                "amount_requested": invoice["amount_due"],
                "created": invoice["created"],
                "currency": invoice["currency"],
                "invoice": invoice["id"],
                "is_default": True,
                "livemode": False,
                "payment": {"type": "payment_intent", "payment_intent": intent},
                "status": "paid",
            }
            for intent in paid
        ]
        return _list(payments, f"/v1/invoice_payments?invoice={invoice['id']}")

    def _invoice_events(self, session: Obj, now: int) -> list[Obj]:
        """A paid payment-mode session's invoice (`invoice_creation`): Stripe finalises it, then marks it
        paid, each with its event after the session's."""
        if session["mode"] != "payment" or not session["invoice"]:
            return []
        invoice = self.get("invoice", session["invoice"])
        return [self.event("invoice.finalized", invoice, now), self.event("invoice.paid", invoice, now)]

    # ---- subscriptions and invoices ------------------------------------------------------------

    def _subscribe(self, session: Obj, extra: dict[str, Any], now: int) -> tuple[Obj, Obj]:
        if session["customer"]:
            customer = self.get("customer", session["customer"])
        else:
            customer = self.create_customer({"email": (session["customer_details"] or {}).get("email")})
            session["customer"] = customer["id"]
        data = extra["subscription_data"]
        trial_end = data.get("trial_end")
        lines = extra["line_items"]
        interval = next(li["price"]["recurring"]["interval"] for li in lines if li["price"]["recurring"])
        anchor = int(trial_end) if trial_end else now
        period_end = anchor if trial_end else periods.add(anchor, interval)
        subscription_id = self.new_id("sub")
        items = [
            {
                "id": self.new_id("si"),
                "object": "subscription_item",
                "created": now,
                "current_period_end": period_end,
                "current_period_start": now,
                "discounts": [],
                "metadata": {},
                "price": copy.deepcopy(li["price"]),
                "quantity": li["quantity"],
                "subscription": subscription_id,
                "tax_rates": [],
            }
            for li in lines
        ]
        subscription = {
            "id": subscription_id,
            "object": "subscription",
            "application": None,
            "automatic_tax": {
                "disabled_reason": None,
                "enabled": session["automatic_tax"]["enabled"],
                "liability": None,
            },
            "billing_cycle_anchor": anchor,
            "billing_cycle_anchor_config": None,
            "billing_mode": {"type": "classic"},
            "cancel_at": None,
            "cancel_at_period_end": False,
            "canceled_at": None,
            "cancellation_details": {"comment": None, "feedback": None, "reason": None},
            "collection_method": "charge_automatically",
            "created": now,
            "currency": session["currency"],
            "customer": customer["id"],
            "days_until_due": None,
            "default_payment_method": None,
            "description": data.get("description"),
            "discounts": [],
            "ended_at": None,
            "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
            "items": _list(items, f"/v1/subscription_items?subscription={subscription_id}"),
            "latest_invoice": None,
            "livemode": False,
            "metadata": dict(data.get("metadata") or session["metadata"]),
            "pending_update": None,
            "schedule": None,
            "start_date": now,
            "status": "trialing" if trial_end else "active",
            "test_clock": None,
            "trial_end": int(trial_end) if trial_end else None,
            "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
            "trial_start": now if trial_end else None,
        }
        self.put(
            subscription,
            interval=interval,
            anchor=anchor,
            period=0 if trial_end else 1,  # the current period ends `period` intervals after the anchor
            trial_warned=False,
            tax=subscription["automatic_tax"]["enabled"],
        )
        if trial_end:
            invoice_lines = [
                {**li, "amount_subtotal": 0, "amount_discount": 0, "amount_tax": 0, "amount_total": 0}
                for li in lines
            ]
        else:
            invoice_lines = lines
        invoice = self._invoice(
            customer=customer,
            lines=invoice_lines,
            billing_reason="subscription_create",
            period=(now, now),
            at=now,
            subscription=subscription,
            metadata={},
            apply_balance=True,
        )
        subscription["latest_invoice"] = invoice["id"]
        session["subscription"] = subscription["id"]
        session["invoice"] = invoice["id"]
        return subscription, invoice

    def _invoice(
        self,
        *,
        customer: Obj,
        lines: Iterable[Obj],
        billing_reason: str,
        period: tuple[int, int],
        at: int,
        subscription: Obj | None,
        metadata: dict[str, Any],
        apply_balance: bool,
    ) -> Obj:
        lines = list(lines)
        invoice_id = self.new_id("in")
        subtotal = sum(int(li["amount_subtotal"]) for li in lines)
        discount = sum(int(li["amount_discount"]) for li in lines)
        tax = sum(int(li["amount_tax"]) for li in lines)
        total = subtotal - discount + tax
        currency = lines[0]["currency"] if lines else customer.get("currency") or "usd"
        starting = int(customer["balance"])
        applied = (
            max(starting, -total) if apply_balance and starting < 0 else 0
        )  # a credit (negative) pays first
        self._numbers += 1
        invoice = {
            "id": invoice_id,
            "object": "invoice",
            "account_country": "US",
            "account_name": "Gift plans (local Stripe)",
            "account_tax_ids": None,
            "amount_due": total + applied,
            "amount_overpaid": 0,
            "amount_paid": total + applied,
            "amount_remaining": 0,
            "amount_shipping": 0,
            "application": None,
            "attempt_count": 1 if total + applied else 0,
            "attempted": bool(total + applied),
            "auto_advance": False,
            "automatic_tax": {
                "disabled_reason": None,
                "enabled": bool(tax),
                "liability": None,
                "provider": None,
                "status": "complete" if tax else None,
            },
            "automatically_finalizes_at": None,
            "billing_reason": billing_reason,
            "collection_method": "charge_automatically",
            "created": at,
            "currency": currency,
            "custom_fields": None,
            "customer": customer["id"],
            "customer_address": customer.get("address"),
            "customer_email": customer.get("email"),
            "customer_name": customer.get("name"),
            "customer_phone": customer.get("phone"),
            "customer_shipping": None,
            "customer_tax_exempt": customer.get("tax_exempt") or "none",
            "customer_tax_ids": [],
            "default_payment_method": None,
            "default_source": None,
            "default_tax_rates": [],
            "description": None,
            "discounts": [],
            "due_date": None,
            "effective_at": at,
            "ending_balance": starting - applied,
            "footer": None,
            "from_invoice": None,
            "hosted_invoice_url": f"{self.base_url}/_local/invoices/{invoice_id}",
            "invoice_pdf": f"{self.base_url}/_local/invoices/{invoice_id}/pdf",
            "issuer": {"type": "self"},
            "last_finalization_error": None,
            "latest_revision": None,
            "lines": _list(
                [
                    {
                        "id": self.new_id("il"),
                        "object": "line_item",
                        "amount": int(li["amount_subtotal"]),
                        "currency": li["currency"],
                        "description": f"{li['quantity']} x {li['description']}",
                        "discount_amounts": [],
                        "discountable": True,
                        "discounts": [],
                        "invoice": invoice_id,
                        "livemode": False,
                        "metadata": {},
                        "parent": None,
                        "period": {"end": period[1], "start": period[0]},
                        "pricing": {
                            "price_details": {"price": li["price"]["id"], "product": li["price"]["product"]},
                            "type": "price_details",
                            "unit_amount_decimal": li["price"]["unit_amount_decimal"],
                        },
                        "quantity": li["quantity"],
                        "subtotal": int(li["amount_subtotal"]),
                        "taxes": [],
                    }
                    for li in lines
                ],
                f"/v1/invoices/{invoice_id}/lines",
            ),
            "livemode": False,
            "metadata": dict(metadata),
            "next_payment_attempt": None,
            "number": f"{customer['invoice_prefix']}-{self._numbers:04d}",
            "on_behalf_of": None,
            "parent": {
                "quote_details": None,
                "subscription_details": {
                    "metadata": dict(subscription["metadata"]),
                    "subscription": subscription["id"],
                },
                "type": "subscription_details",
            }
            if subscription
            else None,
            "payment_settings": {
                "default_mandate": None,
                "payment_method_options": None,
                "payment_method_types": None,
            },
            "period_end": period[1],
            "period_start": period[0],
            "post_payment_credit_notes_amount": 0,
            "pre_payment_credit_notes_amount": 0,
            "receipt_number": None,
            "rendering": None,
            "shipping_cost": None,
            "shipping_details": None,
            "starting_balance": starting,
            "statement_descriptor": None,
            "status": "paid",
            "subscription": subscription["id"] if subscription else None,
            "status_transitions": {
                "finalized_at": at,
                "marked_uncollectible_at": None,
                "paid_at": at,
                "voided_at": None,
            },
            "subtotal": subtotal,
            "subtotal_excluding_tax": subtotal,
            "test_clock": None,
            "total": total,
            "total_discount_amounts": [{"amount": discount, "discount": "di_local"}] if discount else [],
            "total_excluding_tax": subtotal - discount,
            "total_pretax_credit_amounts": [],
            "total_taxes": [
                {
                    "amount": tax,
                    "tax_behavior": "exclusive",
                    "tax_rate_details": None,
                    "taxability_reason": "standard_rated",
                    "taxable_amount": subtotal - discount,
                    "type": "tax_rate_details",
                }
            ]
            if tax
            else [],
            "webhooks_delivered_at": at,
        }
        if applied:
            self._balance_transaction(
                customer, -applied, currency, "applied_to_invoice", {}, invoice=invoice_id
            )
        return self.put(invoice)

    def update_subscription(self, subscription_id: str, params: Obj) -> tuple[Obj, list[Obj]]:
        subscription = self.get("subscription", subscription_id)
        supported = {"cancel_at_period_end", "metadata", "expand"}
        for key in params:
            if key not in supported:
                raise StripeError(
                    400,
                    f"The local Stripe does not change `{key}` of a subscription (it changes "
                    "cancel_at_period_end and metadata).",
                    param=key,
                )
        if subscription["status"] == "canceled":
            raise StripeError(
                400,
                "A canceled subscription can only update its cancellation_details and metadata.",
                param=next(iter(params), None),
            )
        previous: Obj = {}
        if "cancel_at_period_end" in params:
            wanted = params["cancel_at_period_end"] == "true"
            if wanted != subscription["cancel_at_period_end"]:
                previous["cancel_at_period_end"] = subscription["cancel_at_period_end"]
                previous["cancel_at"] = subscription["cancel_at"]
                previous["canceled_at"] = subscription["canceled_at"]
                subscription["cancel_at_period_end"] = wanted
                end = subscription["items"]["data"][0]["current_period_end"]
                subscription["cancel_at"] = end if wanted else None
                subscription["canceled_at"] = self.now() if wanted else None
        if params.get("metadata") is not None:
            previous["metadata"] = copy.deepcopy(subscription["metadata"])
            _merge_metadata(subscription, params.get("metadata"))
        events = (
            [self.event("customer.subscription.updated", subscription, self.now(), previous)]
            if previous
            else []
        )
        return subscription, events

    def cancel_subscription(self, subscription_id: str) -> tuple[Obj, list[Obj]]:
        subscription = self.get("subscription", subscription_id)
        if subscription["status"] == "canceled":
            raise StripeError(
                400,
                f"This subscription has already been canceled: {subscription_id}.",
                param="id",
            )
        now = self.now()
        subscription.update({"status": "canceled", "canceled_at": now, "ended_at": now})
        return subscription, [self.event("customer.subscription.deleted", subscription, now)]

    # ---- refunds --------------------------------------------------------------------------------

    def create_refund(self, params: Obj) -> tuple[Obj, list[Obj]]:
        if params.get("charge"):
            charge = self.get("charge", str(params["charge"]), param="charge", status=400)
        elif params.get("payment_intent"):
            intent = self.get(
                "payment_intent", str(params["payment_intent"]), param="payment_intent", status=400
            )
            if not intent["latest_charge"]:
                raise StripeError(
                    400,
                    f"This PaymentIntent ({intent['id']}) does not have a successful charge to refund.",
                    param="payment_intent",
                )
            charge = self.get("charge", intent["latest_charge"])
        else:
            raise StripeError(
                400,
                "One of `charge` or `payment_intent` is required.",
                code="parameter_missing",
                param="charge",
            )
        remaining = int(charge["amount"]) - int(charge["amount_refunded"])
        if remaining <= 0:
            raise StripeError(
                400, f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded"
            )
        amount = int(params["amount"]) if params.get("amount") not in (None, "") else remaining
        if amount <= 0 or amount > remaining:
            raise StripeError(
                400,
                f"Refund amount ({_money(amount, charge['currency'])}) is greater than unrefunded amount "
                f"on charge ({_money(remaining, charge['currency'])})",
                code="amount_too_large",
                param="amount",
            )
        now = self.now()
        refund = {
            "id": self.new_id("re"),
            "object": "refund",
            "amount": amount,
            "balance_transaction": self.new_id("txn"),
            "charge": charge["id"],
            "created": now,
            "currency": charge["currency"],
            "destination_details": {
                "card": {"reference_status": "pending", "type": "refund"},
                "type": "card",
            },
            "metadata": dict(params.get("metadata") or {}),
            "payment_intent": charge["payment_intent"],
            "customer": charge["customer"],
            "reason": params.get("reason"),
            "receipt_number": None,
            "source_transfer_reversal": None,
            "status": "succeeded",
            "transfer_reversal": None,
        }
        self.put(refund)
        previous = {"amount_refunded": charge["amount_refunded"], "refunded": charge["refunded"]}
        charge["amount_refunded"] = int(charge["amount_refunded"]) + amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        charge["refunds"]["data"].insert(0, copy.deepcopy(refund))
        return refund, [self.event("charge.refunded", charge, now, previous)]

    # ---- billing portal ---------------------------------------------------------------------------

    def create_portal_session(self, params: Obj) -> Obj:
        customer = self.get("customer", str(params["customer"]), param="customer", status=400)
        portal_id = self.new_id("bps")
        portal = {
            "id": portal_id,
            "object": "billing_portal.session",
            "configuration": params.get("configuration") or "bpc_local_default",
            "created": self.now(),
            "customer": customer["id"],
            "flow": None,
            "livemode": False,
            "locale": params.get("locale"),
            "on_behalf_of": params.get("on_behalf_of"),
            "return_url": params.get("return_url"),
            "url": f"{self.base_url}/_local/portal/{portal_id}",
        }
        return self.put(portal)

    # ---- the clock ------------------------------------------------------------------------------

    def next_due(self, until: int) -> tuple[int, Callable[[], list[Obj]]] | None:
        """The earliest transition due at or before `until`: its time and what applies it."""
        found: list[tuple[int, str, Callable[[], list[Obj]]]] = []
        for obj in list(self.objects.values()):
            kind = obj.get("object")
            if kind == "checkout.session" and obj["status"] == "open" and obj["expires_at"] <= until:
                found.append((obj["expires_at"], obj["id"], partial(self._expire, obj, obj["expires_at"])))
            elif (
                kind == "coupon"
                and obj["valid"]
                and obj["redeem_by"] is not None
                and obj["redeem_by"] <= until
            ):
                found.append((obj["redeem_by"], obj["id"], partial(self._invalidate, obj)))
            elif kind == "subscription" and obj["status"] in ("active", "trialing"):
                extra = self.extra[obj["id"]]
                end = int(obj["items"]["data"][0]["current_period_end"])
                warn = (obj["trial_end"] or 0) - TRIAL_WILL_END_S
                if (
                    obj["status"] == "trialing"
                    and not extra["trial_warned"]
                    and warn > obj["created"]
                    and warn <= until
                ):
                    found.append((warn, obj["id"] + "/warn", partial(self._trial_will_end, obj, warn)))
                elif end <= until:
                    found.append((end, obj["id"], partial(self._period_end, obj, end)))
        if not found:
            return None
        at, _, apply = min(found, key=lambda f: (f[0], f[1]))
        return at, apply

    def advance(self, until: int) -> list[Obj]:
        """Apply every transition due by `until`, in time order; their events, as Stripe sends them."""
        events: list[Obj] = []
        with self.lock:
            while (due := self.next_due(until)) is not None:
                events += due[1]()
        return events

    def _invalidate(self, coupon: Obj) -> list[Obj]:
        coupon["valid"] = False
        return []

    def _trial_will_end(self, subscription: Obj, at: int) -> list[Obj]:
        self.extra[subscription["id"]]["trial_warned"] = True
        return [self.event("customer.subscription.trial_will_end", subscription, at)]

    def _period_end(self, subscription: Obj, at: int) -> list[Obj]:
        extra = self.extra[subscription["id"]]
        if subscription["cancel_at_period_end"]:
            subscription.update({"status": "canceled", "ended_at": at})
            return [self.event("customer.subscription.deleted", subscription, at)]
        previous: Obj = {
            "items": copy.deepcopy(subscription["items"]),
            "latest_invoice": subscription["latest_invoice"],
        }
        if subscription["status"] == "trialing":
            previous["status"] = "trialing"
            subscription["status"] = "active"
        # Periods count from the billing cycle anchor (the trial's end, or the start): n whole intervals.
        extra["period"] += 1
        start, end = at, periods.add(extra["anchor"], extra["interval"], extra["period"])
        lines = []
        for item in subscription["items"]["data"]:
            item["current_period_start"] = start
            item["current_period_end"] = end
            amount = int(item["price"]["unit_amount"]) * int(item["quantity"])
            tax = _tax(amount, self.tax_rate) if extra["tax"] else 0
            lines.append(
                {
                    "amount_subtotal": amount,
                    "amount_discount": 0,
                    "amount_tax": tax,
                    "amount_total": amount + tax,
                    "currency": item["price"]["currency"],
                    "description": item["price"]["product"],
                    "price": item["price"],
                    "quantity": item["quantity"],
                }
            )
        customer = self.get("customer", subscription["customer"])
        invoice = self._invoice(
            customer=customer,
            lines=lines,
            billing_reason="subscription_cycle",
            period=(start, end),
            at=at,
            subscription=subscription,
            metadata={},
            apply_balance=True,
        )
        subscription["latest_invoice"] = invoice["id"]
        draft = {
            **copy.deepcopy(invoice),
            "status": "draft",
            "status_transitions": {**invoice["status_transitions"], "finalized_at": None, "paid_at": None},
        }
        opened = {
            **copy.deepcopy(invoice),
            "status": "open",
            "status_transitions": {**invoice["status_transitions"], "paid_at": None},
        }
        return [
            self.event("invoice.created", draft, at),
            self.event("customer.subscription.updated", subscription, at, previous),
            self.event("invoice.finalized", opened, at),
            self.event("invoice.paid", invoice, at),
        ]


def _merge_metadata(obj: Obj, metadata: Any) -> None:
    """Stripe's metadata update: keys merge, an empty value unsets a key, an empty string unsets all."""
    if metadata is None:
        return
    if metadata == "":
        obj["metadata"] = {}
        return
    for key, value in dict(metadata).items():
        if value == "":
            obj["metadata"].pop(key, None)
        else:
            obj["metadata"][key] = value


def _spread(lines: list[Obj], field: str, amount: int) -> None:
    """Split `amount` over the line items in proportion to their subtotals, the remainder on the first."""
    subtotal = sum(int(li["amount_subtotal"]) for li in lines)
    if not lines or not subtotal:
        return
    shares = [amount * int(li["amount_subtotal"]) // subtotal for li in lines]
    shares[0] += amount - sum(shares)
    for li, share in zip(lines, shares, strict=True):
        li[field] = share


def _money(amount: int, currency: str) -> str:
    symbol = {"usd": "$", "eur": "€", "gbp": "£"}.get(currency.lower(), "")
    return f"{symbol}{amount / 100:,.2f}" if symbol else f"{amount / 100:,.2f} {currency.upper()}"
