"""What each HTTP route takes and answers, declared once, as JSON Schema.

A route's declaration (`takes`) is read twice: at the request, where jsonschema_rs checks
the path, query, headers and JSON body against it before the handler runs, and by
tools/openapi_gen, which writes it into the OpenAPI document. The schemas are plain dicts
built by the helpers below (`string`, `integer`, `model`, ...), so defining them costs
nothing at INIT, and no pydantic is imported by any function (it was about a third of an
API function's cold start).

A request that does not match answers as before (`giftplans.http`): 400 `malformed_json`,
`body_required` or `malformed_body`, else 422 `invalid_field` naming the first field and why,
every field in `fields`. The handler gets the checked values as keyword arguments: path
parameters by name, query parameters and headers by their Python name (defaults filled in),
the body as `body`, with `date-time` strings as aware datetimes.

With GIFTPLANS_CHECK_ANSWERS set (the tests, `make dev`), every answer is checked against its
declared schema too, so the document cannot drift from what the handlers send.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

import jsonschema_rs

Schema = dict[str, Any]
Handler = Callable[..., Any]


class Routes(Protocol):
    """A Powertools resolver or router: what `takes` reads the request from."""

    @property
    def current_event(self) -> Any: ...


DOCUMENTED = "x-documented"  # keywords the document shows instead of the (looser) checked ones
CONTRACT = "__contract__"  # the attribute of a declared handler that holds its `Contract`


def _described(schema: Schema, description: str | None, nullable: bool) -> Schema:
    if description:
        schema["description"] = description
    if nullable:
        schema["type"] = [schema["type"], "null"]
    return schema


def _limits(**keywords: Any) -> Schema:
    return {key: value for key, value in keywords.items() if value is not None}


def string(
    *,
    min_length: int | None = None,
    max_length: int | None = None,
    pattern: str | None = None,
    enum: Iterable[str] | None = None,
    format: str | None = None,
    description: str | None = None,
    nullable: bool = False,
    default: Any = None,
    documented: Schema | None = None,
) -> Schema:
    """A string; `documented` keywords are what the document states where the domain checks a
    tighter limit itself (with a reason per row) than the request check does."""
    schema: Schema = {"type": "string"} | _limits(
        minLength=min_length, maxLength=max_length, pattern=pattern, format=format, default=default
    )
    if enum is not None:
        schema["enum"] = [*enum, None] if nullable else list(enum)
    if documented:
        schema[DOCUMENTED] = documented
    return _described(schema, description, nullable)


def integer(
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    description: str | None = None,
    nullable: bool = False,
    default: int | None = None,
) -> Schema:
    """A whole number; 2.0 is refused as pydantic's strict integers refused it."""
    schema = {"type": "integer"} | _limits(minimum=minimum, maximum=maximum, default=default)
    return _described(schema, description, nullable)


def boolean(*, description: str | None = None, default: bool | None = None) -> Schema:
    return _described({"type": "boolean"} | _limits(default=default), description, False)


def array(
    items: Schema,
    *,
    min_items: int | None = None,
    max_items: int | None = None,
    description: str | None = None,
    documented: Schema | None = None,
) -> Schema:
    schema = {"type": "array", "items": items} | _limits(minItems=min_items, maxItems=max_items)
    if documented:
        schema[DOCUMENTED] = documented
    return _described(schema, description, False)


def anything(description: str | None = None) -> Schema:
    """A JSON object whose keys this document does not fix (an audit event's detail, a quote)."""
    return _described({"type": "object", "additionalProperties": True}, description, False)


def model(
    title: str,
    required: Mapping[str, Schema],
    optional: Mapping[str, Schema] | None = None,
    *,
    extra: bool = False,
    description: str | None = None,
    nullable: bool = False,
) -> Schema:
    """An object with named fields: `required` ones must be there, `optional` ones may be.

    `extra=False` refuses unknown fields, in requests and (where checked) in answers. The title
    names it in the document's components, as a pydantic model's name did.
    """
    fields = {**required, **(optional or {})}
    schema: Schema = {"title": title, "type": "object", "properties": fields, "additionalProperties": extra}
    if required:
        schema["required"] = list(required)
    if description:
        schema["description"] = description
    if nullable:
        return {"anyOf": [schema, {"type": "null"}]}
    return schema


