"""SNS -> Lambda, as an SNS subscription invokes a function: the template's `SNS` events, locally.

A message published to a topic in the emulation (moto's SNS, in this process) is handed to
every function template.yaml subscribes to that topic, the way SNS invokes Lambda:
asynchronously, one message per invocation, the event `{"Records": [{"EventSource":
"aws:sns", "EventSubscriptionArn": ..., "Sns": {"Type": "Notification", "MessageId",
"TopicArn", "Message", "Timestamp", ...}}]}`. An invocation that raises is retried up to the
function's `EventInvokeConfig.MaximumRetryAttempts` (2 by default, as Lambda does for
asynchronous invocations), then dropped with an error log (deployed, it goes to the
on-failure destination, the dead-letter queue).

Deliveries run on a background thread; `drain()` delivers what is pending now (the local
routes that read mail or events call it, as they drain the table's stream).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import queue
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger("local.sns")

Invoke = Callable[[dict[str, Any]], Any]


@dataclass(frozen=True)
class Subscriber:
    job: str
    invoke: Invoke
    max_attempts: int  # 1 + MaximumRetryAttempts


@dataclass
class _Pending:
    subscriber: Subscriber
    event: dict[str, Any]
    attempts: int = 0


def lambda_event(
    topic_arn: str, message_id: str, message: str, subject: str | None, region: str
) -> dict[str, Any]:
    """The event SNS gives a subscribed function for one message."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    signature = base64.b64encode(hashlib.sha256(f"{message_id}{message}".encode()).digest()).decode()
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic_arn}:{uuid.uuid4()}",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": message_id,
                    "TopicArn": topic_arn,
                    "Subject": subject,
                    "Message": message,
                    "Timestamp": now,
                    "SignatureVersion": "1",
                    "Signature": signature,
                    "SigningCertUrl": f"https://sns.{region}.amazonaws.com/SimpleNotificationService-local.pem",
                    "UnsubscribeUrl": (
                        f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={topic_arn}"
                    ),
                    "MessageAttributes": {},
                },
            }
        ]
    }


class SnsToLambda:
    """The template's SNS subscriptions of functions, fed from moto's SNS `Topic.publish`."""

    def __init__(self, subscriptions: dict[str, list[Subscriber]], region: str = "us-east-1") -> None:
        self.subscriptions = subscriptions  # topic ARN -> its subscribed functions
        self.region = region
        self._pending: queue.Queue[_Pending] = queue.Queue()
        self._lock = threading.Lock()  # one delivery pass at a time
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.dropped: list[dict[str, Any]] = []

    def published(self, topic_arn: str, message_id: str, message: str, subject: str | None) -> None:
        for subscriber in self.subscriptions.get(topic_arn, []):
            event = lambda_event(topic_arn, message_id, message, subject, self.region)
            self._pending.put(_Pending(subscriber, event))

    def install(self) -> None:
        """Listen where moto's SNS publishes to a topic (the emulation runs in this process)."""
        from moto.sns.models import Topic

        original = Topic.publish
        if getattr(original, "_local_sns", False):
            return
        listener = self

        def publish(topic: Topic, message: str, subject: str | None = None, *args: Any, **kwargs: Any) -> str:
            message_id = original(topic, message, subject, *args, **kwargs)
            listener.published(topic.arn, message_id, message, subject)
            return message_id

        publish._local_sns = True  # type: ignore[attr-defined]
        Topic.publish = publish  # type: ignore[method-assign,assignment]

    def drain(self) -> int:
        """Deliver everything pending now (retrying failures at once, up to their limit); how many went."""
        delivered = 0
        with self._lock:
            while True:
                try:
                    pending = self._pending.get_nowait()
                except queue.Empty:
                    return delivered
                delivered += self._deliver(pending)

    def _deliver(self, pending: _Pending) -> int:
        subscriber = pending.subscriber
        while pending.attempts < subscriber.max_attempts:
            pending.attempts += 1
            try:
                subscriber.invoke(pending.event)
                return 1
            except Exception:
                log.exception(
                    "%s raised on an SNS message (attempt %d of %d)",
                    subscriber.job,
                    pending.attempts,
                    subscriber.max_attempts,
                )
        log.error("%s: giving up on an SNS message after %d attempts", subscriber.job, pending.attempts)
        self.dropped.append(pending.event)
        return 0

    def start(self, interval_s: float = 0.2) -> None:
        def run() -> None:
            while not self._stop.wait(interval_s):
                try:
                    self.drain()
                except Exception:
                    log.exception("SNS delivery failed; trying again")

        self._thread = threading.Thread(target=run, name="sns-to-lambda", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
