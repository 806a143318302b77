"""Build the one OpenAPI document of the whole HTTP API: `make openapi` (python -m tools.openapi_gen).

Every HTTP function of template.yaml whose `functions/<job>/app.py` has a Powertools
resolver (`app`) contributes its routes: what each takes and answers is its
`giftplans.contract` declaration (the same schemas the request is checked against), its
summary, tags and error responses are the route's own. Named objects (`contract.model`)
become the document's components; each operation gets the security its template route has
(JWT bearer, AWS SigV4 or none), and every error is the SPEC error shape, which is what the
API really answers. Routes served without a resolver (the Stripe webhook, this document)
are described by hand below.

The result is written to functions/openapi/openapi.json, which the `openapi` function
serves at GET /openapi.json. tests/build/test_openapi.py fails when the committed file
is stale: run `make openapi` after changing a route or a model.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = ROOT / "functions"
LAYER = ROOT / "layers" / "common"
OUTPUT = FUNCTIONS / "openapi" / "openapi.json"
if str(LAYER) not in sys.path:
    sys.path.insert(0, str(LAYER))

from giftplans import contract  # noqa: E402  the layer, found through the line above

TITLE = "Gift plans API"
VERSION = "1.0.0"
DESCRIPTION = (
    "Buy yearly plans for other people, invite them by email, claim one for yourself, accept, "
    'upgrade. Errors are {"error": {"code", "message"}} with the HTTP status.'
)
SERVERS = [
    {"url": "http://127.0.0.1:3000", "description": "make dev (local server)"},
    {
        "url": "https://{api_id}.execute-api.{region}.amazonaws.com",
        "description": "deployed HTTP API",
        "variables": {"api_id": {"default": "api"}, "region": {"default": "us-east-1"}},
    },
]
SECURITY_SCHEMES = {
    "jwt": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "The web client's identity token, checked by API Gateway's JWT authorizer.",
    },
    "sigv4": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "AWS Signature Version 4 (IAM): the support team's identities.",
    },
}
SECURITY_BY_AUTH: dict[str, list[dict[str, list[str]]]] = {"jwt": [{"jwt": []}], "iam": [{"sigv4": []}]}
ERROR_REF = {"$ref": "#/components/schemas/Error"}
ERROR_SCHEMA = {
    "type": "object",
    "title": "Error",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            "additionalProperties": True,
        }
    },
}


# API Gateway's own authorizers answer before any handler runs, in their own body: a JWT
# route without a valid token gets 401 {"message": "Unauthorized"}, an IAM route without a
# valid signature 403 {"message": "Forbidden"}. HTTP APIs cannot reshape those bodies.
GATEWAY_REFUSAL = {
    "type": "object",
    "title": "GatewayRefusal",
    "required": ["message"],
    "properties": {"message": {"type": "string"}},
}
REFUSED_BY_AUTHORIZER = {
    "jwt": (
        "401",
        'No identity: API Gateway\'s JWT authorizer refused the token ({"message"}), '
        "or the handler found no claims (the SPEC error shape).",
    ),
    "iam": (
        "403",
        'Not allowed: API Gateway refused the IAM signature ({"message"}), '
        "or the caller is not a support identity (the SPEC error shape).",
    ),
}
UNSUPPORTED_MEDIA_TYPE = "The body is not JSON (send Content-Type: application/json)."


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ERROR_REF}}}


HAND_WRITTEN: dict[str, dict[str, Any]] = {
    "/webhooks/stripe": {
        "post": {
            "summary": "Stripe webhook (signature checked on the raw body)",
            "tags": ["webhooks"],
            "operationId": "stripe_webhook_post",
            "parameters": [
                {"name": "Stripe-Signature", "in": "header", "required": True, "schema": {"type": "string"}}
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["id", "type", "data"],
                            "properties": {
                                "id": {"type": "string"},
                                "type": {"type": "string"},
                                "created": {"type": "integer"},
                                "data": {"type": "object"},
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": {
                    "description": "Received (also for event types the service does not use).",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["received", "result"],
                                "properties": {"received": {"type": "boolean"}, "result": {"type": "string"}},
                            }
                        }
                    },
                },
                "400": _error("Signature missing, wrong or stale, or not a JSON event; nothing written."),
                "413": _error("The body is larger than 256 KB."),
                "503": _error("Busy; Stripe retries the delivery."),
            },
        }
    },
    "/openapi.json": {
        "get": {
            "summary": "This document",
            "tags": ["meta"],
            "operationId": "openapi_get",
            "responses": {
                "200": {
                    "description": "The OpenAPI document.",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
        }
    },
}


@contextlib.contextmanager
def _function_imports(folder: Path) -> Iterator[None]:
    """Import with the function's folder first on the path, as Lambda would, and its sibling modules
    (reads.py, actions.py, ...) fresh: two functions may each have a module of the same name."""
    own = {p.stem for p in folder.glob("*.py")} - {"app"}
    saved = {name: sys.modules.pop(name) for name in list(sys.modules) if name.split(".")[0] in own}
    sys.path.insert(0, str(folder))
    try:
        yield
    finally:
        sys.path.remove(str(folder))
        for name in [n for n in sys.modules if n.split(".")[0] in own]:
            del sys.modules[name]
        sys.modules.update(saved)


def _load(job: str) -> Any:
    folder = FUNCTIONS / job
    path = folder / "app.py"
    if not path.is_file():
        return None
    with _function_imports(folder):
        spec = importlib.util.spec_from_file_location(f"openapi_gen_{job}_app", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return module


VALIDATION_ERROR = "Validation Error"


def _hoisted(schema: Any, components: dict[str, Any], job: str) -> Any:
    """`schema` as the document shows it: each named object a `$ref` to its component, and the
    domain's real limits (`contract.DOCUMENTED`) in place of the looser ones the request check uses."""
    if isinstance(schema, list):
        return [_hoisted(item, components, job) for item in schema]
    if not isinstance(schema, dict):
        return schema
    shown = {k: _hoisted(v, components, job) for k, v in schema.items() if k != contract.DOCUMENTED}
    shown.update(schema.get(contract.DOCUMENTED) or {})
    if shown.get("type") == "object" and "title" in shown:
        _merge_component(components, shown["title"], shown, job)
        return {"$ref": f"#/components/schemas/{shown['title']}"}
    return shown


