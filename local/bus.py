"""What was published to EventBridge, for `GET /_local/events`.

The events publisher puts the domain events on the bus with `PutEvents`; moto accepts
them and keeps nothing a test can read back without a rule and a target. So, as the
outbox does for SES v2 (local.mail), the log listens where moto answers `PutEvents`
(the server runs in this process) and records each entry moto accepted: its detail
type, source, detail (parsed) and time. An entry moto refused is not recorded.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any


class EventLog:
    def __init__(self, now: Callable[[], datetime], iso: Callable[[datetime], str]) -> None:
        self._now = now
        self._iso = iso
        self._events: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def record(self, entries: list[dict[str, Any]], results: list[dict[str, Any]]) -> None:
        at = self._iso(self._now())
        with self._lock:
            for entry, result in zip(entries, results, strict=False):
                if not result.get("EventId") or result.get("ErrorCode"):
                    continue
                try:
                    detail = json.loads(entry.get("Detail") or "{}")
                except ValueError:
                    detail = entry.get("Detail")
                self._events.append(
                    {
                        "detail_type": entry.get("DetailType"),
                        "source": entry.get("Source"),
                        "detail": detail,
                        "time": at,
                    }
                )

    def events(self, detail_type: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            found = list(self._events)
        if detail_type:
            found = [e for e in found if e["detail_type"] == detail_type]
        return found

    def install(self) -> None:
        """Listen to moto's EventBridge PutEvents."""
        from moto.events.responses import EventsHandler

        original = EventsHandler.put_events
        if getattr(original, "_local_event_log", False):
            return
        log = self

        def put_events(response: EventsHandler) -> str:
            answer = original(response)
            with contextlib.suppress(ValueError, KeyError, TypeError):  # what moto refused is not logged
                log.record(json.loads(response.body)["Entries"], json.loads(answer)["Entries"])
            return answer

        put_events._local_event_log = True  # type: ignore[attr-defined]
        EventsHandler.put_events = put_events  # type: ignore[method-assign,assignment]
