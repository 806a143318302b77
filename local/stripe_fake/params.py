"""Every request the fake receives is checked against the stripe library's own parameter types.

stripe-python (16.x) publishes a `TypedDict` for the parameters of each API method
(`stripe.params.checkout.SessionCreateParams`, `stripe.params.CouponCreateParams`, ...),
generated from Stripe's OpenAPI description: the same types the service builds its
requests from, so mypy checks the service and this module checks the wire.

`check(params, Params)` walks the decoded form against the TypedDict and raises the error
Stripe answers:

- a key the type does not have: 400 `parameter_unknown`, "Received unknown parameter: <param>";
- a value outside an enum (a `Literal`): 400, "Invalid <param>: must be one of a, b, or c"
  (stripe-python widens enums with `|str` for forward compatibility; the API does not, so
  a `Literal[...]|str` is checked as the enum);
- a missing required key: 400 `parameter_missing`, "Missing required param: <param>.";
- a value that is not an integer, a boolean, a number, a string, a list or a hash where the
  type says so: 400 `parameter_invalid_integer` ("Invalid integer: <value>") and the like.

The request options every TypedDict of a request inherits (`api_key`, `idempotency_key`,
...) are sent as headers by the library, never as parameters: as parameters they are unknown.
"""

from __future__ import annotations

import decimal
import sys
import types
from functools import cache
from typing import Any, ForwardRef, Literal, NotRequired, Required, Union, get_args, get_origin

import typing_extensions

from local.stripe_fake.errors import StripeError

REQUEST_OPTIONS = frozenset(
    {
        "api_key",
        "stripe_version",
        "stripe_account",
        "stripe_context",
        "max_network_retries",
        "idempotency_key",
        "content_type",
        "headers",
    }
)


class _Invalid(Exception):
    def __init__(self, error: StripeError) -> None:
        super().__init__(str(error))
        self.error = error


def unknown(param: str) -> StripeError:
    return StripeError(
        400,
        f"Received unknown parameter: {param}",
        code="parameter_unknown",
        param=param,
        doc_url="https://stripe.com/docs/error-codes/parameter-unknown",
    )


def invalid_enum(param: str, allowed: list[str]) -> StripeError:
    shown = [a for a in allowed if a != ""]
    choices = " or ".join(shown) if len(shown) <= 2 else ", ".join(shown[:-1]) + ", or " + shown[-1]
    return StripeError(400, f"Invalid {param}: must be one of {choices}", param=param)


def missing(param: str) -> StripeError:
    return StripeError(
        400,
        f"Missing required param: {param}.",
        code="parameter_missing",
        param=param,
        doc_url="https://stripe.com/docs/error-codes/parameter-missing",
    )


def _invalid_type(param: str, kind: str, value: Any) -> StripeError:
    codes = {"integer": "parameter_invalid_integer"}
    shown = value if isinstance(value, str) else type(value).__name__
    return StripeError(400, f"Invalid {kind}: {shown}", code=codes.get(kind), param=param)


def _path(parent: str, key: str | int) -> str:
    return f"{parent}[{key}]" if parent else str(key)


@cache
def _namespace(module: str) -> dict[str, Any]:
    namespace = dict(vars(sys.modules[module]))
    namespace.setdefault("Literal", Literal)
    return namespace


def _resolve(tp: Any, module: str) -> Any:
    if isinstance(tp, str):
        tp = ForwardRef(tp)
    if isinstance(tp, ForwardRef):
        # A forward reference in the stripe library's own annotations, read in its module's namespace.
        return eval(tp.__forward_arg__, _namespace(module))  # noqa: S307  # nosec B307
    return tp


def _is_typeddict(tp: Any) -> bool:
    return isinstance(tp, type) and typing_extensions.is_typeddict(tp)


def check(params: dict[str, Any], params_type: type) -> None:
    """Raise the StripeError Stripe would answer when `params` do not fit `params_type` (a TypedDict)."""
    try:
        _check_dict(params, params_type, "", top=True)
    except _Invalid as invalid:
        raise invalid.error from None


