"""The one Stripe fake (local.stripe_fake, what `make dev` runs) served on a loopback port for a test.

`FakeStripe` answers the service's Stripe calls with the fake's objects and rules (prices
from the configured plans, coupons, sessions, customers, refunds, ...; every request checked
against the stripe library's parameter types) and records each request with its headers and
decoded form fields, so a test can read what the service sent:

    with FakeStripe().serving(monkeypatch) as stripe:
        ...
        stripe.requests[0].form["line_items[0][price]"]
        stripe.to("/v1/coupons")

Ids are sequential per kind (`cs_test_<tag>0001`, `coupon_test_<tag>0001`, ...) so answers read
the same in every run. `status = 4xx/5xx` makes every request fail with Stripe's error shape (a
refusing or failing Stripe); `charges[...]` and `payment_intents[...]` put objects in place that
the service will read (a dispute naming a charge, a payment of somebody else's).
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from giftplans import clock
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from local.stripe_fake import Stripe, StripeApi, configured_price
from local.stripe_fake.errors import StripeError

CHECKOUT_PAGES = "https://checkout.stripe.test/c/pay/"


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    form: dict[str, str]  # the form (or query) fields as sent, e.g. "line_items[0][price]"

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("idempotency-key")


class Sequential:
    """Ids numbered per kind: `<prefix>_test_<tag>0001`, `<prefix>_test_<tag>0002`, ..."""

    def __init__(self, tag: str = "") -> None:
        self._tag = tag
        self._counters: dict[str, itertools.count[int]] = {}
        self._lock = threading.Lock()

    def __call__(self, prefix: str) -> str:
        with self._lock:
            n = next(self._counters.setdefault(prefix, itertools.count(1)))
        return f"{prefix}_test_{self._tag}{n:04d}"


class _Objects(MutableMapping[str, dict[str, Any]]):
    """The fake's objects of one kind, as a dict a test can fill."""

    def __init__(self, stripe: Stripe, kind: str) -> None:
        self._stripe = stripe
        self._kind = kind

    def _ids(self) -> list[str]:
        return [k for k, v in self._stripe.objects.items() if v.get("object") == self._kind]

    def __getitem__(self, key: str) -> dict[str, Any]:
        return self._stripe.get(self._kind, key)

    def __setitem__(self, key: str, value: dict[str, Any]) -> None:
        self._stripe.objects[key] = {**value, "object": self._kind}

    def __delitem__(self, key: str) -> None:
        self[key]  # KeyError-like StripeError when it is not of this kind
        del self._stripe.objects[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids())

    def __len__(self) -> int:
        return len(self._ids())


class FakeStripe:
    """local.stripe_fake's API for one test, on its own port, recording what the service sent."""

    def __init__(self, tag: str = "") -> None:
        self.requests: list[Recorded] = []
        self.status = 200  # >= 400: every request is refused with this status, in Stripe's error shape
        self.events: list[dict[str, Any]] = []  # what Stripe would post to the webhook after a request
        self.stripe = Stripe(
            base_url="http://127.0.0.1",
            now=lambda: clock.epoch(clock.now()),
            prices=configured_price,
            checkout_url=CHECKOUT_PAGES,
            ids=Sequential(tag),
        )
        self.api = StripeApi(self.stripe, on_events=self.events.extend)
        self.charges = _Objects(self.stripe, "charge")
        self.payment_intents = _Objects(self.stripe, "payment_intent")
        self.base_url = ""

    def to(self, path_prefix: str) -> list[Recorded]:
        return [r for r in self.requests if r.path.startswith(path_prefix)]

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        raw = request.get_data(as_text=True) if request.method == "POST" else request.query_string.decode()
        self.requests.append(
            Recorded(
                request.method,
                request.path,
                {k.lower(): v for k, v in request.headers.items()},
                dict(parse_qsl(raw, keep_blank_values=True)),
            )
        )
        if self.status >= 400:
            kind = "api_error" if self.status >= 500 else "invalid_request_error"
            refused = StripeError(self.status, "Refused by the test.", type=kind)
            answer = Response(json.dumps(refused.body), status=self.status, content_type="application/json")
        else:
            answer = self.api(request, request.path)
        return answer(environ, start_response)

    @contextmanager
    def serving(self, monkeypatch: Any, api_key: str = "sk_test_stub") -> Iterator[FakeStripe]:
        """Serve on 127.0.0.1 (a thread) and point the service at it (STRIPE_API_BASE, STRIPE_API_KEY)."""
        server = make_server("127.0.0.1", 0, self._app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self.base_url = f"http://127.0.0.1:{server.server_port}"
        monkeypatch.setenv("STRIPE_API_BASE", self.base_url)
        monkeypatch.setenv("STRIPE_API_KEY", api_key)
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
