"""Seat transitions as DynamoDB writes, derived from the state machine (`giftplans.seats`).

`transition(steps, action, purchase_id, moves, actor=...)` is the one function that
moves seats between states. From `seats.TRANSITIONS` it takes each seat's condition
(`state IN allowed_from(action)`, or the state the caller read, which must be one of
them) and its new state (`target(action)`); it stamps every item it writes (version + 1,
`last_action` = the action, `actor`) and, unless told the purchase is settled elsewhere,
keeps the purchase in step in the same write: `seat_counts` move from the old state to
the target. No purchase field grows with the quantity: a seat entering `available` gets a
`FreeSeat` marker item, one leaving it through a marker deletes it, and a move into a
holding state (`seats.HOLDING`) writes the address's `Holder` item (rule 11), all in the
same transaction.

`touch(...)` is the same for writes that keep the state (`seats.Touch`: resend, reminders,
an upgrade offer, a bounce): the states it applies in come from `seats.TOUCHES`.

What else a transition changes (a recipient's address, a token's hash, an end date) is
the capability's to say: it passes those actions in, and conditions beyond the state.

Every stamped seat write also writes its audit event (`audit.SEAT_EVENTS`, `audit.TOUCH_EVENTS`)
as a step named "audit" of the same write, so no path can change a seat without leaving its
trail: a transition's event names every seat it moved, a touch's its one seat. The caller adds
what the event says beyond that (`detail`). A seat's version minus one is the number of audit
events naming it (fulfilment creates it at version 1 under `purchase.created`).
Nowhere else in the layer is a seat state spelt in a condition or a SET (a test reads
the source to keep it so).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action as Update

from giftplans import audit, clock
from giftplans.seats import CREATE, HOLDING, INITIAL, TOUCHES, TRANSITIONS, Action, SeatState, Touch
from giftplans.store import keys as k
from giftplans.store import models as m
from giftplans.store.writes import Steps, stamp

S = SeatState


class Move(NamedTuple):
    """One seat's part of a transition."""

    seat_id: str
    changes: Sequence[Update] = ()  # what else the seat's item changes
    condition: Condition | None = None  # what else must hold of the seat
    from_state: SeatState | None = None  # the state it was read in: narrows the condition, names the count
    version: int | None = None  # the version it was read at, when the change depends on what was read
    holder: str | None = None  # the email key of whoever holds the seat after a move into a holding state
    holder_seen: int | None = None  # the version of the address's Holder item as read (None: there was none)
    holder_checked: bool = True  # False: write the Holder whatever stands (claim: the buyer's own address)
    free_marker: bool = (
        False  # leaving `available`: the seat has a FreeSeat marker (below fresh_from) to delete
    )
    unheld: bool = False  # into a holding state with nobody's address yet (SPEC 8.2, a shared link)
    fresh_run: bool = False  # back to `available` inside the fresh run (fresh_from on): no FreeSeat marker


class PurchaseSide(NamedTuple):
    """What else the purchase's item changes, and must hold, in the transition's write."""

    changes: Sequence[Update] = ()
    condition: Condition | None = None


IN_STEP = PurchaseSide()  # the purchase follows its seats, nothing else changes, it must exist


def transition(
    steps: Steps,
    action: Action,
    purchase_id: str,
    moves: Sequence[Move],
    *,
    actor: str,
    purchase: PurchaseSide | None = IN_STEP,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
    field: str | None = None,
    mentions: Sequence[tuple[str | None, str]] = (),
    listed: bool = False,
    kind: str | None = None,
) -> None:
    """Add the steps of `action` on `moves` (one step per seat, the purchase's, the audit event) to `steps`.

    `purchase=None` leaves the purchase's item alone (a refund and the sweep settle it after
    all its seats moved). A single seat's step is named "seat", several "seat <id>"; the
    audit event's step is "audit" (`detail` is what it says beyond the seats and the actor).
    `field`/`mentions`/`listed` go to `audit.put`: the addresses `detail[field]` masks get
    their `Mention` items in the same write (docs/privacy.md). `kind` picks one of
    `audit.OTHER_SEAT_EVENTS[action]` over the action's usual event.
    """
    allowed, target = TRANSITIONS[action]
    said = audit.SEAT_EVENTS[action]
    if kind is not None and kind != said:
        if kind not in audit.OTHER_SEAT_EVENTS.get(action, frozenset()):
            raise ValueError(f"a {action.value} cannot be audited as {kind}")
        said = kind
    for move in moves:
        condition = _state_condition(action, move.from_state, allowed)
        if move.version is not None:
            condition &= m.Seat.version == move.version
        if move.condition is not None:
            condition &= move.condition
        steps.update(
            "seat" if len(moves) == 1 else f"seat {move.seat_id}",
            seat_key(purchase_id, move.seat_id),
            [m.Seat.state.set(target.value), *move.changes, *stamp(m.Seat, action.value, actor)],
            condition=condition,
        )
        _markers(steps, action, purchase_id, move, target)
    if purchase is not None:
        _purchase_follows(steps, action, purchase_id, moves, target, actor, purchase)
    when = at if at is not None else clock.now()
    seat_ids = [move.seat_id for move in moves]
    event = audit.event(purchase_id, when, said, actor, seat_ids, detail)
    audit.put(steps, event, field=field, mentions=mentions, listed=listed)


