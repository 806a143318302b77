"""A local stand-in for the parts of Stripe the service uses, and Stripe's side of the webhooks.

`StripeApi` answers under `/_stripe/v1/...` (the service's `STRIPE_API_BASE`) with
Stripe-shaped objects: Checkout Sessions priced from the configured plans, coupons,
customers, subscriptions; it honours `Idempotency-Key`. `StripeEvents` plays Stripe
posting to `/webhooks/stripe`: it wraps an object in an event, signs the payload with
the webhook secret exactly as Stripe does (`t=<ts>,v1=<HMAC-SHA256(secret, "<t>.<payload>")>`)
and sends it over real HTTP, so the webhook function sees what Stripe would send.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from werkzeug.wrappers import Request, Response

API_VERSION = "2025-03-31.basil"
YEAR_S = 365 * 24 * 3600


def _id(prefix: str) -> str:
    return f"{prefix}_test_{secrets.token_hex(12)}"


def decode_form(body: str) -> dict[str, Any]:
    """Stripe's form encoding (`line_items[0][price]=p&metadata[k]=v`) back into nested objects."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        head = key.split("[", 1)[0]
        path = [head, *[part or "[]" for part in re.findall(r"\[([^\]]*)\]", key[len(head) :])]]
        node: Any = root
        for i, part in enumerate(path):
            last = i == len(path) - 1
            nxt = None if last else path[i + 1]
            child_default: Any = [] if (nxt == "[]" or (nxt is not None and nxt.isdigit())) else {}
            if isinstance(node, list):
                if part == "[]":
                    if last:
                        node.append(value)
                        break
                    node.append(child_default)
                    node = node[-1]
                    continue
                index = int(part)
                while len(node) <= index:
                    node.append(None)
                if last:
                    node[index] = value
                else:
                    if node[index] is None:
                        node[index] = child_default
                    node = node[index]
            else:
                if last:
                    node[part] = value
                else:
                    node = node.setdefault(part, child_default)
    return root


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    """Stripe's own header for `payload`, signed at `timestamp` (default: the wall clock, as Stripe does)."""
    import stripe

    return stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp)


