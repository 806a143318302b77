"""The Billing and Purchases page's reads: the buyer's purchases, one purchase with its seats.

`GET /purchases` is one Query of the buyer index (GSI1), newest first, paged by an opaque
cursor (the Query's LastEvaluatedKey, checked on the way back in: a cursor that is not
one this API gave out is a 400, never a 500). `GET /purchases/{id}` reads the purchase
(ownership first), then one page of its seats (`limit`, `cursor`, `state`, `email`); the
audit trail is read only when asked for.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from pynamodb.expressions.condition import Condition

from giftplans import clock, tokens
from giftplans.errors import BadRequest, NotFound
from giftplans.seats import TERMINAL, SeatState
from giftplans.store import get_store
from giftplans.store import keys as k
from giftplans.store import models as m
from giftplans.store.transitions import in_states
from giftplans.views import (
    AuditEventView,
    HistoryEntry,
    PurchaseDetail,
    PurchasePage,
    PurchaseView,
    SeatHistory,
    SeatView,
    term_ended,
)

NOT_FOUND = "There is no purchase with this id on your account."
BAD_CURSOR = "The cursor is not one this API gave out; start again without it."
CURSOR_KEYS = frozenset({"PK", "SK", "GSI1PK", "GSI1SK"})
PAGE_MAX = 100  # seats in one page of `GET /purchases/{id}` (and its default)
_SEAT_ID = re.compile(r"^\d{4,5}$")


def list_for_buyer(buyer_id: str, limit: int = 20, cursor: str | None = None) -> PurchasePage:
    """`GET /purchases`: the buyer's purchases, newest first, one page of `limit`; `next_cursor` or None."""
    start = decode_cursor(cursor, buyer_id)
    now = clock.now()
    page, last_key = get_store().buyer_purchases(buyer_id, limit, start)
    return PurchasePage([PurchaseView.of(p, now) for p in page], encode_cursor(last_key))


def detail_for_buyer(
    buyer_id: str,
    purchase_id: str,
    include_events: bool = False,
    *,
    limit: int = PAGE_MAX,
    cursor: str | None = None,
    state: str | None = None,
    email: str | None = None,
) -> PurchaseDetail:
    """`GET /purchases/{id}`: the purchase, then one page of its seats (SPEC 8, contracts: paging).

    Ownership first: the purchase is read alone (GetItem) and another buyer's is a 404 before
    any seat is read; then one Query of the partition's seats from the cursor on, filtered by
    `state` (as a reader sees it: past `term_end` every unended seat is `expired`) and by
    `email` (an exact address or its beginning, compared normalised). Two round trips a page.
    """
    if not purchase_id.startswith("pur_") or len(purchase_id) > 64:
        raise NotFound(NOT_FOUND, code="purchase_not_found")
    after = decode_seat_cursor(cursor)
    store = get_store()
    purchase = store.purchase(purchase_id)
    if purchase is None or purchase.buyer_id != buyer_id:
        raise NotFound(NOT_FOUND, code="purchase_not_found")
    now = clock.now()
    ended = term_ended(purchase.term_end, now)
    limit = max(1, min(PAGE_MAX, limit))
    condition, nothing = seat_filter(state, email, ended)
    seats: list[m.Seat] = []
    next_after: str | None = None
    if not nothing:
        seats, next_after = store.seats_page(purchase_id, limit=limit, after=after, condition=condition)
    events = [AuditEventView.of(e) for e in store.audit_trail(purchase_id)] if include_events else None
    return PurchaseDetail(
        PurchaseView.of(purchase, now),
        [SeatView.of(s, ended) for s in seats],
        events,
        encode_seat_cursor(next_after),
    )


def seat_filter(state: str | None, email: str | None, ended: bool) -> tuple[Condition | None, bool]:
    """The Query's filter for `state` and `email`; True when no seat can match (no read needed)."""
    condition: Condition | None = None
    if state is not None:
        wanted = SeatState(state)
        if ended and wanted not in TERMINAL:
            return None, True  # past term_end a reader sees every unended seat as expired
        if ended and wanted == SeatState.EXPIRED:
            shown = [s.value for s in SeatState if s not in TERMINAL or s == SeatState.EXPIRED]
            condition = in_states(*shown)
        else:
            condition = in_states(wanted.value)
    if email:
        match = m.Seat.recipient_lc.startswith(tokens.normalise_email(email))
        condition = match if condition is None else condition & match
    return condition, False


