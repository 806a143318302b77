"""What every HTTP API function shares: the resolver, the caller's identity, errors.

`make_app()` returns a Powertools `APIGatewayHttpResolver` whose exception handlers turn
every failure into the SPEC error shape, `{"error": {"code", "message"}}`, with the right
status, in one place: domain errors carry their own status; a request that does not match
its route's declaration (`giftplans.contract`) is 400/422; and
any AWS error (a botocore ClientError of any code, a connection failure or timeout, a
PynamoDB error) is 503 `temporarily_unavailable`, logged as an error. Nothing a client
sends, and nothing a dependency does, becomes a bare 500.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from giftplans import lean_imports  # noqa: F401  first: Powertools' event handler without its other resolvers

# isort: split
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler import Response as Response
from aws_lambda_powertools.event_handler import content_types as content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter as APIGatewayHttpRouter

from giftplans import locales
from giftplans.contract import InvalidRequest
from giftplans.errors import AWS_ERRORS, DomainError, Forbidden, Unauthorized
from giftplans.identity import Caller
from giftplans.observability import logger

if TYPE_CHECKING:
    Routes = APIGatewayHttpResolver | APIGatewayHttpRouter  # a function's resolver, or a router of its routes

UNAVAILABLE = "The service is busy right now; nothing was changed. Please try again in a moment."

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[str]:
    error: dict[str, Any] = {"code": code, "message": message}
    error.update(extra or {})
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps({"error": error}),
        headers=headers,
    )


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body),
        headers=headers,
    )


def _describe(errors: list[Any]) -> tuple[int, str, str, list[dict[str, Any]]]:
    rows = []
    for e in errors:
        loc = [str(part) for part in e.get("loc", ()) if part not in ("body",)]
        rows.append({"field": ".".join(loc) or "body", "reason": str(e.get("msg", "is invalid"))})
    kinds = {e.get("type") for e in errors}
    if "json_invalid" in kinds:
        return 400, "malformed_json", NOT_JSON, rows
    if any(e.get("type") == "missing" and tuple(e.get("loc", ())) == ("body",) for e in errors):
        return 400, "body_required", "This request needs a JSON body.", rows
    if any(e.get("type") == "model_attributes_type" and tuple(e.get("loc", ())) == ("body",) for e in errors):
        return 400, "malformed_body", "The request body must be a JSON object.", rows
    first = rows[0] if rows else {"field": "body", "reason": "is invalid"}
    return 422, "invalid_field", f"The field '{first['field']}' is not valid: {first['reason']}.", rows


JSON_ONLY = "This API reads JSON only: send the body as application/json."
NOT_JSON = "The request body is not valid JSON."
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def unsupported_media_type(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """415 in the SPEC shape for a request that carries a body in anything but JSON, else None.

    Checked before Powertools parses the body: it would parse forms, and raise a bare
    ValueError (a 500) on `multipart/form-data` without a boundary, and its own 415 is not
    the SPEC shape.
    """
    headers = event.get("headers") or {}
    content_type = next((str(v) for k, v in headers.items() if k.lower() == "content-type"), "")
    media = content_type.split(";", 1)[0].strip().lower()
    if not media or media == "application/json":
        return None
    method = str(((event.get("requestContext") or {}).get("http") or {}).get("method", "")).upper()
    if method not in _BODY_METHODS and not event.get("body"):
        return None
    return _answered_early(415, "unsupported_media_type", JSON_ONLY)


def undecodable_body(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """400 `malformed_json` for a base64 body that is not UTF-8 text, else None.

    Powertools decodes a base64 body as strict UTF-8 before any parser sees it, and its
    UnicodeDecodeError would be a bare 500 (API Gateway base64-encodes a body it cannot pass as text).
    """
    body = event.get("body")
    if not body or not event.get("isBase64Encoded"):
        return None
    try:
        base64.b64decode(body).decode("utf-8")
    except ValueError:  # bad base64 (binascii.Error) or not UTF-8 (UnicodeDecodeError)
        return _answered_early(
            400, "malformed_json", NOT_JSON, fields=[{"field": "body", "reason": "is not UTF-8 text"}]
        )
    return None


def _answered_early(status: int, code: str, message: str, **extra: Any) -> dict[str, Any]:
    """An API Gateway answer in the SPEC error shape, for a request refused before the resolver runs."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": content_types.APPLICATION_JSON},
        "body": json.dumps({"error": {"code": code, "message": message, **extra}}),
        "isBase64Encoded": False,
    }


class JsonHttpResolver(APIGatewayHttpResolver):
    """The HTTP API resolver, refusing non-JSON bodies, and bodies that are not text, before
    anything parses them."""

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        refused = unsupported_media_type(event) or undecodable_body(event)
        return refused if refused is not None else super().resolve(event, context)


