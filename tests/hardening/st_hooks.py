"""Schemathesis hooks for tests/hardening/test_generated_requests.py (loaded through SCHEMATHESIS_HOOKS)."""

from __future__ import annotations

import json
from typing import Any

import schemathesis

# API Gateway's authorizers answer before any handler, in their own body; the OpenAPI
# document declares it (GatewayRefusal). Everything else a client can cause is ours.
GATEWAY_REFUSALS = {401: {"message": "Unauthorized"}, 403: {"message": "Forbidden"}}


@schemathesis.check
def spec_error_shape(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx body is {"error": {"code": str, "message": str}} (SPEC section 4)."""
    if not 400 <= response.status_code < 500:
        return None
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        raise AssertionError(f"{response.status_code} body is not JSON: {response.content[:200]!r}") from None
    if GATEWAY_REFUSALS.get(response.status_code) == body:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    if not (
        isinstance(error, dict)
        and isinstance(error.get("code"), str)
        and error["code"]
        and isinstance(error.get("message"), str)
        and error["message"]
    ):
        raise AssertionError(f"{response.status_code} is not the SPEC error shape: {body!r}"[:400])
    return True
