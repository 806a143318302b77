"""Stripe's HTTP API over the fake's objects: `/v1/...`, form-encoded, as stripe-python sends it.

Each request is authenticated (`Authorization: Bearer sk_test_...`), its parameters are
checked against the stripe library's TypedDict for that endpoint (local.stripe_fake.params),
POSTs honour `Idempotency-Key` (the first answer replayed; the same key with other
parameters refused with Stripe's `idempotency_error`), `expand[]` expands what Stripe
expands, and an unknown object is 404 `resource_missing`. Events a request causes (a
refund's `charge.refunded`, a cancellation's `customer.subscription.deleted`) go to
`on_events`, to be posted after the answer, as Stripe does.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import stripe.params as sp
import stripe.params.billing_portal as portal_params
import stripe.params.checkout as checkout_params
from werkzeug.wrappers import Request, Response

from local.stripe_fake import params as checked
from local.stripe_fake.errors import StripeError
from local.stripe_fake.model import Obj, Stripe

IDEMPOTENCY_TTL_S = 24 * 3600


def decode_form(body: str) -> dict[str, Any]:
    """Stripe's form encoding (`line_items[0][price]=p&metadata[k]=v&expand[]=x`) back into nested values."""
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
            elif last:
                node[part] = value
            else:
                node = node.setdefault(part, child_default)
    return root


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    params: type  # the stripe library's TypedDict for this endpoint
    handler: str


def _route(method: str, path: str, params: type, handler: str) -> Route:
    pattern = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "$")
    return Route(method, pattern, params, handler)


ROUTES = [
    _route("POST", "/v1/checkout/sessions", checkout_params.SessionCreateParams, "create_session"),
    _route("GET", "/v1/checkout/sessions/{id}", checkout_params.SessionRetrieveParams, "retrieve_session"),
    _route(
        "GET",
        "/v1/checkout/sessions/{id}/line_items",
        checkout_params.SessionLineItemListParams,
        "line_items",
    ),
    _route(
        "POST", "/v1/checkout/sessions/{id}/expire", checkout_params.SessionExpireParams, "expire_session"
    ),
    _route("POST", "/v1/coupons", sp.CouponCreateParams, "create_coupon"),
    _route("GET", "/v1/coupons/{id}", sp.CouponRetrieveParams, "retrieve"),
    _route("POST", "/v1/customers", sp.CustomerCreateParams, "create_customer"),
    _route("GET", "/v1/customers/{id}", sp.CustomerRetrieveParams, "retrieve"),
    _route("POST", "/v1/customers/{id}", sp.CustomerUpdateParams, "update_customer"),
    _route(
        "POST",
        "/v1/customers/{id}/balance_transactions",
        sp.CustomerBalanceTransactionCreateParams,
        "create_balance_transaction",
    ),
    _route(
        "GET",
        "/v1/customers/{id}/balance_transactions",
        sp.CustomerBalanceTransactionListParams,
        "balance_transactions",
    ),
    _route("POST", "/v1/billing_portal/sessions", portal_params.SessionCreateParams, "create_portal_session"),
    _route("GET", "/v1/subscriptions/{id}", sp.SubscriptionRetrieveParams, "retrieve"),
    _route("POST", "/v1/subscriptions/{id}", sp.SubscriptionUpdateParams, "update_subscription"),
    _route("DELETE", "/v1/subscriptions/{id}", sp.SubscriptionCancelParams, "cancel_subscription"),
    _route("GET", "/v1/payment_intents/{id}", sp.PaymentIntentRetrieveParams, "retrieve"),
    _route("GET", "/v1/charges/{id}", sp.ChargeRetrieveParams, "retrieve"),
    _route("POST", "/v1/refunds", sp.RefundCreateParams, "create_refund"),
    _route("GET", "/v1/refunds/{id}", sp.RefundRetrieveParams, "retrieve"),
    _route("GET", "/v1/invoices/{id}", sp.InvoiceRetrieveParams, "retrieve"),
]

# The object each retrieve route names (for "No such <kind>") and the fields `expand[]` may expand.
KINDS = {
    "coupons": "coupon",
    "customers": "customer",
    "subscriptions": "subscription",
    "payment_intents": "payment_intent",
    "charges": "charge",
    "refunds": "refund",
    "invoices": "invoice",
}
EXPANDABLE = {
    "checkout.session": {"customer", "invoice", "line_items", "payment_intent", "subscription"},
    "subscription": {"customer", "latest_invoice"},
    "payment_intent": {"customer", "latest_charge"},
    "charge": {"customer", "payment_intent"},
    "invoice": {"customer", "payments"},
    "refund": {"charge", "payment_intent"},
    "customer": set(),
    "coupon": set(),
    "customer_balance_transaction": {"customer", "invoice"},
    "billing_portal.session": set(),
}

UNAUTHENTICATED = (
    "You did not provide an API key. You need to provide your API key in the Authorization header, "
    "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). "
    "See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/."
)


def _json(status: int, body: Any) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