def _markers(steps: Steps, action: Action, purchase_id: str, move: Move, target: SeatState) -> None:
    """The partition's small items that follow a seat: its FreeSeat marker and its holder's Holder item.

    A seat back in `available` gets a marker (it is below `fresh_from`: it was handed out once);
    one leaving `available` through a marker loses it (on condition it is still there: two
    invites cannot both take it). A move into a holding state writes the address's Holder item,
    on condition that it stands as read (rule 11 against a racing invite of the same address).
    """
    if target == S.AVAILABLE and not move.fresh_run:
        steps.put(f"free {move.seat_id}", free_marker(purchase_id, move.seat_id))
    elif move.free_marker:
        marker = free_key(purchase_id, move.seat_id)
        steps.delete(f"free {move.seat_id}", marker, condition=m.FreeSeat.PK.exists())
    source = move.from_state or (
        next(iter(TRANSITIONS[action][0])) if len(TRANSITIONS[action][0]) == 1 else None
    )
    if target in HOLDING and source not in HOLDING and not move.unheld:
        if move.holder is None:
            raise ValueError(f"seat {move.seat_id} moves to {target.value}: name its holder")
        hold(steps, purchase_id, move.seat_id, move.holder, move.holder_seen, checked=move.holder_checked)


def hold(
    steps: Steps, purchase_id: str, seat_id: str, key: str, seen: int | None, *, checked: bool = True
) -> None:
    """The address's `Holder` item names the seat (step "holder <seat id>"), if it stands as read (`seen`)."""
    holder = m.Holder(k.purchase_pk(purchase_id), k.holder_sk(key))
    actions: list[Update] = [
        m.Holder.type.set(m.Holder),
        m.Holder.seat_id.set(seat_id),
        m.Holder.version.add(1),
    ]
    condition: Condition | None = None
    if checked:
        condition = m.Holder.PK.does_not_exist() if seen is None else m.Holder.version == seen
    steps.update(f"holder {seat_id}", holder, actions, condition=condition)


def free_marker(purchase_id: str, seat_id: str) -> m.FreeSeat:
    return m.FreeSeat(k.purchase_pk(purchase_id), k.free_sk(seat_id), seat_no=int(seat_id))


def free_key(purchase_id: str, seat_id: str) -> m.FreeSeat:
    return m.FreeSeat(k.purchase_pk(purchase_id), k.free_sk(seat_id))


def _state_condition(action: Action, read: SeatState | None, allowed: frozenset[SeatState]) -> Condition:
    if read is None:
        return m.Seat.state.is_in(*sorted(s.value for s in allowed))
    if read not in allowed:
        raise ValueError(f"{action.value} cannot start from {read.value}")
    return m.Seat.state == read.value


def _from(action: Action, move: Move) -> SeatState:
    """The state a move leaves: the one it was read in, or the only one the action starts from."""
    if move.from_state is not None:
        return move.from_state
    allowed = TRANSITIONS[action][0]
    if len(allowed) != 1:
        raise ValueError(
            f"{action.value} starts from several states: say which one seat {move.seat_id} is in"
        )
    return next(iter(allowed))


def _purchase_follows(
    steps: Steps,
    action: Action,
    purchase_id: str,
    moves: Sequence[Move],
    target: SeatState,
    actor: str,
    side: PurchaseSide,
) -> None:
    deltas: dict[SeatState, int] = {}
    for move in moves:
        source = _from(action, move)
        deltas[source] = deltas.get(source, 0) - 1
        deltas[target] = deltas.get(target, 0) + 1
    actions: list[Any] = [m.Purchase.seat_counts[s.value].add(n) for s, n in deltas.items() if n]
    actions += [*side.changes, *stamp(m.Purchase, action.value, actor)]
    condition = side.condition if side.condition is not None else m.Purchase.PK.exists()
    steps.update("purchase", purchase_key(purchase_id), actions, condition=condition)


# ---- writes that keep the state ---------------------------------------------------------------------------