def make_app() -> APIGatewayHttpResolver:
    app = JsonHttpResolver()

    @app.exception_handler(DomainError)  # type: ignore[untyped-decorator]  # Powertools leaves it untyped
    def _domain(error: DomainError) -> Response[str]:
        return error_response(
            error.status, error.code, error.message, extra=error.details, headers=error.headers
        )

    @app.exception_handler(InvalidRequest)  # type: ignore[untyped-decorator]
    def _invalid(error: InvalidRequest) -> Response[str]:
        status, code, message, rows = _describe(error.errors)
        return error_response(status, code, message, extra={"fields": rows})

    @app.exception_handler(list(AWS_ERRORS))  # type: ignore[untyped-decorator]
    def _aws(error: Exception) -> Response[str]:
        return aws_unavailable(error)

    @app.not_found
    def _not_found(_: NotFoundError) -> Response[str]:
        return error_response(404, "not_found", "There is nothing at this address.")

    return app


def aws_unavailable(error: Exception) -> Response[str]:
    """503 in the SPEC shape for an AWS error, logged (with its code) so the alarm and the logs see it."""
    logger.error(
        "AWS call failed; answered 503",
        extra={"error": type(error).__name__, "aws_code": aws_error_code(error)},
        exc_info=error,
    )
    return error_response(503, "temporarily_unavailable", UNAVAILABLE)


def aws_error_code(error: Exception) -> str | None:
    """The AWS error code behind a botocore or PynamoDB error, if there is one."""
    cause: Any = getattr(error, "cause", None) or error
    response = getattr(cause, "response", None)
    code = ((response or {}).get("Error") or {}).get("Code") if isinstance(response, dict) else None
    return str(code) if code else None


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def caller(app: Routes) -> Caller:
    """The signed-in account, from the claims API Gateway's JWT authorizer checked."""
    ctx = app.current_event.raw_event.get("requestContext") or {}
    claims = ((ctx.get("authorizer") or {}).get("jwt") or {}).get("claims") or {}
    sub = claims.get("sub")
    if not sub:
        raise Unauthorized("Sign in to do this.", code="unauthenticated")
    email = claims.get("email")
    return Caller(
        sub=str(sub),
        email=str(email).strip() if email else None,
        email_verified=_truthy(claims.get("email_verified")),
        locale=request_locale(app, claims.get("locale")),
    )


def request_locale(app: Routes, claim: object = None) -> str | None:
    """The reader's language for what this request leads to (mail): the claim, else Accept-Language."""
    headers = app.current_event.raw_event.get("headers") or {}
    accept = next((str(v) for k, v in headers.items() if k.lower() == "accept-language"), None)
    return locales.of_request(claim, accept)


SUPPORT_ONLY = "The support API is for the support team's IAM role only."
LOCAL_SUPPORT_ROLE = "arn:aws:iam::000000000000:role/gift-plans-support"  # make dev, tests: never in Lambda


def support_identity(app: Routes) -> str:
    """The IAM principal of a support call: a session of `SupportRole` (SUPPORT_ROLE_ARN), nothing else.

    Admin routes use AWS_IAM, so any principal of the account that may invoke the API reaches the
    handler; only the support role's sessions (`arn:...:sts::<account>:assumed-role/<name>/<who>`)
    are answered, others get 403 `support_only`, as does the web client's JWT.
    """
    ctx = app.current_event.raw_event.get("requestContext") or {}
    iam = (ctx.get("authorizer") or {}).get("iam") or {}
    arn = str(iam.get("userArn") or "")
    if not arn or not arn.startswith(_support_session_prefix()):
        raise Forbidden(SUPPORT_ONLY, code="support_only")
    return arn


def _support_session_prefix() -> str:
    """`arn:<partition>:sts::<account>:assumed-role/<role name>/` of the support role."""
    role = os.environ.get("SUPPORT_ROLE_ARN") or ""
    if not role and not os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        role = LOCAL_SUPPORT_ROLE
    parts = role.split(":", 5)
    if len(parts) != 6 or parts[2] != "iam" or not parts[5].startswith("role/"):
        return "\0"  # deployed without the role: nobody is support (fail closed)
    return f"arn:{parts[1]}:sts::{parts[4]}:assumed-role/{parts[5].rsplit('/', 1)[-1]}/"


ERROR_DESCRIPTIONS = {
    400: "Malformed request (bad JSON, missing body, bad cursor).",
    401: "No identity: sign in first.",
    403: "Not allowed.",
    404: "Not found, or not yours.",
    409: "The resource's state does not allow this.",
    410: "Gone.",
    413: "Too large.",
    415: "The body is not JSON.",
    422: "A field is not valid.",
    429: "Too many requests; try again later.",
    503: "A dependency is busy; nothing was changed, retry.",
}


def error_responses(*statuses: int) -> dict[int, Any]:
    """OpenAPI `responses=` entries for a route's error statuses, all in the SPEC error shape."""
    return {
        status: {
            "description": ERROR_DESCRIPTIONS.get(status, "Error."),
            "content": {"application/json": {"schema": ERROR_SCHEMA}},
        }
        for status in statuses
    }
