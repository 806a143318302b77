"""Closing a purchase in the background: a full refund or a lost dispute of any size (issue 15 item 2).

The webhook only records the decision, `record(...)`: one conditional write of the purchase's
close job (`PURCHASE#<id>` / `PURCHASE#CLOSE`, `models.CloseJob`), then `launch(...)` hands the
work to the expiry_sweep function, invoked asynchronously with `{"close": <purchase_id>}`. So
the webhook answers after three round trips whatever the quantity, inside Stripe's and the HTTP
API's limits, and a redelivered event finds the job (or the purchase refunded) and changes
nothing (it launches the job again, which is harmless: `run` is idempotent).

Why the sweep's function and an asynchronous invoke (not a new function, not the stream on the
job item): the sweep already is the resumable background worker, with the role these writes
need (seats, entitlements, profile, audit), a 900 s timeout, its own continuation
(`continue_with`) and an on-failure queue with its alarm; a stream consumer would need a role of
its own (stream reads) and would retry a whole batch on the table's stream, behind the mailer.
Outside Lambda (the local server, the tests) there is nothing to invoke: the job runs in the
request.

`run(purchase_id)`: one Query reads the purchase, its job and its seats (adjacent sort keys);
the refundable seats are cancelled 25 to a transaction (`transition(REFUND)`, its audit event
naming the 25; the entitlement each in-use seat granted ended in the same transaction when it
still comes from that seat); the purchase's final write marks it refunded with counts from what
was read and written, drops the buyer's plans-bought count, writes the `purchase.refunded`
audit event and deletes the job. 1000 seats: 1 + 40 + 1 round trips. A crash half-way leaves
the job: the next run (Lambda's retry, a redelivered event, or `{"close": id}` by hand) reads
the seats again and cancels only what is left, so every seat changes once and every person is
told once (the notices follow each seat's one transition and the purchase's one status change).
A transaction refused because something moved under it (an invite raced, an entitlement moved
on) is redone seat by seat from fresh reads (`refunds.cancel_seat`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from typing import Any, NamedTuple

from giftplans import audit, clock, privacy, purchases
from giftplans.background import CHUNK, Chunks, in_one_or_each
from giftplans.entitlements import end_from_seat, from_gift_or_claim
from giftplans.observability import logger
from giftplans.refunds import ACTOR, REFUNDABLE, cancel_seat
from giftplans.seats import IN_USE, Action, SeatState, target
from giftplans.store import get_store
from giftplans.store import keys as k
from giftplans.store import models as m
from giftplans.store.transitions import Move, purchase_key, recounted, transition
from giftplans.store.writes import Refused, Steps, stamp

STOP_MARGIN_S = 30.0  # stop starting chunks when less than this is left of the invocation
CANCELLED = target(Action.REFUND).value
CLOSE_ACTION = "close"  # the purchase's last_action when its close job is recorded
BACKGROUND_ENV = "BACKGROUND_FUNCTION"  # the function that runs the job (template: the expiry sweep)


class CloseResult(NamedTuple):
    purchase_id: str
    cancelled: int  # seats this run cancelled
    done: bool  # the purchase is refunded (now or before)
    continued: bool = False  # stopped before the end: a new invocation carries on


# ---- the webhook's part ---------------------------------------------------------------------------------


def record(purchase: m.Purchase, amount_refunded: int, at: datetime, reason: str) -> str:
    """The decision, in one conditional write (a replay finds the job and writes nothing); then launch it.

    The same write marks the purchase `closing` (SPEC rule 14): from then on invites, claims,
    shared links and accepts answer as for a refunded purchase (`purchases.handout.open_for`,
    `still_open`, `not_closing`), though its seats are cancelled only by the background's run.
    """
    already = f"already refunded {purchase.purchase_id}"
    if purchase.status == purchases.REFUNDED:
        return already
    job = m.CloseJob(
        k.purchase_pk(purchase.purchase_id),
        k.CLOSE_SK,
        purchase_id=purchase.purchase_id,
        reason=reason,
        amount_refunded=int(amount_refunded),
        at=clock.iso(at),
        created_at=clock.iso(clock.now()),
    )

    def build(steps: Steps) -> None:
        steps.put("job", job, condition=m.CloseJob.PK.does_not_exist())
        steps.update(
            "purchase",
            purchase_key(purchase.purchase_id),
            [m.Purchase.closing.set(True), *stamp(m.Purchase, CLOSE_ACTION, ACTOR)],
            condition=m.Purchase.PK.exists() & (m.Purchase.status != purchases.REFUNDED),
        )

    try:
        get_store().write(build)
    except Refused as refused:
        if refused.conflict:
            raise  # a write at the same moment: Stripe delivers again
        if refused.failed("purchase") and not refused.failed("job"):
            return already  # settled since it was read
    return launch(purchase.purchase_id)


def launch(purchase_id: str) -> str:
    """Hand the job to the background function (asynchronous invoke); outside Lambda run it here."""
    function = os.environ.get(BACKGROUND_ENV)
    if function and os.environ.get("AWS_EXECUTION_ENV", "").startswith("AWS_Lambda_"):  # set by Lambda
        import boto3

        boto3.client("lambda").invoke(
            FunctionName=function,
            InvocationType="Event",
            Payload=json.dumps({"close": purchase_id}).encode(),
        )
        return f"refund of {purchase_id} continues in the background"
    result = run(purchase_id)
    return f"refunded {purchase_id}" if result.done else f"refund of {purchase_id} not finished"


# ---- the background's part ------------------------------------------------------------------------------


def run(purchase_id: str, *, deadline: Callable[[], float] | None = None) -> CloseResult:
    """Cancel what is left of the job's seats, then settle the purchase. Idempotent; resumable."""
    cancelled = 0
    for _ in range(3):  # the final write races an invite at most a few times
        purchase, job, seats = _read(purchase_id)
        if purchase is None or purchase.status == purchases.REFUNDED:
            return CloseResult(purchase_id, cancelled, True)
        if job is None:
            logger.warning("close job not found", extra={"purchase_id": purchase_id})
            return CloseResult(purchase_id, cancelled, False)
        at = clock.parse_iso(job.at)
        states = {seat.seat_id: SeatState(seat.state) for seat in seats}
        # cancelled by this job (this run or one before it that died), not by support earlier
        refunded = {s.seat_id for s in seats if s.state == CANCELLED and s.last_action == Action.REFUND}
        pending = [seat for seat in seats if SeatState(seat.state) in REFUNDABLE]
        work = Chunks(pending, size=CHUNK, deadline=deadline, margin=STOP_MARGIN_S)
        for chunk in work:
            last = work.taken >= len(pending)
            if last and _last_chunk_and_settle(purchase, job, chunk, states, refunded, at):
                return CloseResult(purchase_id, cancelled + len(chunk), True)
            for seat_id in _cancel_chunk(chunk, at):
                states[seat_id] = target(Action.REFUND)
                refunded.add(seat_id)
                cancelled += 1
        if work.continued:
            return CloseResult(purchase_id, cancelled, False, continued=True)
        try:
            get_store().write(
                partial(_settle, purchase=purchase, job=job, states=states, refunded=refunded, at=at)
            )
            return CloseResult(purchase_id, cancelled, True)
        except Refused as refused:
            logger.info("refund settlement raced; reading again", extra={"refused": str(refused)})
    return CloseResult(purchase_id, cancelled, False)


