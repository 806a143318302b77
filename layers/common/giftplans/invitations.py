"""Invitations: invite, revoke, resend (the buyer); accept, decline, preview (the link holder).

Every transition is one TransactWriteItems (docs/design.md, "What each transition
writes"): the seat, conditional on its state (and, for the link holder, on the token's
hash, plan and term end); the purchase's counts, `available` and `holders`; the audit
event; and whatever else the rule touches (the entitlement on accept, the buyer's daily
counter on invite and resend). Refusals are explained from the cancellation reasons
(ALL_OLD), so accept, decline, revoke and resend cost one round trip each and invite
costs two (one BatchGetItem, one transaction). The committed change is the outbox: the
mailer and the events publisher read it from the stream.

The accept link names its seat and carries the plan and term end, then a MAC
(giftplans.tokens); the seat stores only the nonce and the MAC's hash.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from giftplans import audit, clock, entitlements, tokens, verification
from giftplans.errors import Conflict, DomainError, Forbidden, Gone, Invalid, NotFound, TooMany
from giftplans.seats import TOUCHES, Action, SeatState, Touch, can, target
from giftplans.settings import get as settings
from giftplans.store import get_store
from giftplans.store import keys as k
from giftplans.store import models as m
from giftplans.store.transitions import Move, PurchaseSide, seat_key, touch, transition
from giftplans.store.writes import BUSY, Refused, Steps, retry_on_conflict

if TYPE_CHECKING:
    from giftplans.http import Caller

S = SeatState
MAX_ROWS = 25
MAX_MESSAGE = 1000
# Not RFC 5322 in full: a deliverable address without the characters that would let one
# field become several (",;<>" and quotes split or rewrite headers) or control characters.
_NOT_IN_ADDRESS = r'\s@,;:<>()\[\]\\"\x00-\x1f\x7f'
_LOCAL = rf"[^{_NOT_IN_ADDRESS}]{{1,64}}"
_DOMAIN = rf"[^{_NOT_IN_ADDRESS}.][^{_NOT_IN_ADDRESS}]*\.[^{_NOT_IN_ADDRESS}.]{{2,}}"
_EMAIL = re.compile(rf"^{_LOCAL}@{_DOMAIN}$")
_SEAT_ID = re.compile(r"^\d{4}$")
LAST_TERM_END_TS = 253402300799  # 9999-12-31T23:59:59Z, the last instant a datetime can hold

PURCHASE_NOT_FOUND = "There is no purchase with this id on your account."
SEAT_NOT_FOUND = "There is no such seat on a purchase of yours."
LINK_NOT_FOUND = "This invitation link is not valid. Check that the whole link was copied."
LINK_REVOKED = (
    "This invitation link no longer works: it was taken back, declined, or replaced by a newer email."
)


@dataclass(frozen=True)
class Row:
    email: str
    message: str | None = None


# ---- shared checks --------------------------------------------------------------------------------------


def term_ended(term_end_ts: int | float, now: datetime) -> bool:
    return clock.epoch(now) >= int(term_end_ts)


def check_purchase(purchase: m.Item | None, sub: str, now: datetime) -> m.Purchase:
    """The purchase, if it is the caller's and its seats can be handed out now (invite, claim)."""
    if not isinstance(purchase, m.Purchase) or purchase.buyer_id != sub:
        raise NotFound(PURCHASE_NOT_FOUND, code="purchase_not_found")
    if purchase.status == "pending_payment":
        raise Conflict(
            "This purchase is still waiting for its payment; its seats can be used once it is paid.",
            code="purchase_not_paid",
        )
    if purchase.status == "payment_failed":
        raise Conflict(
            "The payment for this purchase failed, so its seats cannot be used.", code="purchase_not_paid"
        )
    if purchase.status == "refunded":
        raise Conflict("This purchase was refunded and its seats were cancelled.", code="purchase_refunded")
    if purchase.status != "paid":
        raise Conflict("This purchase's seats cannot be used.", code="purchase_not_paid")
    if term_ended(purchase.term_end_ts, now):
        raise Gone(
            f"This purchase's term ended on {purchase.term_end}; its seats can no longer be handed out.",
            code="term_ended",
        )
    if purchase.frozen:
        raise Conflict(
            "A payment dispute is open on this purchase; new invitations and claims are paused "
            "until it is resolved.",
            code="purchase_frozen",
        )
    return purchase


