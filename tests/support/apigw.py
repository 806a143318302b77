"""API Gateway HTTP API (payload 2.0) events for in-process handler tests."""

from __future__ import annotations

import json
import sys
import uuid
from typing import Any

from local.functions import FUNCTIONS, LambdaContext, import_app


class FakeContext(LambdaContext):
    """The local server's Lambda context, named "test-function", with a steady 30 s left."""

    def __init__(self) -> None:
        super().__init__(function_name="test-function", memory_limit_in_mb=512)

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


def claims(sub: str, email: str | None = None, verified: bool = True) -> dict[str, str]:
    out = {"sub": sub, "email_verified": "true" if verified else "false"}
    if email:
        out["email"] = email
    return out


def http_event(
    method: str,
    path: str,
    *,
    route: str | None = None,
    body: Any = None,
    raw_body: str | None = None,
    claims: dict[str, str] | None = None,
    iam_arn: str | None = None,
    path_params: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An HTTP API v2 event as API Gateway would deliver it after its authorizer ran."""
    text = raw_body if raw_body is not None else (json.dumps(body) if body is not None else None)
    authorizer: dict[str, Any] = {}
    if claims is not None:
        authorizer["jwt"] = {"claims": claims, "scopes": None}
    if iam_arn is not None:
        authorizer["iam"] = {
            "accessKey": "AKIATEST",
            "accountId": "123456789012",
            "callerId": "AIDATEST",
            "userArn": iam_arn,
            "userId": "AIDATEST",
        }
    query_string = "&".join(f"{k}={v}" for k, v in (query or {}).items())
    return {
        "version": "2.0",
        "routeKey": f"{method} {route or path}",
        "rawPath": path,
        "rawQueryString": query_string,
        "headers": {"content-type": "application/json", **(headers or {})},
        "queryStringParameters": query or None,
        "pathParameters": path_params or None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "api.example.com",
            "domainPrefix": "api",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "pytest",
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": f"{method} {route or path}",
            "stage": "$default",
            "time": "01/Mar/2026:12:00:00 +0000",
            "timeEpoch": 1772366400000,
            **({"authorizer": authorizer} if authorizer else {}),
        },
        "body": text,
        "isBase64Encoded": False,
    }


def load_handler(job: str) -> Any:
    """functions/<job>/app.py imported once, as the local server imports it (`local.functions.import_app`)."""
    name = f"fn_{job}_app"
    if name in sys.modules:
        return sys.modules[name]
    return import_app(job, FUNCTIONS, name)


def call(job: str, event: dict[str, Any]) -> tuple[int, Any]:
    """Invoke a function's real handler; return (status, parsed JSON body or raw text)."""
    response = load_handler(job).handler(event, FakeContext())
    body = response.get("body")
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = body
    return int(response["statusCode"]), parsed
