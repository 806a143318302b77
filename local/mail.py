"""What SES was asked to send, for `GET /_local/mail`.

moto keeps one body per message (the HTML when both parts are given), so the outbox
listens where moto's SES v2 `SendEmail` is answered and records the whole message:
recipients, subject, text and HTML. Only messages SES accepted are recorded. Messages
sent through SES v1 or as raw MIME are picked up from moto's SES backend as well.
"""

from __future__ import annotations

import base64
import contextlib
import email
import json
import threading
from collections.abc import Callable
from datetime import datetime
from email.message import Message
from typing import Any

ACCOUNT_ID = "123456789012"


def _parts(message: Message) -> tuple[str | None, str | None]:
    text = html = None
    for part in message.walk() if message.is_multipart() else [message]:
        kind = part.get_content_type()
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        decoded = payload.decode(part.get_content_charset() or "utf-8", errors="replace")
        if kind == "text/plain" and text is None:
            text = decoded
        elif kind == "text/html" and html is None:
            html = decoded
    return text, html


class Outbox:
    def __init__(
        self, now: Callable[[], datetime], iso: Callable[[datetime], str], *, read_moto: bool = True
    ) -> None:
        self._read_moto = read_moto
        self._now = now
        self._iso = iso
        self._messages: list[dict[str, Any]] = []
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def record(
        self, message_id: str, to: list[str], subject: str | None, text: str | None, html: str | None
    ) -> None:
        with self._lock:
            if message_id in self._seen:
                return
            self._seen.add(message_id)
            self._messages.append(
                {
                    "to": to,
                    "subject": subject,
                    "text": text,
                    "html": html,
                    "sent_at": self._iso(self._now()),
                    "message_id": message_id,
                }
            )

    def _from_sesv2(self, params: dict[str, Any], message_id: str) -> None:
        destination = params.get("Destination") or {}
        to = [
            *destination.get("ToAddresses", []),
            *destination.get("CcAddresses", []),
            *destination.get("BccAddresses", []),
        ]
        content = params.get("Content") or {}
        if "Simple" in content:
            simple = content["Simple"]
            body = simple.get("Body") or {}
            self.record(
                message_id,
                to,
                (simple.get("Subject") or {}).get("Data"),
                (body.get("Text") or {}).get("Data"),
                (body.get("Html") or {}).get("Data"),
            )
        elif "Raw" in content:
            parsed = email.message_from_bytes(base64.b64decode(content["Raw"]["Data"]))
            text, html = _parts(parsed)
            self.record(
                message_id,
                to or [a.strip() for a in str(parsed.get("To", "")).split(",") if a.strip()],
                parsed.get("Subject"),
                text,
                html,
            )

    def install(self) -> None:
        """Listen to moto's SES v2 SendEmail (the server runs in this process)."""
        from moto.sesv2.responses import SESV2Response

        original = SESV2Response.send_email
        if getattr(original, "_local_outbox", False):
            return
        outbox = self

        def send_email(response: SESV2Response) -> str:
            answer = original(response)
            with contextlib.suppress(ValueError, KeyError):  # a message moto refused is not in the outbox
                outbox._from_sesv2(json.loads(response.body), json.loads(answer)["MessageId"])
            return answer

        send_email._local_outbox = True  # type: ignore[attr-defined]
        SESV2Response.send_email = send_email  # type: ignore[method-assign,assignment]

    def _sync_v1(self, region: str) -> None:
        """Messages that reached moto's SES backend some other way (SES v1, raw)."""
        from moto.ses.models import RawMessage, ses_backends

        backend = ses_backends[ACCOUNT_ID][region]
        for message in list(backend.sent_messages):
            if message.id in self._seen:
                continue
            if isinstance(message, RawMessage):
                parsed = email.message_from_string(message.raw_data)
                text, html = _parts(parsed)
                self.record(message.id, list(message.destinations), parsed.get("Subject"), text, html)
            elif hasattr(message, "subject"):
                body = getattr(message, "body", None)
                is_html = isinstance(body, str) and body.lstrip().startswith("<")
                dest = getattr(message, "destinations", {}) or {}
                to = [a for values in dest.values() for a in values] if isinstance(dest, dict) else list(dest)
                self.record(
                    message.id, to, message.subject, None if is_html else body, body if is_html else None
                )

    def messages(self, to: str | None = None, region: str = "us-east-1") -> list[dict[str, Any]]:
        if self._read_moto:
            self._sync_v1(region)
        with self._lock:
            found = list(self._messages)
        if to:
            wanted = to.strip().lower()
            found = [
                m
                for m in found
                if any(
                    wanted == a.strip().lower() or a.strip().lower().endswith(f"<{wanted}>") for a in m["to"]
                )
            ]
        return [{k: v for k, v in m.items() if k != "message_id"} for m in found]