class InvalidRequest(Exception):
    """A request that does not match its route's declaration; `errors` are rows of
    `{"type", "loc", "msg"}`, the location first ("body", "query", "path", "header")."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0]["msg"] if errors else "invalid request")
        self.errors = errors


class AnswerMismatch(AssertionError):
    """An answer that is not what its route declares (raised only with GIFTPLANS_CHECK_ANSWERS)."""


_REASONS: dict[str, Callable[[Any], str]] = {
    "Required": lambda kind: "is required",
    "AdditionalProperties": lambda kind: "is not a field of this request",
    "Type": lambda kind: f"should be {_types(kind)}",
    "MinLength": lambda kind: f"should have at least {_count(kind.limit, 'character')}",
    "MaxLength": lambda kind: f"should have at most {_count(kind.limit, 'character')}",
    "Minimum": lambda kind: f"should be at least {kind.limit}",
    "Maximum": lambda kind: f"should be at most {kind.limit}",
    "MinItems": lambda kind: f"should have at least {_count(kind.limit, 'item')}",
    "MaxItems": lambda kind: f"should have at most {_count(kind.limit, 'item')}",
    "Enum": lambda kind: "should be one of " + ", ".join(json.dumps(v) for v in kind.options),
    "Pattern": lambda kind: f"should match {kind.pattern}",
    "Format": lambda kind: (
        f"should be a {kind.format}" + (" with a time zone" if kind.format == "date-time" else "")
    ),
}


def _count(limit: int, noun: str) -> str:
    return f"{limit} {noun}" if limit == 1 else f"{limit} {noun}s"


_TYPE_NAMES = {
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "object": "an object",
    "array": "a list",
    "null": "null",
}


def _types(kind: Any) -> str:
    named = kind.types if isinstance(kind.types, list) else [kind.types]
    shown = [_TYPE_NAMES.get(str(t), str(t)) for t in named if str(t) != "null"]
    return " or ".join(shown) if len(shown) == len(named) else " or ".join([*shown, "null"])


def _rows(validator: Any, instance: Any) -> list[dict[str, Any]]:
    """pydantic-shaped error rows for what jsonschema_rs found wrong: `type`, `loc` and `msg`."""
    rows = []
    for error in validator.iter_errors(instance):
        kind = error.kind
        name = type(kind).__name__  # MaxLength, Required, ...
        loc = tuple(error.instance_path)
        if name == "Required":
            loc, kind_type = (*loc, kind.property), "missing"
        elif name == "AdditionalProperties":
            loc, kind_type = (*loc, *kind.unexpected[:1]), "extra_forbidden"
        elif name == "Type" and loc == ("body",):
            kind_type = "model_attributes_type"
        else:
            kind_type = name
        reason = _REASONS.get(name)
        rows.append({"type": kind_type, "loc": loc, "msg": reason(kind) if reason else "is not valid"})
    return rows


def _shaped(schema: Schema, value: Any, loc: tuple[Any, ...], errors: list[dict[str, Any]]) -> Any:
    """The checked value as the handler wants it: `date-time` strings as aware datetimes; a
    float where a whole number is declared is an error (JSON Schema would let 2.0 through)."""
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if value is None:
        return value
    if "integer" in kinds and isinstance(value, float):
        errors.append({"type": "int_type", "loc": loc, "msg": "should be a whole number"})
    elif schema.get("format") == "date-time" and isinstance(value, str):
        try:
            return datetime.fromisoformat(value.upper())
        except ValueError:
            errors.append({"type": "datetime", "loc": loc, "msg": "should be a real date and time"})
    elif isinstance(value, dict) and "properties" in schema:
        fields = schema["properties"]
        return {k: _shaped(fields[k], v, (*loc, k), errors) if k in fields else v for k, v in value.items()}
    elif isinstance(value, list) and "items" in schema:
        return [_shaped(schema["items"], v, (*loc, i), errors) for i, v in enumerate(value)]
    for branch in schema.get("anyOf", ()):
        if branch.get("type") != "null":
            return _shaped(branch, value, loc, errors)
    return value


def _python_name(header: str) -> str:
    return header.lower().replace("-", "_")


def _parameters(fields: Mapping[str, Schema], required: Iterable[str]) -> Schema:
    return {"type": "object", "properties": dict(fields), "required": list(required)}


class Contract:
    """One route's declaration and its compiled check."""

    def __init__(
        self,
        answers: Mapping[int, Schema] | Schema | None,
        path: Mapping[str, Schema],
        query: Mapping[str, Schema],
        headers: Mapping[str, Schema],
        body: Schema | None,
    ) -> None:
        self.answers = answers
        self.path, self.query, self.headers, self.body = dict(path), dict(query), dict(headers), body
        request: Schema = {
            "type": "object",
            "properties": {
                "path": _parameters(self.path, self.path),
                "query": _parameters(self.query, [n for n, s in self.query.items() if required(s)]),
                "header": _parameters(self.headers, [n for n, s in self.headers.items() if required(s)]),
            },
        }
        if body is not None:
            request["properties"]["body"] = body
            request["required"] = ["body"]
        self._check = jsonschema_rs.validator_for(request, validate_formats=True)
        self._answer_checks: dict[int | None, Any] = {}

    def arguments(self, event: Any, path_args: Mapping[str, Any]) -> dict[str, Any]:
        """The handler's keyword arguments from the request, checked; InvalidRequest if it does not match."""
        query_strings = event.query_string_parameters or {}
        header_strings = event.headers or {}
        request: dict[str, Any] = {
            "path": dict(path_args),
            "query": {n: _coerced(s, query_strings[n]) for n, s in self.query.items() if n in query_strings},
            "header": {n: header_strings[n] for n in self.headers if header_strings.get(n) is not None},
        }
        if self.body is not None:
            text = event.decoded_body
            if text:
                request["body"] = _parsed(text)
        errors = _rows(self._check, request)
        if errors:
            raise InvalidRequest(errors)
        shaped: dict[str, Any] = dict(request["path"])
        for name, schema in self.query.items():
            shaped[name] = request["query"].get(name, schema.get("default"))
        for name, schema in self.headers.items():
            shaped[_python_name(name)] = request["header"].get(name, schema.get("default"))
        if "body" in request:
            shaped["body"] = _shaped(self.body or {}, request["body"], ("body",), errors)
        if errors:
            raise InvalidRequest(errors)
        return shaped

    def check_answer(self, result: Any) -> None:
        """AnswerMismatch unless `result` (what the handler returned) is what this route declares."""
        status, body = getattr(result, "status_code", None), getattr(result, "body", result)
        if isinstance(body, str):
            body = json.loads(body)
        declared: Any = self.answers
        key = status if by_status(declared) else None
        schema = declared.get(key) if key is not None else declared
        if schema is None:
            raise AnswerMismatch(f"the route declares no answer for status {status}")
        check = self._answer_checks.get(key) or jsonschema_rs.validator_for(schema)
        self._answer_checks[key] = check
        wrong = _rows(check, body)
        if wrong:
            raise AnswerMismatch(f"answer does not match its declaration: {wrong}")