# ---- the seat cursor ------------------------------------------------------------------------------------


def encode_seat_cursor(seat_id: str | None) -> str | None:
    if seat_id is None:
        return None
    return base64.urlsafe_b64encode(f"seat:{seat_id}".encode()).decode().rstrip("=")


def decode_seat_cursor(cursor: str | None) -> str | None:
    """The seat id a page goes on after; 400 `invalid_cursor` for anything this API did not give out."""
    if cursor is None or cursor == "":
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except ValueError:
        raise BadRequest(BAD_CURSOR, code="invalid_cursor") from None
    seat_id = text.removeprefix("seat:")
    if not text.startswith("seat:") or not _SEAT_ID.match(seat_id):
        raise BadRequest(BAD_CURSOR, code="invalid_cursor")
    return seat_id


SEAT_NOT_FOUND = "There is no seat with this id on this purchase."
SEAT_ID = re.compile(r"^[0-9]{4}$")  # fulfilment's seat ids (a key DynamoDB accepts, never a 500)


def seat_history(buyer_id: str, purchase_id: str, seat_id: str) -> SeatHistory:
    """`GET /purchases/{id}/seats/{seat_id}`: the seat and what happened to it, from one Query.

    Ownership is checked on the purchase read in the same Query: another buyer's purchase is a 404.
    """
    if not purchase_id.startswith("pur_") or len(purchase_id) > 64:
        raise NotFound(NOT_FOUND, code="purchase_not_found")
    if not SEAT_ID.match(seat_id or ""):
        raise NotFound(SEAT_NOT_FOUND, code="seat_not_found")
    purchase, seat, events = get_store().seat_with_trail(purchase_id, seat_id)
    if purchase is None or purchase.buyer_id != buyer_id:
        raise NotFound(NOT_FOUND, code="purchase_not_found")
    if seat is None:
        raise NotFound(SEAT_NOT_FOUND, code="seat_not_found")
    view = SeatView.of(seat, term_ended(purchase.term_end, clock.now()))
    return SeatHistory(view, [HistoryEntry.of(e, seat_id) for e in events])


# ---- the cursor -----------------------------------------------------------------------------------------


def encode_cursor(last_key: dict[str, dict[str, Any]] | None) -> str | None:
    if not last_key:
        return None
    text = json.dumps(last_key, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, buyer_id: str) -> dict[str, dict[str, Any]] | None:
    """The LastEvaluatedKey behind an opaque cursor; `BadRequest` (invalid_cursor) for anything else."""
    if cursor is None or cursor == "":
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except ValueError:
        raise BadRequest(BAD_CURSOR, code="invalid_cursor") from None
    well_formed = (
        isinstance(key, dict)
        and set(key) == CURSOR_KEYS
        and all(isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) for v in key.values())
    )
    if not well_formed or key["GSI1PK"]["S"] != k.buyer_gsi(buyer_id) or not _purchase_key_values(key):
        raise BadRequest(BAD_CURSOR, code="invalid_cursor")
    return {name: {"S": str(value["S"])} for name, value in key.items()}


def _purchase_key_values(key: dict[str, dict[str, str]]) -> bool:
    """A purchase item's keys, within DynamoDB's key limits (else the Query itself fails: a 500)."""
    sizes = []
    for value in (key["PK"]["S"], key["GSI1SK"]["S"]):
        try:
            sizes.append(len(value.encode("utf-8")))
        except UnicodeEncodeError:  # a lone surrogate: not UTF-8, DynamoDB refuses it
            return False
    return (
        key["PK"]["S"].startswith(k.purchase_pk(""))
        and key["SK"]["S"] == k.PURCHASE_SK
        and all(0 < size <= 1024 for size in sizes)
    )
