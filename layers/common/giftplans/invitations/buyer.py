"""The buyer's side of invitations: invite (rules 3, 11, 13), revoke (rule 5), resend (rule 10)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action as Update

from giftplans import audit, clock, entitlements, terms, tokens, verification
from giftplans.errors import Conflict, DomainError, Forbidden, Gone, NotFound, TooMany
from giftplans.identity import Caller
from giftplans.invitations import batches, recipient, schedule
from giftplans.invitations.addresses import Row, check_addresses, holding
from giftplans.invitations.batches import CHUNK, answer, hash_of_key, invited_audit, request_hash_of
from giftplans.invitations.giveback import give_back, not_mailable
from giftplans.invitations.limits import (
    count_sends,
    counter_key,
    daily_limit,
    daily_limit_reached,
    limit_of,
    sent_today,
)
from giftplans.observability import Metric, count
from giftplans.purchases import handout
from giftplans.purchases.handout import Picked, available_count, open_for, owned, pick_seats, still_open
from giftplans.seats import TOUCHES, Action, SeatState, Touch, allowed_from, target
from giftplans.settings import get as settings
from giftplans.store import get_store
from giftplans.store import keys as k
from giftplans.store import models as m
from giftplans.store.transitions import Move, PurchaseSide, seat_key, touch, transition
from giftplans.store.writes import BUSY, Refused, Steps, retry_on_conflict
from giftplans.views import Resent, SeatView

SEAT_NOT_FOUND = "There is no such seat on a purchase of yours."
_SEAT_ID = re.compile(r"^\d{4}$")


# ---- invite ---------------------------------------------------------------------------------------------

LEASE_S = 120  # how long a list being written holds its purchase against other invites and claims


def invite(
    purchase_id: str, caller: Caller, rows: Sequence[Row], *, idempotency_key: str | None = None
) -> list[SeatView]:
    """SPEC rule 3 (with 11 and 13) and 8.3: one available seat per address, all or nothing.

    Every row is checked before anything is read (422 with a reason per row), and the purchase,
    the buyer's limits and rule 11 before anything is written. A list without a key whose items fit
    (`batches.fits_one_write`: 25 fresh seats do) is one transaction. A longer list, or any list with
    an `Idempotency-Key`, is a batch
    (`m.InviteBatch`): its first transaction writes the batch item (pending), takes the purchase's
    lease and counts every email of the list; each chunk of `CHUNK` seats is one transaction that
    moves the batch on; the last marks it done and lets the purchase go (docs/design.md, Lists).
    """
    wanted = batches.checked_rows(rows, purchase_id, caller.sub, idempotency_key)
    key_hash = hash_of_key(idempotency_key) if idempotency_key is not None else None
    request_hash = request_hash_of(wanted)
    account = k.account_pk(caller.sub)
    purchase_key = (k.purchase_pk(purchase_id), k.PURCHASE_SK)
    batch_key = (k.purchase_pk(purchase_id), k.batch_sk(key_hash)) if key_hash is not None else None

    row_keys = [key for row in wanted for key in tokens.email_keys(row.email)]  # every kid (rotation)
    short = len(wanted) <= batches.ONE_WRITE_ROWS
    holder_keys = [(k.purchase_pk(purchase_id), k.holder_sk(key)) for key in row_keys] if short else []

    def attempt() -> list[SeatView]:  # a racing invite or claim on the same purchase: read again, once
        now = clock.now()
        keys = [
            purchase_key,
            (account, k.ENTITLEMENT_SK),
            (account, k.PROFILE_SK),
            counter_key(caller.sub, now),
        ]
        keys += holder_keys
        store = get_store()
        found = store.many(*keys, *([batch_key] if batch_key is not None else []))
        batch = found.get(batch_key) if batch_key is not None else None
        if isinstance(batch, m.InviteBatch):
            owned(found.get(purchase_key), caller.sub)  # another's purchase: 404 before the key says anything
            if batch.request_hash != request_hash or batch.buyer_id != caller.sub:
                raise Conflict(
                    "This Idempotency-Key was used for a different list; use a new key for a new list.",
                    code="idempotency_key_reused",
                )
            if batch.done:
                return answer(batch, wanted)
            purchase = open_for(found.get(purchase_key), caller.sub, now, batch=batch.SK)
            versions = {key: int(h.version or 0) for key, h in store.holders(purchase_id).items()}
            return _write_batch(purchase, wanted, batch, caller.sub, now, holders=versions)
        purchase = open_for(found.get(purchase_key), caller.sub, now)
        subscriber = entitlements.is_active(found.get((account, k.ENTITLEMENT_SK)), now)
        profile = found.get((account, k.PROFILE_SK))
        if not subscriber and not verification.is_verified(caller, profile):
            raise Forbidden(
                "Verify your email address before inviting people (subscribers can invite directly).",
                code="email_not_verified",
            )
        if holder_keys:  # a short list: its Holder items came with the first read
            held = {
                key: h
                for key, h in zip(row_keys, map(found.get, holder_keys), strict=True)
                if isinstance(h, m.Holder)
            }
        else:
            wanted_keys = set(row_keys)
            held = {key: h for key, h in store.holders(purchase_id).items() if key in wanted_keys}
        live = _live(purchase_id, held)
        check_addresses(purchase, caller, wanted, live)
        limit = daily_limit(profile)
        sent = sent_today(found.get(counter_key(caller.sub, now)))
        free = available_count(purchase)
        if free >= len(wanted) and sent + len(wanted) > limit:
            raise daily_limit_reached(now, limit, sent)
        picked = pick_seats(purchase, len(wanted))
        versions = {key: int(h.version or 0) for key, h in held.items()}
        try:
            if key_hash is None and batches.fits_one_write(len(wanted), len(picked.from_markers)):
                return _write_invites(
                    purchase, wanted, picked, caller.sub, now, limit, versions, caller.locale
                )
            plan = m.InviteBatch(
                k.purchase_pk(purchase_id),
                k.batch_sk(key_hash or hash_of_key(tokens.new_nonce())),
                purchase_id=purchase_id,
                buyer_id=caller.sub,
                request_hash=request_hash,
                seat_ids=[k.seat_id_of(n) for n in picked.numbers],
                invited_at=clock.iso(now),
                chunks=(len(wanted) + CHUNK - 1) // CHUNK,
                chunks_done=0,
                done=False,
                expires_at=clock.epoch(now) + BATCH_KEPT_S,
                locale=caller.locale,
            )
            return _write_batch(
                purchase, wanted, plan, caller.sub, now, limit=limit, picked=picked, holders=versions
            )
        except Refused as refused:
            if refused.failed("purchase"):
                open_for(refused.old("purchase"), caller.sub, now)  # raises when it was not a race
            if refused.failed("counter"):
                old = refused.old("counter")
                raise daily_limit_reached(now, limit, sent_today(old)) from refused
            if refused.failed("batch"):  # the same key, sent twice at once: the other one is writing it
                raise Conflict(BUSY, code="concurrent_change") from refused
            raise  # a seat, a marker or a Holder item changed meanwhile: read again (once)

    return retry_on_conflict(attempt)


def _live(purchase_id: str, held: dict[str, m.Holder]) -> set[str]:
    """The addresses among `held` whose Holder item's seat still holds them (one BatchGetItem, if any)."""
    if not held:
        return set()
    pk = k.purchase_pk(purchase_id)
    seats = get_store().many(*[(pk, k.seat_sk(h.seat_id)) for h in held.values()])
    return {key for key, h in held.items() if holding(seats.get((pk, k.seat_sk(h.seat_id))), key)}