class StripeError(Exception):
    def __init__(
        self, status: int, message: str, *, code: str | None = None, param: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = {
            "error": {"type": "invalid_request_error", "message": message, "code": code, "param": param}
        }


def _json(status: int, body: Any) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


@dataclass
class Price:
    id: str
    unit_amount: int
    currency: str
    recurring: bool


class StripeApi:
    """The Stripe API, in memory: `/v1/checkout/sessions`, `/v1/coupons`, `/v1/customers`, ..."""

    def __init__(
        self,
        base_url: str,
        now: Callable[[], int] = lambda: int(time.time()),
        prices: Callable[[str], Price | None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.now = now
        self._prices = prices or (lambda _: None)
        self.objects: dict[str, dict[str, Any]] = {}
        self._idempotent: dict[str, tuple[int, str]] = {}
        self._lock = threading.RLock()

    # ---- the objects -------------------------------------------------------------------------------

    def session(self, session_id: str) -> dict[str, Any] | None:
        obj = self.objects.get(session_id)
        return obj if obj and obj.get("object") == "checkout.session" else None

    def session_for_purchase(
        self, purchase_id: str, purchase_id_for: Callable[[str], str]
    ) -> dict[str, Any] | None:
        for obj in list(self.objects.values()):
            if obj.get("object") == "checkout.session" and purchase_id_for(obj["id"]) == purchase_id:
                return obj
        return None

    def _price(self, item: dict[str, Any], index: int) -> Price:
        if item.get("price"):
            price = self._prices(str(item["price"]))
            if price is None:
                raise StripeError(
                    400,
                    f"No such price: '{item['price']}'",
                    code="resource_missing",
                    param=f"line_items[{index}][price]",
                )
            return price
        data = item.get("price_data") or {}
        if "unit_amount" not in data or "currency" not in data:
            raise StripeError(
                400,
                "Each line item needs a price or price_data with unit_amount and currency.",
                param=f"line_items[{index}]",
            )
        return Price(_id("price"), int(data["unit_amount"]), str(data["currency"]), "recurring" in data)

    def _discount(self, params: dict[str, Any], subtotal: int) -> tuple[int, list[dict[str, Any]]]:
        discounts = params.get("discounts") or []
        total, applied = 0, []
        for entry in discounts:
            coupon = self.objects.get(str(entry.get("coupon", "")))
            if coupon is None:
                raise StripeError(
                    400,
                    f"No such coupon: '{entry.get('coupon')}'",
                    code="resource_missing",
                    param="discounts",
                )
            if coupon.get("amount_off"):
                off = int(coupon["amount_off"])
            else:
                off = round(subtotal * float(coupon.get("percent_off") or 0) / 100)
            total += off
            applied.append({"coupon": coupon["id"], "promotion_code": None})
        return min(total, subtotal), applied

    def create_session(self, params: dict[str, Any]) -> dict[str, Any]:
        mode = params.get("mode") or "payment"
        items = params.get("line_items") or []
        if not items:
            raise StripeError(
                400, "line_items is required in payment and subscription mode.", param="line_items"
            )
        line_items, subtotal, currency = [], 0, None
        for index, item in enumerate(items):
            price = self._price(item, index)
            quantity = int(item.get("quantity") or 1)
            amount = price.unit_amount * quantity
            subtotal += amount
            currency = currency or price.currency
            line_items.append(
                {
                    "id": _id("li"),
                    "object": "item",
                    "quantity": quantity,
                    "currency": price.currency,
                    "amount_subtotal": amount,
                    "amount_total": amount,
                    "amount_discount": 0,
                    "amount_tax": 0,
                    "description": None,
                    "price": {
                        "id": price.id,
                        "object": "price",
                        "unit_amount": price.unit_amount,
                        "currency": price.currency,
                        "recurring": {"interval": "year"} if price.recurring else None,
                        "type": "recurring" if price.recurring else "one_time",
                    },
                }
            )
        discount, applied = self._discount(params, subtotal)
        self._check_trial_end(mode, params.get("subscription_data") or {})
        session_id = f"cs_test_{secrets.token_urlsafe(24).replace('-', 'a').replace('_', 'b')}"
        created = self.now()
        customer = params.get("customer")
        email = params.get("customer_email") or (self.objects.get(customer or "", {}).get("email"))
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": mode,
            "livemode": False,
            "status": "open",
            "payment_status": "unpaid",
            "url": f"{self.base_url}/_local/pay/{session_id}",
            "success_url": params.get("success_url"),
            "cancel_url": params.get("cancel_url"),
            "client_reference_id": params.get("client_reference_id"),
            "metadata": dict(params.get("metadata") or {}),
            "currency": currency,
            "amount_subtotal": subtotal,
            "amount_total": subtotal - discount,
            "total_details": {"amount_discount": discount, "amount_shipping": 0, "amount_tax": 0},
            "discounts": applied,
            "customer": customer,
            "customer_email": params.get("customer_email"),
            "customer_details": {
                "email": email,
                "name": None,
                "address": None,
                "phone": None,
                "tax_exempt": "none",
                "tax_ids": [],
            }
            if email
            else None,
            "payment_intent": self._payment_intent(params, subtotal - discount, currency, created)
            if mode == "payment"
            else None,
            "subscription": None,
            "invoice": None,
            "payment_method_types": list(params.get("payment_method_types") or ["card"]),
            "line_items": {
                "object": "list",
                "data": line_items,
                "has_more": False,
                "url": f"/v1/checkout/sessions/{session_id}/line_items",
            },
            "created": created,
            "expires_at": created + 24 * 3600,
            "locale": params.get("locale"),
            # Not on Stripe's session object, kept to build the charge and subscription like Stripe would.
            "payment_intent_data": params.get("payment_intent_data"),
            "subscription_data": params.get("subscription_data"),
        }
        self.objects[session_id] = session
        return session

    def _payment_intent(self, params: dict[str, Any], amount: int, currency: str | None, created: int) -> str:
        """A payment-mode session's PaymentIntent, kept so GET /v1/payment_intents/<id> shows its metadata."""
        intent = {
            "id": _id("pi"),
            "object": "payment_intent",
            "livemode": False,
            "created": created,
            "amount": amount,
            "currency": currency,
            "status": "requires_payment_method",
            "metadata": dict(((params.get("payment_intent_data") or {}).get("metadata")) or {}),
        }
        self.objects[intent["id"]] = intent
        return str(intent["id"])

    def _check_trial_end(self, mode: str, data: dict[str, Any]) -> None:
        """Stripe's rule: `subscription_data.trial_end` in subscription mode, at least 48 hours ahead."""
        if data.get("trial_end") in (None, ""):
            return
        param = "subscription_data[trial_end]"
        try:
            trial_end = int(data["trial_end"])
        except (TypeError, ValueError):
            raise StripeError(400, "Invalid integer: trial_end.", param=param) from None
        if mode != "subscription":
            raise StripeError(400, "trial_end can only be used in subscription mode.", param=param)
        if trial_end < self.now() + 48 * 3600:
            raise StripeError(400, "trial_end must be at least 48 hours in the future.", param=param)
        data["trial_end"] = trial_end

    def create_simple(self, prefix: str, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "id": params.get("id") or _id(prefix),
            "object": kind,
            "livemode": False,
            "created": self.now(),
            "metadata": dict(params.get("metadata") or {}),
        }
        for key, value in params.items():
            if key not in ("metadata", "id"):
                obj[key] = value
        for number in ("amount_off", "percent_off", "duration_in_months", "max_redemptions"):
            if obj.get(number) not in (None, ""):
                obj[number] = float(obj[number]) if number == "percent_off" else int(obj[number])
        if kind == "coupon":
            obj.setdefault("duration", "once")
            obj["valid"] = True
        self.objects[obj["id"]] = obj
        return obj

    def subscribe(self, session: dict[str, Any]) -> dict[str, Any]:
        """What completing a subscription-mode session creates."""
        start = self.now()
        customer = (
            session.get("customer")
            or self.create_simple(
                "cus", "customer", {"email": (session.get("customer_details") or {}).get("email")}
            )["id"]
        )
        session["customer"] = customer
        data = session.get("subscription_data") or {}
        items = [
            {"id": _id("si"), "object": "subscription_item", "price": li["price"], "quantity": li["quantity"]}
            for li in session["line_items"]["data"]
        ]
        subscription = {
            "id": _id("sub"),
            "object": "subscription",
            "livemode": False,
            "customer": customer,
            "status": "active",
            "cancel_at_period_end": False,
            "created": start,
            "start_date": start,
            "current_period_start": start,
            "current_period_end": start + YEAR_S,
            "items": {"object": "list", "data": items, "has_more": False},
            "metadata": dict(data.get("metadata") or session.get("metadata") or {}),
            "latest_invoice": _id("in"),
            "currency": session.get("currency"),
        }
        trial_end = data.get("trial_end")
        if trial_end:  # billing starts when the trial ends: nothing is paid at checkout
            subscription.update({"status": "trialing", "trial_start": start, "trial_end": int(trial_end)})
            subscription["current_period_end"] = int(trial_end)
            session["payment_status"] = "no_payment_required"
        self.objects[subscription["id"]] = subscription
        session["subscription"] = subscription["id"]
        session["invoice"] = subscription["latest_invoice"]
        return subscription

    # ---- HTTP ---------------------------------------------------------------------------------------

    def __call__(self, request: Request, path: str) -> Response:
        key = request.headers.get("Idempotency-Key")
        with self._lock:
            if key and request.method == "POST" and key in self._idempotent:
                status, body = self._idempotent[key]
                response = Response(body, status=status, content_type="application/json")
                response.headers["Idempotent-Replayed"] = "true"
                return response
            try:
                status, obj = self._route(request, path)
                response = _json(status, obj)
            except StripeError as error:
                response = _json(error.status, error.body)
            if key and request.method == "POST":
                self._idempotent[key] = (response.status_code, response.get_data(as_text=True))
            response.headers["Request-Id"] = _id("req")
            return response

    def _params(self, request: Request) -> dict[str, Any]:
        if request.method == "GET":
            return decode_form(request.query_string.decode())
        return decode_form(request.get_data(as_text=True))

    def _route(self, request: Request, path: str) -> tuple[int, Any]:
        params = self._params(request)
        parts = [p for p in path.strip("/").split("/") if p]
        if parts[:1] != ["v1"]:
            raise StripeError(404, f"Unrecognized request URL ({request.method}: {path}).")
        parts = parts[1:]
        method = request.method
        if parts[:2] == ["checkout", "sessions"]:
            if len(parts) == 2 and method == "POST":
                return 200, self.create_session(params)
            session = self.session(parts[2]) if len(parts) > 2 else None
            if session is None:
                raise StripeError(
                    404,
                    f"No such checkout.session: '{parts[2] if len(parts) > 2 else ''}'",
                    code="resource_missing",
                    param="session",
                )
            if len(parts) == 3 and method == "GET":
                return 200, session
            if len(parts) == 4 and parts[3] == "line_items" and method == "GET":
                return 200, session["line_items"]
            if len(parts) == 4 and parts[3] == "expire" and method == "POST":
                if session["status"] != "open":
                    raise StripeError(
                        400, "Only open Checkout Sessions can be expired.", code="checkout_session_not_open"
                    )
                session["status"] = "expired"
                return 200, session
        kinds = {
            "coupons": ("coupon", "coupon"),
            "customers": ("cus", "customer"),
            "subscriptions": ("sub", "subscription"),
            "refunds": ("re", "refund"),
            "payment_intents": ("pi", "payment_intent"),
        }
        if parts and parts[0] in kinds:
            prefix, kind = kinds[parts[0]]
            if len(parts) == 1 and method == "POST":
                return 200, self.create_simple(prefix, kind, params)
            if len(parts) >= 2:
                obj = self.objects.get(parts[1])
                if obj is None or obj.get("object") != kind:
                    raise StripeError(
                        404, f"No such {kind}: '{parts[1]}'", code="resource_missing", param="id"
                    )
                if len(parts) == 2 and method == "POST":
                    metadata = params.pop("metadata", None)
                    obj.update(params)
                    if metadata:
                        obj["metadata"].update(metadata)
                    return 200, obj
                if len(parts) == 2 and method == "GET":
                    return 200, obj
                if len(parts) == 2 and method == "DELETE" and kind == "subscription":
                    obj["status"] = "canceled"
                    return 200, obj
        raise StripeError(404, f"Unrecognized request URL ({method}: /v1/{'/'.join(parts)}).")


class StripeEvents:
    """Stripe's side of the webhooks: events about the stub's objects, signed and posted over HTTP."""

    def __init__(
        self, api: StripeApi, webhook_url: str, secret: Callable[[], str], now: Callable[[], int]
    ) -> None:
        self.api = api
        self.webhook_url = webhook_url
        self._secret = secret
        self._now = now

    def event(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        public = {k: v for k, v in obj.items() if k not in ("payment_intent_data", "subscription_data")}
        return {
            "id": f"evt_test_{secrets.token_hex(12)}",
            "object": "event",
            "api_version": API_VERSION,
            "created": self._now(),
            "type": kind,
            "data": {"object": public},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
        }

    def post(self, event: dict[str, Any], *, secret: str | None = None) -> tuple[int, Any]:
        payload = json.dumps(event)
        header = sign(payload, secret or self._secret())  # real time, whatever the test clock says
        request = urllib.request.Request(  # noqa: S310 - our own loopback http URL
            self.webhook_url,
            data=payload.encode(),
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": header,
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310  # nosec B310  # our own loopback URL
                status, text = answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode()
        try:
            body: Any = json.loads(text) if text else None
        except ValueError:
            body = text
        return status, body

    def complete(self, session_id: str, payment_status: str = "paid") -> list[dict[str, Any]]:
        session = self._open_session(session_id)
        if payment_status not in ("paid", "unpaid"):
            raise StripeError(
                422, "payment_status is 'paid' or 'unpaid'.", code="invalid_field", param="payment_status"
            )
        session["status"] = "complete"
        session["payment_status"] = payment_status
        deliveries = []
        subscription = None
        if session["mode"] == "subscription" and payment_status == "paid" and not session.get("subscription"):
            subscription = self.api.subscribe(session)
        deliveries.append(self._deliver("checkout.session.completed", session))
        if subscription is not None:
            deliveries.append(self._deliver("customer.subscription.created", subscription))
        return deliveries

    def settle(self, session_id: str, succeeded: bool) -> list[dict[str, Any]]:
        session = self._session(session_id)
        if session["status"] != "complete" or session["payment_status"] == "paid":
            raise StripeError(
                409,
                "Only a completed, unpaid session has an async payment to settle: "
                "complete it with payment_status 'unpaid' first.",
                code="no_pending_payment",
            )
        if succeeded:
            session["payment_status"] = "paid"
        return [
            self._deliver(
                "checkout.session.async_payment_succeeded"
                if succeeded
                else "checkout.session.async_payment_failed",
                session,
            )
        ]

    def refund(self, session: dict[str, Any], amount: int | None = None) -> list[dict[str, Any]]:
        if not session.get("payment_intent") or session.get("payment_status") != "paid":
            raise StripeError(
                409, "Only a paid payment-mode checkout has a charge to refund.", code="not_refundable"
            )
        total = int(session["amount_total"])
        refunded = total if amount is None else min(int(amount), total)
        charge = {
            "id": _id("ch"),
            "object": "charge",
            "livemode": False,
            "created": self._now(),
            "amount": total,
            "amount_captured": total,
            "amount_refunded": refunded,
            "refunded": refunded == total,
            "captured": True,
            "paid": True,
            "status": "succeeded",
            "currency": session["currency"],
            "customer": session.get("customer"),
            "payment_intent": session["payment_intent"],
            "metadata": dict(((session.get("payment_intent_data") or {}).get("metadata")) or {}),
            "billing_details": {"email": (session.get("customer_details") or {}).get("email")},
            "refunds": {
                "object": "list",
                "has_more": False,
                "data": [
                    {
                        "id": _id("re"),
                        "object": "refund",
                        "amount": refunded,
                        "currency": session["currency"],
                        "payment_intent": session["payment_intent"],
                        "status": "succeeded",
                        "created": self._now(),
                    }
                ],
            },
        }
        self.api.objects[charge["id"]] = charge
        return [self._deliver("charge.refunded", charge)]

    def _session(self, session_id: str) -> dict[str, Any]:
        session = self.api.session(session_id)
        if session is None:
            raise StripeError(404, f"No such checkout.session: '{session_id}'", code="resource_missing")
        return session

    def _open_session(self, session_id: str) -> dict[str, Any]:
        session = self._session(session_id)
        if session["status"] == "expired":
            raise StripeError(400, "This Checkout Session has expired.", code="checkout_session_expired")
        return session

    def _deliver(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        event = self.event(kind, obj)
        status, body = self.post(event)
        return {"event": {"id": event["id"], "type": kind}, "webhook": {"status": status, "body": body}}
