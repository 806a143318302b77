"""GET /purchases and GET /purchases/{purchase_id}: the Billing and Purchases page's reads."""

from __future__ import annotations

from typing import Annotated, Literal

from giftplans.http import APIGatewayHttpRouter, Path, Query, caller, error_responses
from giftplans.purchases import billing
from giftplans.schemas.purchases import PurchaseDetailOut, PurchaseListOut, SeatHistoryOut, SeatStateName

router = APIGatewayHttpRouter()


@router.get(
    "/purchases",
    summary="The buyer's purchases, newest first",
    tags=["purchases"],
    responses=error_responses(400, 401, 422, 429, 503),
)
def list_purchases(
    limit: Annotated[int, Query(ge=1, le=100, description="Page size.")] = 20,
    cursor: Annotated[str | None, Query(description="`next_cursor` from the previous page.")] = None,
) -> PurchaseListOut:
    me = caller(router)
    return PurchaseListOut.model_validate(billing.list_for_buyer(me.sub, limit, cursor).as_json())


@router.get(
    "/purchases/<purchase_id>",
    summary="A purchase, its term and one page of its seats",
    tags=["purchases"],
    responses=error_responses(400, 401, 404, 422, 429, 503),
)
def get_purchase(
    purchase_id: Annotated[str, Path(max_length=64)],
    include: Annotated[Literal["events"] | None, Query(description="`events` adds the audit trail.")] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Seats in a page (1-100).")] = 100,
    cursor: Annotated[str | None, Query(description="`next_cursor` from the previous page.")] = None,
    state: Annotated[SeatStateName | None, Query(description="Only seats in this state.")] = None,
    email: Annotated[
        str | None,
        Query(max_length=320, description="Only seats whose recipient address is this or starts so."),
    ] = None,
) -> PurchaseDetailOut:
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
    return PurchaseDetailOut.model_validate(detail.as_json())


@router.get(
    "/purchases/<purchase_id>/seats/<seat_id>",
    summary="One seat and its history (invited, sent again, revoked, declined, bounced, accepted, ...)",
    tags=["purchases"],
    responses=error_responses(400, 401, 404, 422, 429, 503),
)
def get_seat(
    purchase_id: Annotated[str, Path(max_length=64)],
    seat_id: Annotated[str, Path(max_length=8)],
) -> SeatHistoryOut:
    me = caller(router)
    return SeatHistoryOut.model_validate(billing.seat_history(me.sub, purchase_id, seat_id).as_json())
