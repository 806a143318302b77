"""HTTP request <-> API Gateway HTTP API (payload 2.0) event, and the routes that choose a handler.

This is what API Gateway does in front of a Lambda function, done in one process:
match the route (`POST /purchases/{purchase_id}/claim`), run the route's authorizer,
build the payload-2.0 event, call the function's real `handler(event, context)`, and
turn its result back into an HTTP response.

`Gateway` takes its routes and an `invoke(route, event)` callable, so the unit tests
drive it with fake routes and fake handlers, and the server with `template.yaml`'s.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import parse_qsl, quote

from werkzeug.wrappers import Request, Response

log = logging.getLogger("local.gateway")

ACCOUNT_ID = "123456789012"
API_ID = "local"
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript", "application/graphql")
TEXT_SUFFIXES = ("+json", "+xml")


class RouteLike(Protocol):
    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def auth(self) -> str: ...


class AuthFailure(Exception):
    """The route's authorizer refused the request (401 for JWT, 403 for IAM, as API Gateway answers)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


Authorizer = Callable[[Request], dict[str, Any]]
Invoke = Callable[[Any, dict[str, Any]], Any]


# ---- routing ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Compiled:
    route: Any
    method: str
    pattern: re.Pattern[str]
    literal_segments: int
    params: tuple[str, ...]


def _compile(path: str) -> tuple[re.Pattern[str], int, tuple[str, ...]]:
    parts, literals, params = [], 0, []
    for segment in path.strip("/").split("/"):
        match = re.fullmatch(r"\{([A-Za-z0-9_]+)(\+?)\}", segment)
        if match:
            params.append(match.group(1))
            value = ".+" if match.group(2) else "[^/]+"
            parts.append(f"(?P<{match.group(1)}>{value})")
        else:
            literals += 1
            parts.append(re.escape(segment))
    return re.compile("^/" + "/".join(parts) + "$"), literals, tuple(params)


@dataclass
class Match:
    route: Any
    path_parameters: dict[str, str]


class NoRoute(Exception):
    pass


class WrongMethod(Exception):
    def __init__(self, allowed: Sequence[str]) -> None:
        super().__init__(", ".join(allowed))
        self.allowed = list(allowed)


class Router:
    """Explicit routes, as an HTTP API has them: the most literal template wins, then the method."""

    def __init__(self, routes: Iterable[RouteLike]) -> None:
        self._routes: list[_Compiled] = []
        for route in routes:
            pattern, literals, params = _compile(route.path)
            self._routes.append(_Compiled(route, route.method.upper(), pattern, literals, params))
        # More literal segments first: /invitations/accept beats /invitations/{token}.
        self._routes.sort(key=lambda c: (-c.literal_segments, c.route.path))

    @property
    def routes(self) -> list[Any]:
        return [c.route for c in self._routes]

    def match(self, method: str, path: str) -> Match:
        allowed: list[str] = []
        for compiled in self._routes:
            found = compiled.pattern.match(path)
            if not found:
                continue
            if compiled.method in (method.upper(), "ANY"):
                return Match(compiled.route, {k: v for k, v in found.groupdict().items()})
            allowed.append(compiled.method)
        if allowed:
            raise WrongMethod(sorted(set(allowed)))
        raise NoRoute(path)


# ---- request -> event ---------------------------------------------------------------------------------


def _is_text(content_type: str) -> bool:
    media = content_type.split(";")[0].strip().lower()
    return media.startswith(TEXT_TYPES) or media.endswith(TEXT_SUFFIXES)


def _headers(request: Request) -> dict[str, str]:
    joined: dict[str, list[str]] = {}
    for name, value in request.headers.items():
        joined.setdefault(name.lower(), []).append(value)
    headers = {name: ",".join(values) for name, values in joined.items() if name != "cookie"}
    headers.setdefault("x-forwarded-for", request.remote_addr or "127.0.0.1")
    headers.setdefault("x-forwarded-proto", request.scheme)
    headers.setdefault("x-forwarded-port", str(request.environ.get("SERVER_PORT", "")))
    return headers


def _cookies(request: Request) -> list[str]:
    out: list[str] = []
    for header in request.headers.getlist("Cookie"):
        out.extend(part.strip() for part in header.split(";") if part.strip())
    return out


def _query(raw: str) -> dict[str, str]:
    joined: dict[str, list[str]] = {}
    for key, value in parse_qsl(raw, keep_blank_values=True):
        joined.setdefault(key, []).append(value)
    return {key: ",".join(values) for key, values in joined.items()}


def _body(request: Request) -> tuple[str | None, bool]:
    data = request.get_data(cache=True)
    if not data:
        return None, False
    content_type = request.headers.get("Content-Type", "")
    if content_type and _is_text(content_type):
        return data.decode("utf-8", errors="replace"), False
    if not content_type:
        try:
            return data.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(data).decode("ascii"), True


def _raw_path(request: Request) -> str:
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw:
        return str(raw).split("?", 1)[0]
    return quote(request.path)


