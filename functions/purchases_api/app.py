"""The buyer's Billing and Purchases API: reads (reads.py) and seat actions (actions.py)."""

from __future__ import annotations

from typing import Any

from actions import router as actions_router
from giftplans.http import make_app
from giftplans.observability import HTTP_REQUEST_ID, entry
from reads import router as reads_router

app = make_app()
app.include_router(reads_router)
app.include_router(actions_router)


@entry(correlation_id_path=HTTP_REQUEST_ID)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