BATCH_KEPT_S = 86400  # a batch item (an Idempotency-Key's answer) is kept a day, like Stripe's keys


def _moves(
    purchase: m.Purchase,
    rows: Sequence[Row],
    seat_ids: Sequence[str],
    invited_at: str,
    now_ts: int,
    holders: dict[str, int],
    markers: frozenset[int],
    locale: str | None,
) -> list[Move]:
    purchase_id, plan, term_end_ts = purchase.purchase_id, purchase.plan, int(purchase.term_end_ts)
    moves = []
    for row, seat_id in zip(rows, seat_ids, strict=True):
        nonce = tokens.link_nonce()
        token_hash = tokens.invite_token(purchase_id, seat_id, plan, term_end_ts, nonce).mac_hash
        changes = recipient.recorded(
            purchase_id,
            seat_id,
            row.email,
            row.message,
            from_name=row.from_name,
            nonce=nonce,
            token_hash=token_hash,
            at=invited_at,
            at_ts=now_ts,
            locale=row.locale or locale or purchase.buyer_locale,
            buyer_locale=locale,
            send_at=row.send_at,
        )
        key = tokens.email_key(row.email)
        moves.append(
            Move(
                seat_id,
                changes,
                holder=key,
                holder_seen=holders.get(key),
                free_marker=int(seat_id) in markers,
            )
        )
    return moves


def _serialised(purchase: m.Purchase) -> tuple[Condition, list[Update]]:
    """Invites of one purchase one at a time (rule 11's check holds against what was read)."""
    seen = int(purchase.invite_version or 0)
    unchanged: Condition = m.Purchase.invite_version == seen
    if seen == 0:
        unchanged = unchanged | m.Purchase.invite_version.does_not_exist()
    return unchanged, [m.Purchase.invite_version.add(1)]


