"""Domain errors: a code, a sentence a person understands, and the HTTP status.

Raised anywhere in the domain; mapped to `{"error": {"code", "message"}}` in one place
(`giftplans.http`). Extra fields (for example the plan and term end of an active plan,
or per-row reasons) travel in `details`.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PynamoDBException

# Failures of AWS itself, whatever the call (a ClientError of any code, a connection failure or
# timeout, a PynamoDB error): an HTTP route answers them 503 (`giftplans.http`), Stripe retries.
AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError, PynamoDBException)


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details or {}
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        error.update(self.details)
        return {"error": error}


class BadRequest(DomainError):
    status = 400
    code = "bad_request"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Gone(DomainError):
    status = 410
    code = "gone"


class Invalid(DomainError):
    status = 422
    code = "invalid"


class TooMany(DomainError):
    status = 429
    code = "too_many_requests"


class UpstreamUnavailable(DomainError):
    """A dependency (DynamoDB throttling, Stripe, SES) failed; the client may retry."""

    status = 503
    code = "temporarily_unavailable"


class PaymentProviderError(DomainError):
    status = 502
    code = "payment_provider_error"
