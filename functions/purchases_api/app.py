"""The buyer's Billing and Purchases API: reads (reads.py) and seat actions (actions.py)."""

from __future__ import annotations

from typing import Any

from actions import router as actions_router
from giftplans.http import make_app
from reads import router as reads_router

app = make_app()
app.include_router(reads_router)
app.include_router(actions_router)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
