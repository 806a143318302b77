"""The buyer's side of invitations: invite (rules 3, 11, 13), revoke (rule 5), resend (rule 10)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from pynamodb.expressions.condition import Condition

from giftplans import audit, clock, entitlements, terms, tokens, verification
from giftplans.errors import Conflict, DomainError, Forbidden, Gone, NotFound, TooMany
from giftplans.identity import Caller
from giftplans.invitations import recipient
from giftplans.invitations.addresses import Row, check_addresses, validate_rows
from giftplans.invitations.limits import count_sends, counter_key, daily_limit_reached, sent_today
from giftplans.observability import Metric, count
from giftplans.purchases.handout import open_for, still_open
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


def invite(purchase_id: str, caller: Caller, rows: Sequence[Row]) -> list[SeatView]:
    """SPEC rule 3 (with 11 and 13): one available seat per address, all or nothing."""
    wanted = validate_rows(rows)
    now = clock.now()
    limit = settings().daily_invite_limit
    account = k.account_pk(caller.sub)
    purchase_key = (k.purchase_pk(purchase_id), k.PURCHASE_SK)

    def attempt() -> list[SeatView]:  # a racing invite or claim on the same purchase: read again, once
        found = get_store().many(
            purchase_key,
            (account, k.ENTITLEMENT_SK),
            (account, k.PROFILE_SK),
            counter_key(caller.sub, now),
        )
        purchase = open_for(found.get(purchase_key), caller.sub, now)
        subscriber = entitlements.is_active(found.get((account, k.ENTITLEMENT_SK)), now)
        if not subscriber and not verification.is_verified(caller, found.get((account, k.PROFILE_SK))):
            raise Forbidden(
                "Verify your email address before inviting people (subscribers can invite directly).",
                code="email_not_verified",
            )
        check_addresses(purchase, caller, wanted)
        free = sorted(int(n) for n in (purchase.available or ()))
        if len(free) < len(wanted):
            raise Conflict(
                f"This purchase has {len(free)} seat(s) available and {len(wanted)} were asked for; "
                "nothing was sent.",
                code="no_seats_available",
                details={"available": len(free)},
            )
        if sent_today(found.get(counter_key(caller.sub, now))) + len(wanted) > limit:
            raise daily_limit_reached(now, limit)
        try:
            return _write_invites(purchase, wanted, free[: len(wanted)], caller.sub, now, caller.locale)
        except Refused as refused:
            if refused.failed("purchase"):
                open_for(refused.old("purchase"), caller.sub, now)  # raises when it was not a race
            if refused.failed("counter"):
                raise daily_limit_reached(now, limit) from refused
            raise

    return retry_on_conflict(attempt)


def _write_invites(
    purchase: m.Purchase,
    rows: list[Row],
    numbers: list[int],
    sub: str,
    now: datetime,
    locale: str | None = None,
) -> list[SeatView]:
    pid, invited_at, now_ts = purchase.purchase_id, clock.iso(now), clock.epoch(now)
    plan, term_end_ts = purchase.plan, int(purchase.term_end_ts)
    moves = []
    for row, number in zip(rows, numbers, strict=True):
        seat_id = k.seat_id_of(number)
        nonce = tokens.new_nonce()
        token_hash = tokens.invite_token(pid, seat_id, plan, term_end_ts, nonce).mac_hash
        changes = recipient.recorded(
            pid,
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
        )
        key = tokens.email_key(row.email)
        moves.append(Move(seat_id, changes, holder=key))
    seen = int(purchase.invite_version or 0)
    unchanged = m.Purchase.invite_version == seen  # serialises invites of one purchase (rule 11)
    if seen == 0:
        unchanged = unchanged | m.Purchase.invite_version.does_not_exist()
    opened = PurchaseSide([m.Purchase.invite_version.add(1)], unchanged & still_open(sub, now))

    def build(steps: Steps) -> None:
        recipients = {"recipients": [tokens.mask_email(row.email) for row in rows]}
        transition(
            steps,
            Action.INVITE,
            pid,
            moves,
            actor=audit.BUYER,
            purchase=opened,
            detail=recipients,
            at=now,
            field="recipients",
            mentions=[(move.seat_id, row.email) for move, row in zip(moves, rows, strict=True)],
            listed=True,
        )
        count_sends(steps, sub, now, len(moves))

    get_store().write(build)
    count(Metric.INVITATIONS_SENT, len(moves))
    state = target(Action.INVITE).value
    return [
        SeatView(
            move.seat_id, state, recipient_email=row.email, invited_at=invited_at, from_name=row.from_name
        )
        for move, row in zip(moves, rows, strict=True)
    ]


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

        def build(steps: Steps) -> None:
            move = Move(seat_id, recipient.removed(), _owned_in_term(caller.sub, now))
            transition(steps, Action.REVOKE, purchase_id, [move], actor=audit.BUYER, at=now)

        try:
            get_store().write(build)
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
        nonce = tokens.new_nonce()
        # The MAC depends on purchase, seat and nonce only, so the new hash needs no read.
        token_hash = tokens.hash_secret(tokens.invite_token(purchase_id, seat_id, "x", 0, nonce).mac)

        def build(steps: Steps) -> None:
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
                ],
                actor=actor,
                at=now,
                condition=_owned_in_term(caller.sub, now)
                & (m.Seat.resend_count.does_not_exist() | (m.Seat.resend_count < conf.resend_limit))
                & (m.Seat.last_sent_ts.does_not_exist() | (m.Seat.last_sent_ts <= now_ts - interval)),
            )
            count_sends(steps, caller.sub, now, 1)

        try:
            get_store().write(build)
        except Refused as refused:
            if refused.failed("seat"):
                raise _resend_refusal(
                    refused.old("seat"), caller.sub, now, conf.resend_limit, interval
                ) from refused
            if refused.failed("counter"):
                raise daily_limit_reached(now, conf.daily_invite_limit) from refused
            raise
        count(Metric.INVITATIONS_SENT)
        return Resent(seat_id, last_sent_at=clock.iso(now))

    return retry_on_conflict(attempt)


def _resend_refusal(old: m.Item | None, sub: str, now: datetime, limit: int, interval: int) -> DomainError:
    resendable = TOUCHES[Touch.RESEND]
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