def purchase_open(sub: str, now: datetime) -> Any:
    """The purchase condition of invite and claim: the checks above, enforced by DynamoDB."""
    return (
        (m.Purchase.buyer_id == sub)
        & (m.Purchase.status == "paid")
        & (m.Purchase.frozen.does_not_exist() | (m.Purchase.frozen == False))  # noqa: E712
        & (m.Purchase.term_end_ts > clock.epoch(now))
    )


def seat_out(
    seat_id: str,
    state: str,
    *,
    recipient_email: str | None = None,
    invited_at: str | None = None,
    accepted_at: str | None = None,
    resend_count: int = 0,
) -> dict[str, Any]:
    """The SPEC seat JSON (same shape as `purchases.seat_view`) for a seat this call just wrote."""
    return {
        "seat_id": seat_id,
        "state": state,
        "recipient_email": recipient_email,
        "invited_at": invited_at,
        "accepted_at": accepted_at,
        "delivery": None,
        "resend_count": resend_count,
    }


def _recipient_removed() -> list[Any]:
    """Revoke and decline: the seat goes back without a trace of its recipient."""
    return [
        m.Seat.recipient_email.remove(),
        m.Seat.recipient_sub.remove(),
        m.Seat.GSI3PK.remove(),
        m.Seat.GSI3SK.remove(),
        m.Seat.invited_at.remove(),
        m.Seat.nonce.remove(),
        m.Seat.token_hash.remove(),
        m.Seat.message.remove(),
        m.Seat.delivery.remove(),
    ]


# ---- the buyer: invite ----------------------------------------------------------------------------------


def _row_error(index: int, email: str, code: str, message: str) -> dict[str, Any]:
    return {"index": index, "email": email, "code": code, "message": message}


def validate_rows(rows: Sequence[Row]) -> list[Row]:
    """1..25 well-formed, distinct addresses, or a 422 that says which rows are wrong and why."""
    if not rows:
        raise Invalid("Add at least one address to invite.", code="no_invitations")
    if len(rows) > MAX_ROWS:
        raise Invalid(
            f"At most {MAX_ROWS} addresses can be invited at once; this request has {len(rows)}.",
            code="too_many_invitations",
        )
    seen: dict[str, int] = {}
    problems: list[dict[str, Any]] = []
    clean: list[Row] = []
    for index, row in enumerate(rows):
        email = (row.email or "").strip()
        message = (row.message or "").strip() or None
        if len(email) > 254 or not _EMAIL.match(email):
            problems.append(_row_error(index, email, "invalid_email", "This is not an email address."))
        elif tokens.normalise_email(email) in seen:
            first = seen[tokens.normalise_email(email)]
            problems.append(
                _row_error(index, email, "duplicate_in_request", f"This address is already in row {first}.")
            )
        elif message is not None and len(message) > MAX_MESSAGE:
            problems.append(
                _row_error(
                    index, email, "message_too_long", f"The message is longer than {MAX_MESSAGE} characters."
                )
            )
        seen.setdefault(tokens.normalise_email(email), index)
        clean.append(Row(email, message))
    if problems:
        raise Invalid(
            f"{len(problems)} of the {len(rows)} rows cannot be invited; nothing was sent.",
            code="invalid_rows",
            details={"rows": problems},
        )
    return clean


def _check_addresses(purchase: m.Purchase, caller: Caller, rows: list[Row]) -> None:
    """Rule 11: not the buyer's own address, not an address that already holds a seat of this purchase."""
    own = {tokens.email_key(purchase.buyer_email)} | (
        {tokens.email_key(caller.email)} if caller.email else set()
    )
    held: dict[str, str] = purchase.holders.as_dict() if purchase.holders is not None else {}
    holders = set(held.values())
    _refuse_rows(
        rows,
        own,
        "use_claim_instead",
        "This is your own address.",
        lambda _: "You cannot invite yourself; claim a seat for yourself instead.",
    )
    _refuse_rows(
        rows,
        holders,
        "already_invited",
        "This address already holds a seat of this purchase.",
        lambda n: f"{n} of these addresses already hold a seat of this purchase; nothing was sent.",
    )