def _read(purchase_id: str) -> tuple[m.Purchase | None, m.CloseJob | None, list[m.Seat]]:
    purchase, job, seats = None, None, []
    for item in get_store().purchase_with_seats(purchase_id):
        if isinstance(item, m.Purchase):
            purchase = item
        elif isinstance(item, m.CloseJob):
            job = item
        elif isinstance(item, m.Seat):
            seats.append(item)
    return purchase, job, seats


def _last_chunk_and_settle(
    purchase: m.Purchase,
    job: m.CloseJob,
    chunk: Sequence[m.Seat],
    states: dict[str, SeatState],
    refunded: set[str],
    at: datetime,
) -> bool:
    """The last seats and the purchase's settlement in one transaction (<= 51 + 4 items); False if refused."""
    after = {**states, **{seat.seat_id: target(Action.REFUND) for seat in chunk}}
    done = refunded | {seat.seat_id for seat in chunk}

    def build(steps: Steps) -> None:
        _chunk_steps(steps, chunk, at)
        _settle(steps, purchase, job, after, done, at)

    try:
        get_store().write(build)
        return True
    except Refused:
        return False  # seat by seat, then the settlement alone


def _cancel_chunk(chunk: Sequence[m.Seat], at: datetime) -> list[str]:
    """Up to 25 seats -> cancelled in one transaction; seat by seat from fresh reads if it is refused."""
    done = in_one_or_each(
        chunk,
        lambda steps: _chunk_steps(steps, chunk, at),
        partial(_cancel_fresh, at=at),
        refused_note="refund chunk refused; seat by seat",
        seat_id=lambda seat: seat.seat_id,
    )
    return [seat.seat_id for seat in done]


