"""GET /openapi.json: the API's OpenAPI document, generated from the handlers' models by `make openapi`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

DOCUMENT = Path(__file__).with_name("openapi.json")
_body: str | None = None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global _body
    if _body is None:
        _body = DOCUMENT.read_text(encoding="utf-8")
    headers = {"content-type": "application/json", "cache-control": "max-age=300"}
    return {"statusCode": 200, "headers": headers, "body": _body}