def by_status(answers: Any) -> bool:
    return isinstance(answers, Mapping) and bool(answers) and all(isinstance(k, int) for k in answers)


def required(schema: Schema) -> bool:
    kinds = schema.get("type")
    return "default" not in schema and not (isinstance(kinds, list) and "null" in kinds)


def _coerced(schema: Schema, text: str) -> Any:
    """A query string as its declared type where it reads as one (else left for the check to refuse)."""
    kinds = schema.get("type")
    if "integer" in (kinds if isinstance(kinds, list) else [kinds]) and text.lstrip("-").isdigit():
        return int(text) if len(text) <= 20 else text
    return text


def _parsed(text: str) -> Any:
    try:
        return json.loads(text)
    except RecursionError:
        reason = "is nested too deeply"
    except ValueError as error:  # JSONDecodeError, and an integer past Python's 4300-digit limit
        reason = str(error).split(";")[0]
    raise InvalidRequest([{"type": "json_invalid", "loc": ("body",), "msg": reason}])


def takes(
    routes: Routes,
    *,
    answers: Mapping[int, Schema] | Schema | None = None,
    path: Mapping[str, Schema] | None = None,
    query: Mapping[str, Schema] | None = None,
    headers: Mapping[str, Schema] | None = None,
    body: Schema | None = None,
) -> Callable[[Handler], Handler]:
    """Declare what a route takes and answers; put it under the route's `@app.get/post(...)`.

    `answers` is the success body's schema, or `{status: schema}` for a route that answers
    more than one success (it then returns a `Response`).
    """
    contract = Contract(answers, path or {}, query or {}, headers or {}, body)

    def declare(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def checked(**path_args: Any) -> Any:
            result = handler(**contract.arguments(routes.current_event, path_args))
            if answers is not None and os.environ.get("GIFTPLANS_CHECK_ANSWERS"):
                contract.check_answer(result)
            return result

        setattr(checked, CONTRACT, contract)
        return checked

    return declare