def _write_invites(
    purchase: m.Purchase,
    rows: list[Row],
    picked: Picked,
    sub: str,
    now: datetime,
    limit: int,
    holders: dict[str, int],
    locale: str | None = None,
) -> list[SeatView]:
    pid, invited_at = purchase.purchase_id, clock.iso(now)
    seat_ids = [k.seat_id_of(n) for n in picked.numbers]
    moves = _moves(
        purchase, rows, seat_ids, invited_at, clock.epoch(now), holders, picked.from_markers, locale
    )
    unchanged, bump = _serialised(purchase)
    opened = PurchaseSide([*bump, *picked.changes], unchanged & picked.condition & still_open(sub, now))

    def build(steps: Steps) -> None:
        audited = invited_audit(moves, rows)
        transition(steps, Action.INVITE, pid, moves, actor=audit.BUYER, purchase=opened, at=now, **audited)
        count_sends(steps, sub, now, len(moves), limit)

    get_store().write(build)
    count(Metric.INVITATIONS_SENT, len(moves))
    state = target(Action.INVITE).value
    return [
        SeatView(move.seat_id, state, row.email, invited_at, from_name=row.from_name, send_at=row.send_at)
        for move, row in zip(moves, rows, strict=True)
    ]


def _write_batch(
    purchase: m.Purchase,
    rows: list[Row],
    batch: m.InviteBatch,
    sub: str,
    now: datetime,
    *,
    limit: int | None = None,
    picked: Picked | None = None,
    holders: dict[str, int],
) -> list[SeatView]:
    """Write a list chunk by chunk from where its batch item stands (see `invite`)."""
    pid = purchase.purchase_id
    invited_at, now_ts = batch.invited_at, clock.epoch(now)
    chunks, start = int(batch.chunks), int(batch.chunks_done or 0)
    lease = m.Purchase.batch_lease_until.set(now_ts + LEASE_S)
    for index in range(start, chunks):
        part = rows[index * CHUNK : (index + 1) * CHUNK]
        seat_ids = batch.seat_ids[index * CHUNK : (index + 1) * CHUNK]
        markers = picked.from_markers if picked is not None else frozenset()
        moves = _moves(purchase, part, seat_ids, invited_at, now_ts, holders, markers, batch.locale)
        last = index == chunks - 1
        changes: list[Update] = [m.Purchase.invite_version.add(1)]
        if index == 0 and picked is not None:
            changes += picked.changes  # the whole list's seats are taken off the fresh ones at once
        if last:
            changes += [m.Purchase.batch_lock.remove(), m.Purchase.batch_lease_until.remove()]
        else:
            changes += [m.Purchase.batch_lock.set(batch.SK), lease]
        if index == 0:
            unchanged, _ = _serialised(purchase)
            condition = unchanged & still_open(sub, now)
            if picked is not None:
                condition = condition & picked.condition
        else:
            condition = still_open(sub, now, batch=batch.SK)
        side = PurchaseSide(changes, condition)

        def build(
            steps: Steps,
            moves: list[Move] = moves,
            part: list[Row] = part,
            index: int = index,
            last: bool = last,
            side: PurchaseSide = side,
        ) -> None:
            audited = invited_audit(moves, part)
            transition(steps, Action.INVITE, pid, moves, actor=audit.BUYER, purchase=side, at=now, **audited)
            if index == 0:
                assert limit is not None  # a new batch: its limit was read with the profile
                count_sends(steps, sub, now, len(rows), limit)
                batch.chunks_done = 1
                batch.done = last
                steps.put("batch", batch, condition=m.InviteBatch.PK.does_not_exist())
            else:
                actions = [m.InviteBatch.chunks_done.set(index + 1)]
                if last:
                    actions.append(m.InviteBatch.done.set(True))
                steps.update("batch", batch, actions, condition=m.InviteBatch.chunks_done == index)

        get_store().write(build)
        count(Metric.INVITATIONS_SENT, len(moves))
    return answer(batch, rows)


# ---- revoke and resend ----------------------------------------------------------------------------------


def _check_seat_id(seat_id: str) -> None:
    if not _SEAT_ID.match(seat_id or ""):
        raise NotFound(SEAT_NOT_FOUND, code="seat_not_found")


def _owned_in_term(sub: str, now: datetime) -> Condition:
    condition: Condition = (m.Seat.buyer_id == sub) & (m.Seat.term_end_ts > clock.epoch(now))
    return condition


