"""GET /purchases and GET /purchases/{purchase_id}: the Billing and Purchases page's reads."""

from __future__ import annotations

from typing import Any

from giftplans import contract as c
from giftplans.http import APIGatewayHttpRouter, caller, error_responses
from giftplans.purchases import billing
from giftplans.schemas.purchases import PURCHASE_DETAIL_OUT, PURCHASE_LIST_OUT, SEAT_HISTORY_OUT, SEAT_STATES

router = APIGatewayHttpRouter()
PURCHASE_ID = c.string(max_length=64)
SEAT_ID = c.string(max_length=8)
CURSOR = c.string(nullable=True, description="`next_cursor` from the previous page.")


@router.get(
    "/purchases",
    summary="The buyer's purchases, newest first",
    tags=["purchases"],
    responses=error_responses(400, 401, 422, 429, 503),
)
@c.takes(
    router,
    query={
        "limit": c.integer(minimum=1, maximum=100, default=20, description="Page size."),
        "cursor": CURSOR,
    },
    answers=PURCHASE_LIST_OUT,
)
def list_purchases(limit: int, cursor: str | None) -> dict[str, Any]:
    me = caller(router)
    return billing.list_for_buyer(me.sub, limit, cursor).as_json()


@router.get(
    "/purchases/<purchase_id>",
    summary="A purchase, its term and one page of its seats",
    tags=["purchases"],
    responses=error_responses(400, 401, 404, 422, 429, 503),
)
@c.takes(
    router,
    path={"purchase_id": PURCHASE_ID},
    query={
        "include": c.string(enum=["events"], nullable=True, description="`events` adds the audit trail."),
        "limit": c.integer(minimum=1, maximum=100, default=100, description="Seats in a page (1-100)."),
        "cursor": CURSOR,
        "state": c.string(enum=SEAT_STATES, nullable=True, description="Only seats in this state."),
        "email": c.string(
            max_length=320,
            nullable=True,
            description="Only seats whose recipient address is this or starts so.",
        ),
    },
    answers=PURCHASE_DETAIL_OUT,
)
def get_purchase(
    purchase_id: str,
    include: str | None,
    limit: int,
    cursor: str | None,
    state: str | None,
    email: str | None,
) -> dict[str, Any]:
    me = caller(router)
    detail = billing.detail_for_buyer(
        me.sub,
        purchase_id,
        include_events=include == "events",
        limit=limit,
        cursor=cursor,
        state=state,
        email=email,
    )
    return detail.as_json()


@router.get(
    "/purchases/<purchase_id>/seats/<seat_id>",
    summary="One seat and its history (invited, sent again, revoked, declined, bounced, accepted, ...)",
    tags=["purchases"],
    responses=error_responses(400, 401, 404, 422, 429, 503),
)
@c.takes(router, path={"purchase_id": PURCHASE_ID, "seat_id": SEAT_ID}, answers=SEAT_HISTORY_OUT)
def get_seat(purchase_id: str, seat_id: str) -> dict[str, Any]:
    me = caller(router)
    return billing.seat_history(me.sub, purchase_id, seat_id).as_json()