def _refuse_rows(
    rows: list[Row], keys: set[str], code: str, row_message: str, message: Callable[[int], str]
) -> None:
    """409 `code` naming every row whose address (by email key) is in `keys`; nothing when none is."""
    hits = [
        _row_error(i, r.email, code, row_message)
        for i, r in enumerate(rows)
        if tokens.email_key(r.email) in keys
    ]
    if hits:
        raise Conflict(message(len(hits)), code=code, details={"rows": hits})


def _next_midnight(now: datetime) -> datetime:
    return (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


def daily_limit_reached(now: datetime, limit: int) -> TooMany:
    resets = _next_midnight(now)
    wait = max(1, clock.epoch(resets) - clock.epoch(now))
    return TooMany(
        f"You can send at most {limit} invitation emails a day; the limit resets at {clock.iso(resets)}.",
        code="daily_limit_reached",
        details={"resets_at": clock.iso(resets)},
        headers={"Retry-After": str(wait)},
    )


def count_sends(steps: Steps, sub: str, now: datetime, n: int) -> None:
    """Rule 13: the buyer's invitation emails today, refused past the daily limit (same transaction)."""
    limit = settings().daily_invite_limit
    if n > limit:  # with no counter yet the condition below would let any n through
        raise daily_limit_reached(now, limit)
    steps.update(
        "counter",
        m.InviteCounter(k.account_pk(sub), k.invites_sk(now.date().isoformat())),
        actions=[
            m.InviteCounter.type.set(m.InviteCounter),
            m.InviteCounter.sent.add(n),
            m.InviteCounter.expires_at.set(clock.epoch(_next_midnight(now)) + 2 * 86400),
        ],
        condition=m.InviteCounter.sent.does_not_exist() | (m.InviteCounter.sent <= limit - n),
    )


def invite(purchase_id: str, caller: Caller, rows: Sequence[Row]) -> list[dict[str, Any]]:
    """SPEC rule 3 (with 11 and 13): one available seat per address, all or nothing. Returns seat views."""
    wanted = validate_rows(rows)
    now = clock.now()
    limit = settings().daily_invite_limit
    account = k.account_pk(caller.sub)
    for _ in range(2):  # a racing invite or claim on the same purchase: read again and retry once
        found = get_store().many(
            (k.purchase_pk(purchase_id), k.PURCHASE_SK),
            (account, k.ENTITLEMENT_SK),
            (account, k.PROFILE_SK),
            (account, k.invites_sk(now.date().isoformat())),
        )
        purchase = check_purchase(found.get((k.purchase_pk(purchase_id), k.PURCHASE_SK)), caller.sub, now)
        subscriber = entitlements.is_active(found.get((account, k.ENTITLEMENT_SK)), now)
        if not subscriber and not verification.is_verified(caller, found.get((account, k.PROFILE_SK))):
            raise Forbidden(
                "Verify your email address before inviting people (subscribers can invite directly).",
                code="email_not_verified",
            )
        _check_addresses(purchase, caller, wanted)
        free = sorted(int(n) for n in (purchase.available or ()))
        if len(free) < len(wanted):
            raise Conflict(
                f"This purchase has {len(free)} seat(s) available and {len(wanted)} were asked for; "
                "nothing was sent.",
                code="no_seats_available",
                details={"available": len(free)},
            )
        counter = found.get((account, k.invites_sk(now.date().isoformat())))
        sent = int(counter.sent or 0) if isinstance(counter, m.InviteCounter) else 0
        if sent + len(wanted) > limit:
            raise daily_limit_reached(now, limit)
        try:
            return _write_invites(purchase, wanted, free[: len(wanted)], caller.sub, now)
        except Refused as refused:
            if refused.failed("purchase"):
                check_purchase(refused.old("purchase"), caller.sub, now)  # raises when it was not a race
            if refused.failed("counter"):
                raise daily_limit_reached(now, limit) from refused
    raise Conflict(BUSY, code="concurrent_change")


def _write_invites(
    purchase: m.Purchase, rows: list[Row], numbers: list[int], sub: str, now: datetime
) -> list[dict[str, Any]]:
    pid, invited_at, now_ts = purchase.purchase_id, clock.iso(now), clock.epoch(now)
    plan, term_end_ts = purchase.plan, int(purchase.term_end_ts)
    planned = []
    for row, number in zip(rows, numbers, strict=True):
        seat_id = k.seat_id_of(number)
        nonce = tokens.new_nonce()
        token = tokens.invite_token(pid, seat_id, plan, term_end_ts, nonce)
        planned.append((row, seat_id, nonce, token.mac_hash, tokens.email_key(row.email)))

    def build(steps: Steps) -> None:
        moves = []
        for row, seat_id, nonce, token_hash, key in planned:
            changes = [
                m.Seat.recipient_email.set(row.email),
                m.Seat.GSI3PK.set(k.email_gsi(key)),
                m.Seat.GSI3SK.set(k.seat_email_sk(pid, seat_id)),
                m.Seat.invited_at.set(invited_at),
                m.Seat.nonce.set(nonce),
                m.Seat.token_hash.set(token_hash),
                m.Seat.resend_count.set(0),
                m.Seat.last_sent_ts.set(now_ts),
                m.Seat.delivery.remove(),
                m.Seat.reminders.remove(),
            ]
            if row.message:
                changes.append(m.Seat.message.set(row.message))
            moves.append(Move(seat_id, changes, holder=key))
        seen = int(purchase.invite_version or 0)
        unchanged = m.Purchase.invite_version == seen
        if seen == 0:
            unchanged = unchanged | m.Purchase.invite_version.does_not_exist()
        transition(
            steps,
            Action.INVITE,
            pid,
            moves,
            actor=audit.BUYER,
            purchase=PurchaseSide([m.Purchase.invite_version.add(1)], unchanged & purchase_open(sub, now)),
        )
        count_sends(steps, sub, now, len(planned))
        steps.put(
            "audit",
            audit.event(
                pid,
                now,
                "seat.invited",
                audit.BUYER,
                [p[1] for p in planned],
                {"recipients": [tokens.mask_email(p[0].email) for p in planned]},
            ),
        )

    get_store().write(build)
    return [
        seat_out(seat_id, target(Action.INVITE).value, recipient_email=row.email, invited_at=invited_at)
        for row, seat_id, *_ in planned
    ]


# ---- the buyer: revoke and resend -----------------------------------------------------------------------


def _check_seat_id(seat_id: str) -> None:
    if not _SEAT_ID.match(seat_id or ""):
        raise NotFound(SEAT_NOT_FOUND, code="seat_not_found")


def _buyer_refusal(old: m.Item | None, sub: str, now: datetime, doing: str) -> DomainError:
    """Why a buyer's seat condition failed, from the seat as it stood."""
    if not isinstance(old, m.Seat) or old.buyer_id != sub:
        return NotFound(SEAT_NOT_FOUND, code="seat_not_found")
    if term_ended(old.term_end_ts, now):
        return Gone(f"This purchase's term ended on {old.term_end}.", code="term_ended")
    if not can(Action.REVOKE, old.state):
        return Conflict(
            f"Seat {old.seat_id} is {old.state}; only an invitation that has not been accepted "
            f"can be {doing}.",
            code="seat_not_invited",
            details={"state": old.state},
        )
    return Conflict(BUSY, code="concurrent_change")


def _owned_in_term(sub: str, now: datetime) -> Any:
    return (m.Seat.buyer_id == sub) & (m.Seat.term_end_ts > clock.epoch(now))


def revoke(purchase_id: str, seat_id: str, caller: Caller) -> dict[str, Any]:
    """SPEC rule 5: an invited seat goes back to available; its link stops working."""
    _check_seat_id(seat_id)

    def attempt() -> dict[str, Any]:
        now = clock.now()

        def build(steps: Steps) -> None:
            move = Move(seat_id, _recipient_removed(), _owned_in_term(caller.sub, now))
            transition(steps, Action.REVOKE, purchase_id, [move], actor=audit.BUYER)
            steps.put("audit", audit.event(purchase_id, now, "seat.revoked", audit.BUYER, [seat_id]))

        try:
            get_store().write(build)
        except Refused as refused:
            if refused.failed("seat"):
                raise _buyer_refusal(refused.old("seat"), caller.sub, now, "revoked") from refused
            raise
        return seat_out(seat_id, target(Action.REVOKE).value)

    return retry_on_conflict(attempt)


def resend(purchase_id: str, seat_id: str, caller: Caller, *, actor: str = audit.BUYER) -> dict[str, Any]:
    """SPEC rule 10: a fresh link (the old one stops working), limited per seat and per day.

    Support resends as the buyer (`caller` names the buyer: the same limits apply) with
    `actor="support:<arn>"` recorded on the seat and in the audit trail.
    """
    _check_seat_id(seat_id)
    conf = settings()
    interval = conf.resend_interval_minutes * 60

    def attempt() -> dict[str, Any]:
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
                    m.Seat.resend_count.add(1),
                    m.Seat.last_sent_ts.set(now_ts),
                ],
                actor=actor,
                condition=_owned_in_term(caller.sub, now)
                & (m.Seat.resend_count.does_not_exist() | (m.Seat.resend_count < conf.resend_limit))
                & (m.Seat.last_sent_ts.does_not_exist() | (m.Seat.last_sent_ts <= now_ts - interval)),
            )
            count_sends(steps, caller.sub, now, 1)
            steps.put("audit", audit.event(purchase_id, now, "seat.resent", actor, [seat_id]))

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
        return {"seat_id": seat_id, "state": S.INVITED.value, "last_sent_at": clock.iso(now)}

    return retry_on_conflict(attempt)