class StripeApi:
    """`__call__(request, path)`: one Stripe API request (`path` from `/v1/`) against `stripe`."""

    def __init__(self, stripe: Stripe, on_events: Callable[[list[Obj]], None] | None = None) -> None:
        self.stripe = stripe
        self.on_events = on_events or (lambda events: None)
        self._idempotent: dict[str, tuple[str, int, str, float]] = {}

    def __call__(self, request: Request, path: str) -> Response:
        try:
            self._authenticate(request)
            response = self._answer(request, "/" + path.strip("/"))
        except StripeError as error:
            response = _json(error.status, error.body)
        response.headers["Request-Id"] = "req_" + secrets.token_hex(7)
        return response

    @staticmethod
    def _authenticate(request: Request) -> None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            raise StripeError(401, UNAUTHENTICATED)
        key = header.removeprefix("Bearer ").strip()
        if not key.startswith(("sk_test_", "rk_test_")):
            shown = key[:8] + "*" * max(0, len(key) - 12) + key[-4:] if len(key) > 12 else key
            raise StripeError(401, f"Invalid API Key provided: {shown}")

    def _answer(self, request: Request, path: str) -> Response:
        method = request.method.upper()
        raw = request.query_string.decode() if method in ("GET", "DELETE") else request.get_data(as_text=True)
        params = decode_form(raw)
        route, args = self._match(method, path)
        checked.check(params, route.params)
        key = request.headers.get("Idempotency-Key") if method == "POST" else None
        fingerprint = hashlib.sha256(json.dumps([method, path, params], sort_keys=True).encode()).hexdigest()
        with self.stripe.lock:
            if key:
                replay = self._replay(key, fingerprint)
                if replay is not None:
                    return replay
            events: list[Obj] = []
            try:
                if route.handler == "retrieve":  # GET /v1/<collection>/<id>
                    obj = self.stripe.get(KINDS[path.split("/")[2]], args["id"])
                else:
                    endpoint: Callable[..., tuple[Obj, list[Obj]]] = getattr(self, "_" + route.handler)
                    obj, events = endpoint(params, **args)
                status, body = 200, json.dumps(self._expand(obj, params.get("expand") or []))
            except StripeError as error:
                if error.status >= 500:
                    raise
                status, body, events = error.status, json.dumps(error.body), []
            if key:
                self._idempotent[key] = (fingerprint, status, body, float(self.stripe.now()))
        if events:
            self.on_events(events)
        return Response(body, status=status, content_type="application/json")

    def _match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        for route in ROUTES:
            found = route.pattern.match(path)
            if found and route.method == method:
                return route, found.groupdict()
        raise StripeError(
            404,
            f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or we can help "
            "at https://support.stripe.com/.",
        )

    def _replay(self, key: str, fingerprint: str) -> Response | None:
        now = float(self.stripe.now())
        for old in [k for k, v in self._idempotent.items() if now - v[3] > IDEMPOTENCY_TTL_S]:
            del self._idempotent[old]
        if key not in self._idempotent:
            return None
        first, status, body, _ = self._idempotent[key]
        if first != fingerprint:
            raise StripeError(
                400,
                "Keys for idempotent requests can only be used with the same parameters they were first used "
                f"with. Try using a key other than '{key}' if you meant to execute a different request.",
                type="idempotency_error",
            )
        response = Response(body, status=status, content_type="application/json")
        response.headers["Idempotent-Replayed"] = "true"
        return response

    def _expand(self, obj: Obj, fields: list[str]) -> Obj:
        if not fields:
            return obj
        out = copy.deepcopy(obj)
        allowed = EXPANDABLE.get(str(obj.get("object")), set())
        for field in fields:
            if field not in allowed:
                raise StripeError(400, f"This property cannot be expanded ({field}).", param="expand")
            if field == "line_items" and out.get("object") == "checkout.session":
                out["line_items"] = self.stripe.line_items(out["id"])
            elif field == "payments" and out.get("object") == "invoice":
                out["payments"] = self.stripe.invoice_payments(out)
            elif isinstance(out.get(field), str) and out[field] in self.stripe.objects:
                out[field] = copy.deepcopy(self.stripe.objects[out[field]])
        return out

    # ---- the endpoints: (object, events) -------------------------------------------------------------

    def _create_session(self, params: Obj) -> tuple[Obj, list[Obj]]:
        return self.stripe.create_session(params), []

    def _retrieve_session(self, params: Obj, id: str) -> tuple[Obj, list[Obj]]:
        return self.stripe.session(id), []

    def _line_items(self, params: Obj, id: str) -> tuple[Obj, list[Obj]]:
        return self.stripe.line_items(id), []

    def _expire_session(self, params: Obj, id: str) -> tuple[Obj, list[Obj]]:
        return self.stripe.expire_session(id)

    def _create_coupon(self, params: Obj) -> tuple[Obj, list[Obj]]:
        return self.stripe.create_coupon(params), []

    def _create_customer(self, params: Obj) -> tuple[Obj, list[Obj]]:
        return self.stripe.create_customer(params), []

    def _update_customer(self, params: Obj, id: str) -> tuple[Obj, list[Obj]]:
        return self.stripe.update_customer(id, params), []

    def _create_balance_transaction(self, params: Obj, id: str) -> tuple[Obj, list[Obj]]:
        return self.stripe.create_balance_transaction(id, params), []

    def _balance_transactions(self, params: Obj, id: str) -> tuple[Obj, list[Obj]]:
        return self.stripe.balance_transactions(id), []

    def _create_portal_session(self, params: Obj) -> tuple[Obj, list[Obj]]:
        return self.stripe.create_portal_session(params), []

    def _update_subscription(self, params: Obj, id: str) -> tuple[Obj, list[Obj]]:
        return self.stripe.update_subscription(id, {k: v for k, v in params.items() if k != "expand"})

    def _cancel_subscription(self, params: Obj, id: str) -> tuple[Obj, list[Obj]]:
        return self.stripe.cancel_subscription(id)

    def _create_refund(self, params: Obj) -> tuple[Obj, list[Obj]]:
        return self.stripe.create_refund(params)
