"""POST /webhooks/stripe: verify Stripe's signature on the raw body, then hand the event to the domain.

Not a Powertools route: the signature covers the exact bytes Stripe sent, so the body
is read raw and checked before anything else. Nothing is written for a request whose
signature is missing, wrong or stale (400).

Statuses, as Stripe reads them: 2xx means done (also for events the service ignores);
400/413 are final for that delivery; 503 (the table is throttled or busy, any AWS error,
as on every HTTP route: `giftplans.errors.AWS_ERRORS`) and a crash (Lambda error -> API
500) make Stripe retry later, which is safe: fulfilment is idempotent and continues
from its last committed chunk.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from giftplans import stripe_gateway, webhooks
from giftplans.errors import AWS_ERRORS, DomainError
from giftplans.observability import HTTP_REQUEST_ID, entry, logger
from giftplans.store.writes import Refused

MAX_BODY_BYTES = 256 * 1024
# Not done now, safe to redo: 503, and Stripe delivers the event again.
RETRY_LATER: tuple[type[Exception], ...] = (DomainError, Refused, *AWS_ERRORS)


def _response(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}


def _error(status: int, code: str, message: str) -> dict[str, Any]:
    return _response(status, {"error": {"code": code, "message": message}})


def _raw_body(event: dict[str, Any]) -> bytes:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return base64.b64decode(body, validate=True)
    return body.encode("utf-8")


def _header(event: dict[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return str(value)
    return None


@entry(correlation_id_path=HTTP_REQUEST_ID)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        payload = _raw_body(event)
    except (binascii.Error, ValueError):
        return _error(400, "malformed_body", "The request body is not valid base64.")
    if len(payload) > MAX_BODY_BYTES:
        return _error(413, "payload_too_large", "The webhook body is larger than 256 KB.")
    try:
        stripe_event = stripe_gateway.verify_webhook(payload, _header(event, "stripe-signature"))
    except stripe_gateway.SignatureError as reason:
        logger.warning("stripe webhook refused", extra={"reason": str(reason)})
        return _error(
            400, "invalid_signature", "The Stripe signature is missing, does not match or is too old."
        )
    except ValueError:
        return _error(400, "malformed_json", "The webhook body is not a Stripe event in JSON.")
    try:
        result = webhooks.handle(stripe_event)
    except RETRY_LATER as error:
        logger.warning(
            "stripe event not processed; Stripe will retry",
            extra={
                "event_id": stripe_event.get("id"),
                "event_type": stripe_event.get("type"),
                "error": type(error).__name__,
            },
        )
        return _error(503, "temporarily_unavailable", "The event could not be processed now; please retry.")
    except Exception:
        # A crash: Lambda reports an error, API Gateway answers 500 and Stripe retries the delivery.
        logger.exception(
            "stripe event crashed",
            extra={"event_id": stripe_event.get("id"), "event_type": stripe_event.get("type")},
        )
        raise
    return _response(200, {"received": True, "result": result})
