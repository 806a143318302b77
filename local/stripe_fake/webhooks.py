"""Stripe's side of the webhooks: events signed as Stripe signs them and posted over real HTTP.

Each event is signed with the endpoint secret by Stripe's own
`WebhookSignature.generate_signature_header`, at real time (Stripe signs with its wall
clock whatever a test clock says; the events' `created` follow the clock), and POSTed to the
webhook URL. As Stripe does, a delivery that does not answer 2xx within 30 seconds has
failed: it is logged, shown in the answer, and retried later (Stripe's test mode retries a
few times over hours; here after 5 minutes, 30 minutes and 2 hours of wall time, the same
event, same id). Events a Stripe API request caused are posted after the request answered,
in order, by a background thread (`enqueue`); the local routes that "act as Stripe"
deliver synchronously and answer with the webhook's status (`deliver`).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("local.stripe")

TIMEOUT_S = 30.0  # Stripe waits 30 seconds for a 2xx
RETRY_AFTER_S = (300.0, 1800.0, 7200.0)
Event = dict[str, Any]


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    """Stripe's own header for `payload`, signed at `timestamp` (default: the wall clock, as Stripe does)."""
    import stripe

    return str(stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp))


@dataclass
class Delivery:
    event: Event
    status: int | None  # None: no answer within the timeout, or no connection
    body: Any
    attempts: int = 1
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def summary(self) -> dict[str, Any]:
        webhook: dict[str, Any] = {"status": self.status, "body": self.body}
        if self.error:
            webhook["error"] = self.error
        return {
            "event": {"id": self.event["id"], "type": self.event["type"], "created": self.event["created"]},
            "webhook": webhook,
        }


@dataclass(order=True)
class _Retry:
    at: float
    attempts: int = field(compare=False)
    event: Event = field(compare=False)


class Webhooks:
    """Posts events to one endpoint: now (`deliver`), after a request (`enqueue`), again on failure."""

    def __init__(
        self,
        url: str,
        secret: Callable[[], str],
        *,
        timeout_s: float = TIMEOUT_S,
        retry_after_s: tuple[float, ...] = RETRY_AFTER_S,
    ) -> None:
        self.url = url
        self._secret = secret
        self.timeout_s = timeout_s
        self.retry_after_s = retry_after_s
        self._queue: queue.Queue[Event] = queue.Queue()
        self._retries: list[_Retry] = []
        self._lock = threading.Lock()  # one delivery at a time, in order
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.failed: list[Delivery] = []  # deliveries that gave up after every retry

    def post(self, event: Event) -> Delivery:
        payload = json.dumps(event)
        header = sign(payload, self._secret())
        request = urllib.request.Request(  # noqa: S310 - our own loopback http URL
            self.url,
            data=payload.encode(),
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": header,
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as answer:  # noqa: S310  # nosec B310  # our own loopback URL
                status, text = answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode()
        except (TimeoutError, urllib.error.URLError, ConnectionError) as error:
            reason = getattr(error, "reason", error)
            message = (
                f"timed out after {self.timeout_s:.0f} s"
                if isinstance(reason, TimeoutError)
                else f"could not connect: {reason}"
            )
            return Delivery(event, None, None, error=message)
        try:
            body: Any = json.loads(text) if text else None
        except ValueError:
            body = text
        return Delivery(event, status, body)

    def deliver(self, event: Event, attempts: int = 1) -> Delivery:
        """Post `event` now; a failure is logged and scheduled for a retry."""
        with self._lock:
            delivery = self.post(event)
        delivery.attempts = attempts
        if not delivery.ok:
            self._failed(delivery)
        return delivery

    def _failed(self, delivery: Delivery) -> None:
        event = delivery.event
        why = delivery.error or f"answered {delivery.status}"
        if delivery.attempts <= len(self.retry_after_s):
            wait = self.retry_after_s[delivery.attempts - 1]
            log.error(
                "webhook %s %s %s (attempt %d); Stripe retries it in %.0f s",
                event["type"],
                event["id"],
                why,
                delivery.attempts,
                wait,
            )
            with self._lock:
                self._retries.append(_Retry(time.monotonic() + wait, delivery.attempts + 1, event))
        else:
            log.error(
                "webhook %s %s %s; Stripe gives up after %d attempts",
                event["type"],
                event["id"],
                why,
                delivery.attempts,
            )
            self.failed.append(delivery)

    def enqueue(self, events: list[Event]) -> None:
        """Post `events` in order, soon, from the background thread (after the answer that caused them)."""
        for event in events:
            self._queue.put(event)

    def drain(self) -> list[Delivery]:
        """Post whatever is queued now (and retries that are due); the deliveries."""
        done: list[Delivery] = []
        while True:
            try:
                event = self._queue.get_nowait()
            except queue.Empty:
                break
            done.append(self.deliver(event))
        now = time.monotonic()
        with self._lock:
            due = [r for r in self._retries if r.at <= now]
            self._retries = [r for r in self._retries if r.at > now]
        for retry in sorted(due):
            done.append(self.deliver(retry.event, retry.attempts))
        return done

    # ---- background ---------------------------------------------------------------------------------

    def start(self, tick: Callable[[], object] | None = None, interval_s: float = 1.0) -> None:
        """Post queued events and due retries; call `tick()` every `interval_s` (the clock catching up)."""

        def run() -> None:
            while not self._stop.is_set():
                try:
                    event = self._queue.get(timeout=interval_s)
                    self.deliver(event)
                except queue.Empty:
                    pass
                except Exception:
                    log.exception("webhook delivery failed")
                try:
                    if tick is not None:
                        tick()
                    self.drain()
                except Exception:
                    log.exception("the local Stripe's clock failed to advance")

        self._thread = threading.Thread(target=run, name="stripe-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