def _parameters(declared: Any, components: dict[str, Any], job: str) -> list[dict[str, Any]]:
    rows = []
    for where, fields in (("path", declared.path), ("query", declared.query), ("header", declared.headers)):
        for name, schema in fields.items():
            required = where == "path" or contract.required(schema)
            row = {
                "name": name,
                "in": where,
                "required": required,
                "schema": _hoisted(schema, components, job),
            }
            if "description" in schema:
                row["description"] = schema["description"]
            rows.append(row)
    return rows


def _json(schema: Any) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _operation(route: Any, components: dict[str, Any], job: str) -> dict[str, Any]:
    """One route's operation, from its declaration (`contract.takes`) and its Powertools metadata."""
    declared = getattr(route.func, contract.CONTRACT, None)
    operation: dict[str, Any] = {"operationId": route.operation_id, "responses": {}}
    for key in ("summary", "description"):
        if getattr(route, key):
            operation[key] = getattr(route, key)
    if route.tags:
        operation["tags"] = list(route.tags)
    if declared is None:
        raise SystemExit(f"openapi: {job} {route.method} {route.path} has no contract.takes declaration")
    parameters = _parameters(declared, components, job)
    if parameters:
        operation["parameters"] = parameters
    if declared.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": _json(_hoisted(declared.body, components, job)),
        }
    answers = (
        declared.answers if contract.by_status(declared.answers) else {route.status_code: declared.answers}
    )
    for status, schema in answers.items():
        answer: dict[str, Any] = {"description": route.response_description or "Successful Response"}
        if schema is not None:
            answer["content"] = _json(_hoisted(schema, components, job))
        operation["responses"][str(status)] = answer
    for status, response in (route.responses or {}).items():
        operation["responses"][str(status)] = {"description": response.get("description", "Error.")}
    if parameters or declared.body is not None:
        operation["responses"].setdefault("422", {"description": VALIDATION_ERROR})
    _fix_errors(operation)
    return {key: operation[key] for key in sorted(operation)}


def _operations(
    module: Any, components: dict[str, Any], job: str
) -> Iterator[tuple[str, str, dict[str, Any]]]:
    app = getattr(module, "app", None)
    if app is None or not hasattr(app, "_static_routes"):
        return
    for route in app._static_routes + app._dynamic_routes:
        if route.include_in_schema:
            yield route.openapi_path, route.method.lower(), _operation(route, components, job)


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            yield ref.rsplit("/", 1)[-1]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _used(paths: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """Only the component schemas the paths reach (directly or through other schemas)."""
    keep: set[str] = set()
    todo = list(_refs(paths))
    while todo:
        name = todo.pop()
        if name in keep or name not in schemas:
            continue
        keep.add(name)
        todo.extend(_refs(schemas[name]))
    return {name: schemas[name] for name in sorted(keep)}


def _fix_errors(operation: dict[str, Any]) -> None:
    """Every 4xx/5xx is the SPEC error shape (Powertools declares its own 422 by default)."""
    for status, response in operation.get("responses", {}).items():
        if status.startswith(("4", "5")):
            response["content"] = {"application/json": {"schema": ERROR_REF}}


def _merge_component(into: dict[str, Any], name: str, schema: dict[str, Any], job: str) -> None:
    if name in into and into[name] != schema:
        raise SystemExit(
            f"openapi: two different schemas are both called {name!r} (second one in {job}); "
            "rename one of the models"
        )
    into[name] = schema


def build() -> dict[str, Any]:
    """The whole document, deterministic (same code -> same bytes)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from local import template

    routes = template.routes()
    auth = {(r.method.lower(), r.path): r.auth for r in routes}
    jobs = list(dict.fromkeys(r.job for r in routes))
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA, "GatewayRefusal": GATEWAY_REFUSAL}
    for job in jobs:
        module = _load(job)
        for path, method, operation in _operations(module, schemas, job) if module is not None else ():
            paths.setdefault(path, {})[method] = operation
    for path, operations in HAND_WRITTEN.items():
        for method, operation in operations.items():
            paths.setdefault(path, {}).setdefault(method, json.loads(json.dumps(operation)))
    for path, operations in paths.items():
        for method, operation in operations.items():
            kind = auth.get((method, path), "none")
            operation["security"] = SECURITY_BY_AUTH.get(kind, [])
            if kind in REFUSED_BY_AUTHORIZER:
                status, description = REFUSED_BY_AUTHORIZER[kind]
                schema = {"anyOf": [ERROR_REF, {"$ref": "#/components/schemas/GatewayRefusal"}]}
                operation["responses"][status] = {
                    "description": description,
                    "content": {"application/json": {"schema": schema}},
                }
            if "requestBody" in operation and path not in HAND_WRITTEN:
                operation["responses"].setdefault("415", _error(UNSUPPORTED_MEDIA_TYPE))
    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": VERSION, "description": DESCRIPTION},
        "servers": SERVERS,
        "paths": {path: paths[path] for path in sorted(paths)},
        "components": {"schemas": _used(paths, schemas), "securitySchemes": SECURITY_SCHEMES},
    }


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> None:
    text = render(build())
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)} ({len(json.loads(text)['paths'])} paths)")


if __name__ == "__main__":
    main()