def build_event(
    request: Request, match: Match, *, authorizer: dict[str, Any] | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """The API Gateway HTTP API payload-2.0 event for `request` on the matched route."""
    route = match.route
    instant = now or datetime.now(UTC)
    route_key = f"{route.method.upper()} {route.path}"
    raw_query = request.query_string.decode("latin-1")
    headers = _headers(request)
    body, is_base64 = _body(request)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": _raw_path(request),
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": API_ID,
            "domainName": request.host.split(":")[0] if request.host else "127.0.0.1",
            "domainPrefix": API_ID,
            "http": {
                "method": request.method.upper(),
                "path": request.path,
                "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                "sourceIp": request.remote_addr or "127.0.0.1",
                "userAgent": request.headers.get("User-Agent", ""),
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": route_key,
            "stage": "$default",
            "time": instant.astimezone(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(instant.timestamp() * 1000),
        },
        "isBase64Encoded": is_base64,
    }
    cookies = _cookies(request)
    if cookies:
        event["cookies"] = cookies
    if raw_query:
        event["queryStringParameters"] = _query(raw_query)
    if match.path_parameters:
        event["pathParameters"] = dict(match.path_parameters)
    if authorizer:
        event["requestContext"]["authorizer"] = authorizer
    if body is not None:
        event["body"] = body
    return event


# ---- result -> response -------------------------------------------------------------------------------


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers, content_type="application/json")


def error_response(status: int, code: str, message: str, **extra: Any) -> Response:
    return json_response(status, {"error": {"code": code, "message": message, **extra}})


def to_response(result: Any) -> Response:
    """Lambda's result as API Gateway (payload 2.0) turns it into an HTTP response."""
    if not (isinstance(result, dict) and "statusCode" in result):
        # A bare value: API Gateway answers 200 with it as JSON.
        return json_response(200, result)
    body = result.get("body")
    data: bytes
    if body is None:
        data = b""
    elif result.get("isBase64Encoded"):
        data = base64.b64decode(body)
    else:
        data = str(body).encode("utf-8")
    response = Response(data, status=int(result["statusCode"]))
    response.headers.pop("Content-Type", None)
    for name, value in (result.get("headers") or {}).items():
        response.headers[name] = str(value)
    for name, values in (result.get("multiValueHeaders") or {}).items():
        for value in values:
            response.headers.add(name, str(value))
    for cookie in result.get("cookies") or []:
        response.headers.add("Set-Cookie", cookie)
    if data and "Content-Type" not in response.headers:
        response.headers["Content-Type"] = "application/json"
    return response


# ---- the gateway --------------------------------------------------------------------------------------


class Gateway:
    """Route, authorize, build the event, invoke, answer: API Gateway for one process."""

    def __init__(
        self,
        routes: Iterable[RouteLike],
        invoke: Invoke,
        *,
        authorizers: dict[str, Authorizer] | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.router = Router(routes)
        self._invoke = invoke
        self._authorizers = authorizers or {}
        self._now = now

    def __call__(self, request: Request) -> Response:
        try:
            match = self.router.match(request.method, request.path)
        except NoRoute:
            return error_response(404, "not_found", "There is nothing at this address.")
        except WrongMethod as wrong:
            response = error_response(
                405, "method_not_allowed", f"This address does not accept {request.method}."
            )
            response.headers["Allow"] = ", ".join(wrong.allowed)
            return response
        auth = (getattr(match.route, "auth", None) or "none").lower()
        authorizer_output: dict[str, Any] | None = None
        if auth != "none":
            authorize = self._authorizers.get(auth)
            if authorize is None:
                return json_response(500, {"message": f"no local stand-in for the '{auth}' authorizer"})
            try:
                authorizer_output = authorize(request)
            except AuthFailure as failure:
                return json_response(failure.status, {"message": failure.message})
        event = build_event(request, match, authorizer=authorizer_output, now=self._now())
        try:
            result = self._invoke(match.route, event)
        except Exception as error:
            if emulation_failed(error):
                # The emulated AWS failed (moto answered 5xx, or could not be reached): that is the
                # emulation's failure, never the client's, and it must not look like a handler bug.
                log.exception("the AWS emulation failed under %s %s", match.route.method, match.route.path)
                response = error_response(503, "service_unavailable", EMULATION_FAILED)
                response.headers["Retry-After"] = "1"
                return response
            # Lambda reports an unhandled error and API Gateway answers 500.
            log.exception("handler for %s %s raised", match.route.method, match.route.path)
            return json_response(500, {"message": "Internal Server Error"})
        return to_response(result)


EMULATION_FAILED = (
    "A service this request needs is not answering right now (the local AWS emulation failed). "
    "Please try again in a moment."
)
_AWS_BUSY_CODES = frozenset(
    {
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "ThrottlingException",
        "Throttling",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
    }
)


def emulation_failed(error: BaseException) -> bool:
    """True when `error` (or what caused it) is the emulated AWS failing: a 5xx, throttling, no answer."""
    from botocore.exceptions import BotoCoreError, ClientError

    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, BotoCoreError):
            return True
        if isinstance(current, ClientError):
            status = int(current.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            code = str(current.response.get("Error", {}).get("Code", ""))
            return status >= 500 or code in _AWS_BUSY_CODES
        cause = getattr(current, "cause", None)  # PynamoDB keeps botocore's error as `cause`
        current = cause if isinstance(cause, BaseException) else (current.__cause__ or current.__context__)
    return False