def _resend_refusal(old: m.Item | None, sub: str, now: datetime, limit: int, interval: int) -> DomainError:
    if (
        isinstance(old, m.Seat)
        and old.buyer_id == sub
        and old.state in TOUCHES[Touch.RESEND]
        and not term_ended(old.term_end_ts, now)
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
    return _buyer_refusal(old, sub, now, "sent again")


# ---- the link holder: preview, accept, decline ----------------------------------------------------------


def _parse(text: str) -> tokens.InviteToken:
    token = tokens.parse_invite_token(text) if isinstance(text, str) else None
    if token is None or token.term_end_ts > LAST_TERM_END_TS:  # beyond year 9999: no date, no seat
        raise NotFound(LINK_NOT_FOUND, code="invitation_not_found")
    return token


def _is_current(seat: m.Seat, token: tokens.InviteToken) -> bool:
    return bool(seat.token_hash) and hmac.compare_digest(str(seat.token_hash), token.mac_hash)


def _names_seat(seat: m.Item | None, token: tokens.InviteToken) -> bool:
    return isinstance(seat, m.Seat) and seat.plan == token.plan and int(seat.term_end_ts) == token.term_end_ts


def _expired(seat: m.Seat) -> Gone:
    return Gone(f"This invitation's plan ended on {seat.term_end}.", code="invitation_expired")


def _link_refusal(seat: m.Item | None, token: tokens.InviteToken, now: datetime) -> DomainError | None:
    """Why a link cannot be used, from the seat as it stands; None while it is a live invitation."""
    if not isinstance(seat, m.Seat) or not _names_seat(seat, token):
        return NotFound(LINK_NOT_FOUND, code="invitation_not_found")
    if term_ended(seat.term_end_ts, now) or seat.state == S.EXPIRED:
        return _expired(seat)
    if _is_current(seat, token) and seat.state == S.INVITED:
        return None
    if seat.state in (S.ACCEPTED, S.UPGRADED):
        return Conflict("This invitation has already been accepted.", code="invitation_already_accepted")
    if seat.state == S.CANCELLED:
        return Gone("This invitation was cancelled.", code="invitation_cancelled")
    return Gone(LINK_REVOKED, code="invitation_revoked")


def _sender(seat: m.Seat) -> str:
    return seat.buyer_name or tokens.mask_email(seat.buyer_email)


def preview(token_text: str) -> dict[str, Any]:
    """`GET /invitations/{token}`: plan, sender, term end and state, and nothing else. One GetItem."""
    token = _parse(token_text)
    now = clock.now()
    seat = get_store().seat(token.purchase_id, token.seat_id, consistent=False)
    refusal = _link_refusal(seat, token, now)
    if refusal is not None and not isinstance(refusal, Conflict):
        raise refusal
    assert isinstance(seat, m.Seat)
    state = S.INVITED.value if refusal is None else S.ACCEPTED.value
    return {"plan": seat.plan, "sender": _sender(seat), "term_end": seat.term_end, "state": state}


def accept(token_text: str, caller: Caller) -> dict[str, Any]:
    """SPEC rules 3 and 6: the invited, verified address takes the seat and the rest of its term."""
    token = _parse(token_text)
    if not caller.email:
        raise Forbidden(
            "Your sign-in carries no email address; sign in with the invited address.",
            code="email_not_verified",
        )
    email = caller.email
    term_end = clock.iso(clock.from_epoch(token.term_end_ts))

    def attempt() -> dict[str, Any]:
        now = clock.now()
        entitlement = entitlements.granted(
            caller.sub,
            plan=token.plan,
            source=entitlements.Source.GIFT,
            term_end=term_end,
            term_end_ts=token.term_end_ts,
            purchase_id=token.purchase_id,
            seat_id=token.seat_id,
            now=now,
        )

        def build(steps: Steps) -> None:
            if not caller.email_verified:
                steps.check(
                    "profile",
                    m.Profile,
                    k.account_pk(caller.sub),
                    k.PROFILE_SK,
                    condition=m.Profile.verified_email == tokens.normalise_email(email),
                )
            entitlements.grant(steps, entitlement, now)
            steps.put(
                "audit",
                audit.event(
                    token.purchase_id,
                    now,
                    "seat.accepted",
                    audit.RECIPIENT,
                    [token.seat_id],
                    {"recipient": tokens.mask_email(email)},
                ),
            )
            move = Move(
                token.seat_id,
                [
                    m.Seat.recipient_sub.set(caller.sub),
                    m.Seat.accepted_at.set(clock.iso(now)),
                    m.Seat.nonce.remove(),
                    m.Seat.token_hash.remove(),
                ],
                _live_link(token, now) & (k.email_gsi(tokens.email_key(email)) == m.Seat.GSI3PK),
            )
            transition(steps, Action.ACCEPT, token.purchase_id, [move], actor=audit.RECIPIENT)

        try:
            get_store().write(build)
        except Refused as refused:
            if refused.failed("seat"):
                old = refused.old("seat")
                refusal = _link_refusal(old, token, now)
                if refusal is None:  # a live link for another address
                    raise _email_mismatch(old) from refused
                raise refusal from refused
            if refused.failed("profile"):
                raise Forbidden(
                    "Verify your email address before accepting this invitation.", code="email_not_verified"
                ) from refused
            if refused.failed("entitlement"):
                raise entitlements.already_subscribed(refused.old("entitlement")) from refused
            raise
        return entitlements.view(entitlement, now)

    return retry_on_conflict(attempt)


def _email_mismatch(seat: m.Item | None) -> Forbidden:
    invited = tokens.mask_email(seat.recipient_email) if isinstance(seat, m.Seat) else "another address"
    return Forbidden(
        f"This invitation was sent to another address ({invited}); sign in with that address to accept it.",
        code="email_mismatch",
    )


def _live_link(token: tokens.InviteToken, now: datetime) -> Any:
    """The link is the seat's current one, for its plan and term, in term (the state is the action's)."""
    return (
        (m.Seat.token_hash == token.mac_hash)
        & (m.Seat.plan == token.plan)
        & (m.Seat.term_end_ts == token.term_end_ts)
        & (m.Seat.term_end_ts > clock.epoch(now))
    )


def decline(token_text: str) -> dict[str, Any]:
    """The link holder says no: the seat goes back to available and the buyer is told (by the stream)."""
    token = _parse(token_text)

    def attempt() -> dict[str, Any]:
        now = clock.now()

        def build(steps: Steps) -> None:
            move = Move(token.seat_id, _recipient_removed(), _live_link(token, now))
            transition(steps, Action.DECLINE, token.purchase_id, [move], actor=audit.RECIPIENT)
            steps.put(
                "audit",
                audit.event(token.purchase_id, now, "seat.declined", audit.RECIPIENT, [token.seat_id]),
            )

        try:
            get_store().write(build)
        except Refused as refused:
            if refused.failed("seat"):
                raise (
                    _link_refusal(refused.old("seat"), token, now) or Conflict(BUSY, code="concurrent_change")
                ) from refused
            raise
        return {"declined": True, "seat_id": token.seat_id}

    return retry_on_conflict(attempt)