def _check_dict(value: Any, td: type, path: str, *, top: bool = False) -> None:
    if not isinstance(value, dict):
        raise _Invalid(_invalid_type(path, "hash", value))
    annotations: dict[str, Any] = {}
    for klass in reversed(td.__mro__):
        annotations.update(getattr(klass, "__annotations__", {}))
    modules = {key: _owner(td, key) for key in annotations}
    if top:
        annotations = {k: v for k, v in annotations.items() if k not in REQUEST_OPTIONS}
    for key in value:
        if key not in annotations:
            raise _Invalid(unknown(_path(path, key)))
    for key in sorted(getattr(td, "__required_keys__", frozenset())):
        if key in annotations and key not in value:
            raise _Invalid(missing(_path(path, key)))
    for key, item in value.items():
        _check(item, annotations[key], modules[key], _path(path, key))


def _owner(td: type, key: str) -> str:
    for klass in td.__mro__:
        if key in getattr(klass, "__annotations__", {}):
            return klass.__module__
    return td.__module__


def _check(value: Any, tp: Any, module: str, path: str) -> None:
    tp = _resolve(tp, module)
    origin = get_origin(tp)
    if origin in (NotRequired, Required):
        _check(value, get_args(tp)[0], module, path)
        return
    if origin is Union or isinstance(tp, types.UnionType):
        _check_union(value, list(get_args(tp)), module, path)
        return
    if origin is Literal:
        allowed = [str(a).lower() if isinstance(a, bool) else str(a) for a in get_args(tp)]
        if not isinstance(value, str) or value not in allowed:
            raise _Invalid(invalid_enum(path, allowed))
        return
    if origin is list:
        if not isinstance(value, list):
            raise _Invalid(_invalid_type(path, "array", value))
        (inner,) = get_args(tp) or (Any,)
        for i, item in enumerate(value):
            _check(item, inner, module, _path(path, i))
        return
    if origin is dict or _is_untyped_object(tp):
        if not isinstance(value, dict):
            raise _Invalid(_invalid_type(path, "hash", value))
        args = get_args(tp)
        inner = args[1] if len(args) == 2 else (args[0] if args else Any)
        for key, item in value.items():
            _check(item, inner, module, _path(path, key))
        return
    if _is_typeddict(tp):
        _check_dict(value, tp, path)
        return
    _check_scalar(value, tp, path)


def _is_untyped_object(tp: Any) -> bool:
    origin = get_origin(tp) or tp
    return getattr(origin, "__name__", "") == "UntypedStripeObject"


def _check_scalar(value: Any, tp: Any, path: str) -> None:
    if tp is Any:
        return
    if not isinstance(value, str):
        kind = {int: "integer", bool: "boolean", float: "number", str: "string"}.get(tp, "value")
        raise _Invalid(_invalid_type(path, kind, value))
    if tp is bool:
        if value not in ("true", "false"):
            raise _Invalid(_invalid_type(path, "boolean", value))
    elif tp is int:
        try:
            int(value)
        except ValueError:
            raise _Invalid(_invalid_type(path, "integer", value)) from None
    elif tp in (float, decimal.Decimal):
        try:
            decimal.Decimal(value)
        except decimal.InvalidOperation:
            raise _Invalid(_invalid_type(path, "decimal", value)) from None


def _check_union(value: Any, members: list[Any], module: str, path: str) -> None:
    members = [_resolve(m, module) for m in members]
    literals = [m for m in members if get_origin(m) is Literal]
    named = [str(a) for m in literals for a in get_args(m) if a != ""]
    if named:
        members = [m for m in members if m is not str]  # the library's `|str`: the API's enum stands
    failures: list[_Invalid] = []
    for member in members:
        try:
            _check(value, member, module, path)
            return
        except _Invalid as invalid:
            failures.append(invalid)
    if named and isinstance(value, str):
        raise _Invalid(invalid_enum(path, [str(a) for m in literals for a in get_args(m)]))
    # The member whose shape the value has explains best (a hash for a TypedDict, a list for a List).
    for member, failure in zip(members, failures, strict=True):
        shaped = (isinstance(value, dict) and (_is_typeddict(member) or get_origin(member) is dict)) or (
            isinstance(value, list) and get_origin(member) is list
        )
        if shaped:
            raise failure
    raise failures[0]