def _cancel_fresh(seat: m.Seat, at: datetime) -> bool:
    """One seat of a refused chunk, as it now stands: cancelled if it still is refundable."""
    fresh = get_store().seat(seat.purchase_id, seat.seat_id)
    return fresh is not None and SeatState(fresh.state) in REFUNDABLE and cancel_seat(fresh, at, ACTOR)


def _chunk_steps(steps: Steps, chunk: Sequence[m.Seat], at: datetime) -> None:
    ended = clock.iso(at)
    moves = [
        Move(
            seat.seat_id,
            [m.Seat.ended_at.set(ended), m.Seat.nonce.remove(), m.Seat.token_hash.remove()],
            from_state=SeatState(seat.state),
            version=int(seat.version),
        )
        for seat in chunk
    ]
    purchase_id = chunk[0].purchase_id
    transition(
        steps,
        Action.REFUND,
        purchase_id,
        moves,
        actor=ACTOR,
        purchase=None,  # settled once, by the final write
        detail={"previous_states": {seat.seat_id: seat.state for seat in chunk}},
        at=at,
    )
    for seat in chunk:
        if SeatState(seat.state) in IN_USE and seat.recipient_sub:
            end_from_seat(steps, seat, at, step=f"entitlement {seat.seat_id}", condition=from_gift_or_claim())


def _settle(
    steps: Steps,
    purchase: m.Purchase,
    job: m.CloseJob,
    states: dict[str, SeatState],
    refunded: set[str],
    at: datetime,
) -> None:
    """The purchase refunded, the buyer's count down, its audit event, the job gone (steps of one write)."""
    counts = {state: 0 for state in m.SEAT_STATES}
    for state in states.values():
        counts[state.value] += 1
    cancelled = sorted(refunded)
    amount = int(job.amount_refunded)
    steps.update(
        "purchase",
        purchase_key(purchase.purchase_id),
        [
            m.Purchase.status.set(purchases.REFUNDED),
            m.Purchase.closing.remove(),
            m.Purchase.amount_refunded.set(amount),
            recounted(counts),
            *privacy.erase_due(purchase),  # no reminders or expiry: only its recipients' erasure is due
            *stamp(m.Purchase, Action.REFUND, ACTOR),
        ],
        condition=(m.Purchase.version == purchase.version) & (m.Purchase.status != purchases.REFUNDED),
    )
    if purchase.status == purchases.PAID:  # fulfilment counted its plans on the buyer's profile
        steps.update(
            "profile",
            m.Profile(k.account_pk(purchase.buyer_id), k.PROFILE_SK),
            [
                m.Profile.plans_bought.add(-int(purchase.quantity)),
                *stamp(m.Profile, Action.REFUND, ACTOR),
            ],
        )
    detail: dict[str, Any] = {"reason": job.reason, "amount_refunded": amount}
    detail["seats_cancelled"] = len(cancelled)
    steps.put(
        "purchase audit",  # "audit" is the last chunk's, when they share the transaction
        audit.event(purchase.purchase_id, at, "purchase.refunded", ACTOR, seat_ids=cancelled, detail=detail),
    )
    steps.delete("job", m.CloseJob(k.purchase_pk(purchase.purchase_id), k.CLOSE_SK))