def _buyer_refusal(
    old: m.Item | None, sub: str, now: datetime, allowed: frozenset[SeatState], doing: str
) -> DomainError:
    """Why a buyer's seat condition failed, from the seat as it stood."""
    if not isinstance(old, m.Seat) or old.buyer_id != sub:
        return NotFound(SEAT_NOT_FOUND, code="seat_not_found")
    if terms.has_ended(old.term_end_ts, now):
        return Gone(f"This purchase's term ended on {old.term_end}.", code="term_ended")
    if old.state not in allowed:
        return Conflict(
            f"Seat {old.seat_id} is {old.state}; only an invitation that has not been accepted "
            f"can be {doing}.",
            code="seat_not_invited",
            details={"state": old.state},
        )
    return Conflict(BUSY, code="concurrent_change")


def revoke(purchase_id: str, seat_id: str, caller: Caller) -> SeatView:
    """SPEC rule 5: an invited seat goes back to available; its link stops working."""
    _check_seat_id(seat_id)

    def attempt() -> SeatView:
        now = clock.now()

        try:
            changes, owned = recipient.removed(), _owned_in_term(caller.sub, now)
            give_back(Action.REVOKE, purchase_id, seat_id, changes, owned, actor=audit.BUYER, at=now)
        except Refused as refused:
            if refused.failed("seat"):
                allowed = allowed_from(Action.REVOKE)
                raise _buyer_refusal(refused.old("seat"), caller.sub, now, allowed, "revoked") from refused
            raise
        return SeatView(seat_id, target(Action.REVOKE).value)

    return retry_on_conflict(attempt)


def resend(purchase_id: str, seat_id: str, caller: Caller, *, actor: str = audit.BUYER) -> Resent:
    """SPEC rule 10: a fresh link (the old one stops working), limited per seat and per day.

    Support resends as the buyer (`caller` names the buyer: the same limits apply) with
    `actor="support:<arn>"` recorded on the seat and in the audit trail.
    """
    _check_seat_id(seat_id)
    conf = settings()
    interval = conf.resend_interval_minutes * 60

    def attempt() -> Resent:
        now = clock.now()
        now_ts = clock.epoch(now)
        nonce = tokens.link_nonce()
        # The MAC depends on purchase, seat and nonce only, so the new hash needs no read.
        token_hash = tokens.invite_token(purchase_id, seat_id, "x", 0, nonce).mac_hash

        def build(steps: Steps) -> None:
            handout.check_not_closing(steps, purchase_id)  # rule 14: no new link while a close job runs
            touch(
                steps,
                Touch.RESEND,
                seat_key(purchase_id, seat_id),
                [
                    m.Seat.nonce.set(nonce),
                    m.Seat.token_hash.set(token_hash),
                    m.Seat.link_hashes.add({token_hash}),
                    m.Seat.resend_count.add(1),
                    m.Seat.last_sent_ts.set(now_ts),
                    *schedule.sent_now(purchase_id, seat_id, now),  # a scheduled seat's mail goes now
                ],
                actor=actor,
                at=now,
                condition=_owned_in_term(caller.sub, now)
                & m.Seat.shared.does_not_exist()  # a shared seat has no address: sharing.resend
                & (m.Seat.resend_count.does_not_exist() | (m.Seat.resend_count < conf.resend_limit))
                & (m.Seat.last_sent_ts.does_not_exist() | (m.Seat.last_sent_ts <= now_ts - interval)),
            )
            count_sends(steps, caller.sub, now, 1)

        try:
            get_store().write(build)
        except Refused as refused:
            handout.refuse_if_closing(refused)
            if refused.failed("seat"):
                raise _resend_refusal(
                    refused.old("seat"), caller.sub, now, conf.resend_limit, interval
                ) from refused
            if refused.failed("counter"):
                old = refused.old("counter")
                raise daily_limit_reached(now, limit_of(old), sent_today(old)) from refused
            raise
        count(Metric.INVITATIONS_SENT)
        return Resent(seat_id, last_sent_at=clock.iso(now))

    return retry_on_conflict(attempt)


def _resend_refusal(old: m.Item | None, sub: str, now: datetime, limit: int, interval: int) -> DomainError:
    resendable = TOUCHES[Touch.RESEND]
    if (shared := not_mailable(old, sub, now)) is not None:
        return shared
    if (
        isinstance(old, m.Seat)
        and old.buyer_id == sub
        and old.state in resendable
        and not terms.has_ended(old.term_end_ts, now)
    ):
        if int(old.resend_count or 0) >= limit:
            return Conflict(
                f"This invitation was already sent again {limit} times, the most allowed.",
                code="resend_limit_reached",
            )
        wait = max(1, int(old.last_sent_ts or 0) + interval - clock.epoch(now))
        minutes = interval // 60
        return TooMany(
            f"An invitation can be sent again {minutes} minutes after the last one; try again in "
            f"{(wait + 59) // 60} minute(s).",
            code="resend_too_soon",
            details={"retry_after": wait},
            headers={"Retry-After": str(wait)},
        )
    return _buyer_refusal(old, sub, now, resendable, "sent again")
