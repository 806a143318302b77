"""A tiny Stripe API stand-in on a local port for tests: records every request, answers like Stripe.

with StripeStub() as stub:
    monkeypatch.setenv("STRIPE_API_BASE", stub.url)
    ...
    stub.requests[0].form["line_items[0][quantity]"]
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]


@dataclass
class StripeStub:
    status: int = 200
    answer: dict[str, Any] | None = None
    requests: list[Recorded] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> StripeStub:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                text = self.rfile.read(length).decode()
                form = dict(parse_qsl(text, keep_blank_values=True))
                headers = {k.lower(): v for k, v in self.headers.items()}
                stub.requests.append(Recorded("POST", self.path, headers, form))
                n = len(stub.requests)
                body = (
                    stub.answer
                    if stub.answer is not None
                    else {
                        "id": f"cs_test_stub_{n:04d}",
                        "object": "checkout.session",
                        "url": f"https://checkout.stripe.test/c/pay/cs_test_stub_{n:04d}",
                        "mode": form.get("mode"),
                        "metadata": {},
                    }
                )
                if stub.status >= 400 and stub.answer is None:
                    body = {"error": {"type": "invalid_request_error", "message": "stub refused"}}
                raw = json.dumps(body).encode()
                self.send_response(stub.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_: Any) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
