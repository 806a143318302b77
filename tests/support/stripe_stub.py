"""Stripe API stand-ins on a local port for tests: each records every request and answers like Stripe.

One HTTP server (`serve`) carries both: `StripeStub` (every POST answered with a checkout
session, or with `status` and an error) and `upgrade_steps.StripeRecorder` (coupons,
sessions and charges by path). `serve` points the service at the port (STRIPE_API_BASE)
with a test key (STRIPE_API_KEY).

with StripeStub().serving(monkeypatch) as stub:
    ...
    stub.requests[0].form["line_items[0][quantity]"]
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

# (method, path, lower-cased headers, decoded form or query) -> (status, JSON body)
Answer = Callable[[str, str, dict[str, str], dict[str, str]], tuple[int, Any]]


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("idempotency-key")


@contextmanager
def serve(answer: Answer, monkeypatch: Any, api_key: str) -> Iterator[str]:
    """A Stripe-like HTTP server on 127.0.0.1 (a thread) answering with `answer`; yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            path, _, query = self.path.partition("?")
            form = dict(parse_qsl(raw or query, keep_blank_values=True))
            status, body = answer(self.command, path, {k.lower(): v for k, v in self.headers.items()}, form)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _serve

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("STRIPE_API_BASE", url)
    monkeypatch.setenv("STRIPE_API_KEY", api_key)
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass
class StripeStub:
    """Answers every POST with a new checkout session, or with `status` (>= 400) and an error."""

    status: int = 200
    requests: list[Recorded] = field(default_factory=list)

    def answer(
        self, method: str, path: str, headers: dict[str, str], form: dict[str, str]
    ) -> tuple[int, Any]:
        if method != "POST":
            return 501, {"error": {"type": "api_error", "message": f"stub answers POST only, not {method}"}}
        self.requests.append(Recorded(method, path, headers, form))
        if self.status >= 400:
            return self.status, {"error": {"type": "invalid_request_error", "message": "stub refused"}}
        sid = f"cs_test_stub_{len(self.requests):04d}"
        body = {
            "id": sid,
            "object": "checkout.session",
            "url": f"https://checkout.stripe.test/c/pay/{sid}",
            "mode": form.get("mode"),
            "metadata": {},
        }
        return self.status, body

    @contextmanager
    def serving(self, monkeypatch: Any, api_key: str = "sk_test_stub") -> Iterator[StripeStub]:
        with serve(self.answer, monkeypatch, api_key):
            yield self