def touch(
    steps: Steps,
    kind: Touch,
    item: m.Seat,
    changes: Sequence[Update],
    *,
    actor: str | None,
    condition: Condition | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
    field: str | None = None,
    mentions: Sequence[tuple[str | None, str]] = (),
    event_kind: str | None = None,
) -> None:
    """A write to one seat in one of the states `seats.TOUCHES[kind]` allows, keeping its state.

    Stamped (version + 1, `last_action` = the touch, `actor`) and audited (step "audit") unless
    `actor` is None: a bookkeeping write (`Touch.SENT`) that must not look like a new version to
    the stream readers. `event_kind` picks one of `audit.OTHER_TOUCH_EVENTS[kind]` over the
    touch's usual event; `field`/`mentions` go to `audit.put` as in `transition`.
    """
    allowed = TOUCHES[kind]
    state: Condition = m.Seat.state.is_in(*sorted(s.value for s in allowed))
    stamped = stamp(m.Seat, kind.value, actor) if actor is not None else []
    steps.update(
        "seat",
        item,
        [*changes, *stamped],
        condition=state & condition if condition is not None else state,
    )
    if actor is not None:
        purchase_id, seat_id = _ids(item)
        when = at if at is not None else clock.now()
        said = audit.TOUCH_EVENTS[kind]
        if event_kind is not None and event_kind != said:
            if event_kind not in audit.OTHER_TOUCH_EVENTS.get(kind, frozenset()):
                raise ValueError(f"a {kind.value} touch cannot be audited as {event_kind}")
            said = event_kind
        event = audit.event(purchase_id, when, said, actor, [seat_id], detail)
        audit.put(steps, event, field=field, mentions=mentions)


def _ids(item: m.Seat) -> tuple[str, str]:
    """The purchase and seat a seat's key names (a key-only item carries no other attribute)."""
    return str(item.PK).removeprefix(k.purchase_pk("")), str(item.SK).removeprefix(k.SEAT_PREFIX)


# ---- seats as fulfilment makes them, and the counts of settled purchases ---------------------------------


def created_seat(purchase_id: str, seat_no: int, *, actor: str, **fields: Any) -> m.Seat:
    """A new seat in the state every seat starts in (`seats.INITIAL`), version 1."""
    seat_id = k.seat_id_of(seat_no)
    return m.Seat(
        k.purchase_pk(purchase_id),
        k.seat_sk(seat_id),
        purchase_id=purchase_id,
        seat_id=seat_id,
        state=INITIAL.value,
        version=1,
        last_action=CREATE,
        actor=actor,
        **fields,
    )


def initial_counts(quantity: int) -> m.SeatCounts:
    """A new purchase's counts: every seat in the initial state."""
    return m.SeatCounts(**{INITIAL.value: quantity})  # type: ignore[no-untyped-call]


def recounted(counts: Mapping[str, int]) -> Update:
    """Set the purchase's `seat_counts` to what its seats were counted to be (a refund's settlement)."""
    whole = {state: int(counts.get(state, 0)) for state in m.SEAT_STATES}
    return m.Purchase.seat_counts.set(m.SeatCounts(**whole))  # type: ignore[no-untyped-call]


def expiry_fold(counts: Mapping[str, int], quantity: int) -> tuple[list[Update], Condition]:
    """The sweep's final write of an expired purchase: every seat that could expire counts as expired.

    Computed from `counts` (the purchase as read), so the condition holds it to the seats that
    could not expire (upgraded, cancelled) still being what was read.
    """
    expirable = TRANSITIONS[Action.EXPIRE][0]
    kept = [state for state in map(SeatState, m.SEAT_STATES) if state not in expirable and state != S.EXPIRED]
    left = quantity - sum(int(counts.get(state.value, 0)) for state in kept)
    actions: list[Update] = [m.Purchase.seat_counts[s.value].set(0) for s in sorted(expirable)]
    actions.append(m.Purchase.seat_counts[S.EXPIRED.value].set(left))
    condition: Condition | None = None
    for state in kept:
        same = m.Purchase.seat_counts[state.value] == int(counts.get(state.value, 0))
        condition = same if condition is None else condition & same
    assert condition is not None
    return actions, condition


def unassigned(purchase: m.Purchase) -> int:
    """Seats nobody was invited to (the buyer's reminder counts them)."""
    return int(purchase.seat_counts.available or 0) if purchase.seat_counts else 0


# ---- keys -------------------------------------------------------------------------------------------------


def seat_key(purchase_id: str, seat_id: str) -> m.Seat:
    return m.Seat(k.purchase_pk(purchase_id), k.seat_sk(seat_id))


def purchase_key(purchase_id: str) -> m.Purchase:
    return m.Purchase(k.purchase_pk(purchase_id), k.PURCHASE_SK)


# ---- reads by state ---------------------------------------------------------------------------------------


def in_states(*states: str) -> Condition:
    """A read's filter: seats in any of `states` (the one place a filter spells a seat state)."""
    condition: Condition = m.Seat.state.is_in(*states)
    return condition
