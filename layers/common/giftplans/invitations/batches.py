"""Lists of invitations (SPEC 8.3): the Idempotency-Key, the request's hash, a finished list's answer.

`invitations.buyer.invite` writes a batch (`models.InviteBatch`); this module is what it
keeps of a request and how it answers one again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from giftplans import clock, tokens
from giftplans.errors import BadRequest, Invalid
from giftplans.invitations.addresses import Row, validate_rows
from giftplans.seats import Action, target
from giftplans.store import get_store
from giftplans.store import keys as k
from giftplans.store import models as m
from giftplans.store.transitions import Move
from giftplans.views import SeatView

KEY_MAX = 255


# seats per transaction of a list (SPEC 8.3). Each seat can cost four items (the seat, its Holder, the
# FreeSeat marker it is taken from, its audit Mention) beside the purchase, counter, audit event and
# batch item: 24 * 4 + 4 = 100, DynamoDB's TransactWriteItems limit.
CHUNK = 24
# A list without an Idempotency-Key is one transaction when its items fit: the purchase, counter and
# audit event, then per seat its update, Holder and Mention, plus the FreeSeat markers it takes (a
# seat never handed out has none). 25 fresh seats: 3 + 25 * 3 = 78 items.
ONE_WRITE_ROWS = 32  # 3 + 32 * 3 = 99: the longest list that can ever be one transaction
TRANSACTION_ITEMS = 100


def fits_one_write(rows: int, markers: int) -> bool:
    """A list of `rows` seats, `markers` of them taken from FreeSeat markers, is one transaction."""
    return 3 + 3 * rows + markers <= TRANSACTION_ITEMS


def hash_of_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def request_hash_of(rows: Sequence[Row]) -> str:
    """What a repeat must match: every field of every row, in order."""
    text = json.dumps([r._asdict() for r in rows], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def check_idempotency_key(key: str | None) -> str | None:
    """The header as given, or a 400 when it is empty, too long or not printable."""
    if key is None:
        return None
    if not 0 < len(key) <= KEY_MAX or not key.isprintable():
        raise BadRequest(
            f"The Idempotency-Key header must be 1 to {KEY_MAX} printable characters.",
            code="invalid_idempotency_key",
        )
    return key


def answer(batch: m.InviteBatch, rows: Sequence[Row]) -> list[SeatView]:
    """A finished list's answer again: the same seats, as they were answered; nothing is written."""
    state = target(Action.INVITE).value
    return [
        SeatView(seat_id, state, recipient_email=row.email, invited_at=batch.invited_at, send_at=row.send_at)
        for seat_id, row in zip(batch.seat_ids, rows, strict=True)
    ]


def invited_audit(moves: Sequence[Move], rows: Sequence[Row]) -> dict[str, Any]:
    """`transition`'s audit arguments for `seat.invited`: masked recipients, a `Mention` of each (privacy)."""
    return {
        "detail": {"recipients": [tokens.mask_email(row.email) for row in rows]},
        "field": "recipients",
        "mentions": [(move.seat_id, row.email) for move, row in zip(moves, rows, strict=True)],
        "listed": True,
    }


PAST = "send_at_in_past"


def checked_rows(rows: Sequence[Row], purchase_id: str, buyer_id: str, key: str | None) -> list[Row]:
    """`validate_rows` now, but a keyed list repeated after one of its `send_at` passed is still the
    same list (SPEC 8.3): it answers, or finishes, what was accepted then (`repeat_rows`)."""
    try:
        return validate_rows(rows)
    except Invalid as refusal:
        return repeat_rows(refusal, rows, purchase_id, buyer_id, key)


def repeat_rows(
    refusal: Invalid, rows: Sequence[Row], purchase_id: str, buyer_id: str, key: str | None
) -> list[Row]:
    """`rows` as checked when the key's batch was first written, or `refusal` raised as it was.

    `refusal` is `validate_rows`' 422 for `rows` now. When its only reasons are `send_at_in_past`
    and the key names this buyer's batch of exactly these rows, the rows are checked again as of
    the batch's `invited_at` and handed back, so the repeat answers (or finishes) the list
    instead of refusing it; anything else raises `refusal` as it was (one extra read, only then).
    """
    problems = (refusal.details or {}).get("rows") or []
    if key is None or not problems or any(p.get("code") != PAST for p in problems):
        raise refusal
    batch_key = (k.purchase_pk(purchase_id), k.batch_sk(hash_of_key(key)))
    batch = get_store().many(batch_key).get(batch_key)
    if not isinstance(batch, m.InviteBatch) or batch.buyer_id != buyer_id:
        raise refusal
    try:
        wanted = validate_rows(rows, at=clock.parse_iso(str(batch.invited_at)))
    except Invalid:
        raise refusal from None
    if batch.request_hash != request_hash_of(wanted):
        raise refusal
    return wanted
