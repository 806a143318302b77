"""The sweep's expiry of one purchase's seats, 25 to a transaction (issue 15 item 2).

`expire_seats` is called by `giftplans.sweep` when a paid purchase's term has ended. It reads
only the seats in use (one filtered Query: their state, version and holder), then writes every
seat number 1..quantity blind, 25 to a transaction through `transition(EXPIRE)`: a seat in use
under its state and version as read, with its holder's entitlement ended in the same
transaction when it still comes from that seat; any other seat under "in a state EXPIRE starts
from". The audit event of each transaction names its seats. 1000 seats: 1 + 40 round trips
(before: one transaction per seat, a probe and an entitlement write per seat in use).

A transaction refused (a seat already expired by a run that died half-way, a seat that moved,
an entitlement that moved on) is redone seat by seat with the sweep's exact per-seat path
(`one_by_one`), which learns each seat from its refusal; so a re-run repeats no transition, and
each notice, derived from one committed transition, is sent once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial

from giftplans import clock
from giftplans.background import CHUNK, Chunks, in_one_or_each
from giftplans.entitlements import end_from_seat, not_ended
from giftplans.seats import IN_USE, Action, SeatState
from giftplans.store import get_store
from giftplans.store import keys as k
from giftplans.store import models as m
from giftplans.store.transitions import Move, transition
from giftplans.store.writes import Steps

ACTOR = "sweep"
IN_USE_STATES = sorted(s.value for s in IN_USE)

OneByOne = Callable[[str, bool], int]  # (seat_id, held) -> seats expired (0 or 1), entitlement included


def expire_seats(purchase_id: str, quantity: int, now: datetime, one_by_one: OneByOne) -> int:
    """Every seat that can expire -> expired (entitlements ended); the number of seats this call moved."""
    held = {seat.seat_id: seat for seat in get_store().seats_in(purchase_id, IN_USE_STATES)}
    seat_ids = [k.seat_id_of(n) for n in range(1, int(quantity) + 1)]
    moved = 0
    for chunk in Chunks(seat_ids, size=CHUNK):
        build = partial(_steps, purchase_id=purchase_id, chunk=chunk, held=held, now=now)
        moved += len(in_one_or_each(chunk, build, lambda seat_id: one_by_one(seat_id, seat_id in held)))
    return moved


def _steps(
    steps: Steps, purchase_id: str, chunk: Sequence[str], held: dict[str, m.Seat], now: datetime
) -> None:
    ended = clock.iso(now)
    moves = []
    for seat_id in chunk:
        seat = held.get(seat_id)
        state = SeatState(seat.state) if seat is not None else None
        version = int(seat.version) if seat is not None else None
        moves.append(Move(seat_id, [m.Seat.ended_at.set(ended)], from_state=state, version=version))
    transition(
        steps,
        Action.EXPIRE,
        purchase_id,
        moves,
        actor=ACTOR,
        purchase=None,  # the sweep's last write folds the counts
        detail={"previous_states": {sid: seat.state for sid, seat in held.items() if sid in chunk}},
        at=now,
    )
    for seat_id in chunk:
        seat = held.get(seat_id)
        if seat is None or not seat.recipient_sub:
            continue
        end_from_seat(steps, seat, now, step=f"entitlement {seat_id}", condition=not_ended())
