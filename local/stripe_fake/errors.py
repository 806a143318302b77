"""Stripe's error answer, `{"error": {"type", "code", "param", "message", "doc_url"}}`, and its status."""

from __future__ import annotations

from typing import Any


class StripeError(Exception):
    """What Stripe answers when it refuses a request (or the local pages and routes refuse one)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        type: str = "invalid_request_error",
        doc_url: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        error: dict[str, Any] = {"type": type, "message": message}
        if code:
            error["code"] = code
            error["doc_url"] = doc_url or f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
        if param:
            error["param"] = param
        self.body: dict[str, Any] = {"error": error}


def no_such(kind: str, object_id: str, param: str = "id") -> StripeError:
    """404 resource_missing, as Stripe answers for an id it does not know."""
    return StripeError(404, f"No such {kind}: '{object_id}'", code="resource_missing", param=param)
