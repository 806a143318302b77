"""The link holder's side: preview (one GetItem), accept (rules 3 and 6), decline.

A link names its seat and carries the plan and term end in clear, then a MAC; it is the
seat's current link while the seat is invited and holds that MAC's hash. The MAC is
checked first, in constant time, against every link ever issued for the seat
(`Seat.link_hashes`): a link whose secret does not match, for any seat in any state
(and for seats that do not exist), answers one uniform 404 `invitation_not_found`, so
nothing (the quantity, a seat's state, its sender) leaks to a guesser (SPEC 8.4).
Only a link we issued hears more: no longer the seat's current link (revoked,
declined, replaced by a resend, seat since claimed) -> 410 `invitation_revoked`; term
ended -> 410 `invitation_expired`; already accepted -> 409 on accept and decline, and
the preview shows `state: accepted`.
"""

from __future__ import annotations

import hmac
from datetime import datetime

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action as Update

from giftplans import audit, clock, credits, entitlements, terms, tokens
from giftplans.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Gone,
    NotFound,
    PaymentProviderError,
    UpstreamUnavailable,
)
from giftplans.identity import Caller
from giftplans.invitations import recipient, schedule, sharing
from giftplans.invitations.giveback import give_back
from giftplans.observability import Metric, count
from giftplans.purchases.handout import not_closing
from giftplans.seats import Action, SeatState, can
from giftplans.store import get_store
from giftplans.store import keys as k
from giftplans.store import models as m
from giftplans.store.transitions import Move, PurchaseSide, hold, transition
from giftplans.store.writes import BUSY, Refused, Steps, retry_on_conflict
from giftplans.views import Accepted, Declined, Preview

S = SeatState
LAST_TERM_END_TS = 253402300799  # 9999-12-31T23:59:59Z, the last instant a datetime can hold
ACCEPT_BEFORE_END_S = 86400  # an invitation is accepted while at least a day of its term remains
LINK_NOT_FOUND = "This invitation link is not valid. Check that the whole link was copied."
CANCELLED_TEXT = "This invitation was cancelled."
LINK_REVOKED = (
    "This invitation link no longer works: it was taken back, declined, or replaced by a newer email."
)


def _parse(text: str) -> tokens.InviteToken:
    token = tokens.parse_invite_token(text) if isinstance(text, str) else None
    if token is None or token.term_end_ts > LAST_TERM_END_TS:  # beyond year 9999: no date, no seat
        raise NotFound(LINK_NOT_FOUND, code="invitation_not_found")
    return token


def _is_current(seat: m.Seat, token: tokens.InviteToken) -> bool:
    return bool(seat.token_hash) and hmac.compare_digest(str(seat.token_hash), token.mac_hash)


def _names_seat(seat: m.Item | None, token: tokens.InviteToken) -> bool:
    return isinstance(seat, m.Seat) and seat.plan == token.plan and int(seat.term_end_ts) == token.term_end_ts


def _was_issued(seat: m.Seat, token: tokens.InviteToken) -> bool:
    """The link's MAC is one we issued for this seat (current or past): every hash compared, constant-time."""
    issued = {str(seat.token_hash)} if seat.token_hash else set()
    issued |= set(seat.link_hashes or ())
    wanted = token.mac_hash
    matched = False
    for known in sorted(issued):
        matched |= hmac.compare_digest(known, wanted)
    return matched


def _link_refusal(
    seat: m.Item | None, token: tokens.InviteToken, now: datetime, margin: int = 0
) -> DomainError | None:
    """Why a link cannot be used, from the seat as it stands; None while it is a live invitation.

    A secret that does not match is the same 404 whatever the seat (or its absence) is. `margin`:
    the seconds of term that must remain (accept: a day, so a gift is not a few hours of a plan).
    """
    if not isinstance(seat, m.Seat) or not _was_issued(seat, token) or not _names_seat(seat, token):
        return NotFound(LINK_NOT_FOUND, code="invitation_not_found")
    if terms.has_ended(seat.term_end_ts, now) or seat.state == S.EXPIRED:
        return Gone(f"This invitation's plan ended on {seat.term_end}.", code="invitation_expired")
    if _is_current(seat, token) and can(Action.ACCEPT, seat.state):
        if int(seat.term_end_ts) - clock.epoch(now) < margin:
            return Gone(
                "This invitation's plan ends within a day: too soon to accept it now.",
                code="invitation_too_late",
            )
        return None
    if seat.state in (S.ACCEPTED, S.UPGRADED):
        return Conflict("This invitation has already been accepted.", code="invitation_already_accepted")
    if seat.state == S.CANCELLED:
        return Gone(CANCELLED_TEXT, code="invitation_cancelled")
    return Gone(LINK_REVOKED, code="invitation_revoked")


def _live_link(token: tokens.InviteToken, now: datetime, margin: int = 0) -> Condition:
    """The link is the seat's current one, for its plan and term, in term (`margin` seconds before
    its end at least; the state is the action's)."""
    condition: Condition = (
        (m.Seat.token_hash == token.mac_hash)
        & (m.Seat.plan == token.plan)
        & (m.Seat.term_end_ts == token.term_end_ts)
        & (m.Seat.term_end_ts > clock.epoch(now) + margin)
    )
    return condition


def _sender(seat: m.Seat) -> str:
    """Who the gift is from, to a holder of a valid link: the chosen name, Stripe's, else the address."""
    return seat.from_name or seat.buyer_name or seat.buyer_email


def preview(token_text: str) -> Preview:
    """`GET /invitations/{token}`: plan, sender, term end and state, and nothing else. One GetItem."""
    token = _parse(token_text)
    now = clock.now()
    seat = get_store().seat(token.purchase_id, token.seat_id, consistent=False)
    refusal = _link_refusal(seat, token, now)
    if refusal is not None and not isinstance(refusal, Conflict):
        raise refusal
    assert isinstance(seat, m.Seat)
    state = S.INVITED.value if refusal is None else S.ACCEPTED.value
    return Preview(
        plan=seat.plan,
        sender=_sender(seat),
        term_end=seat.term_end,
        state=state,
        from_name=seat.from_name,
        from_email=seat.buyer_email,
        message=seat.message,
    )


class _HoldsAPlan(Exception):
    """The account already holds an active plan: the gift becomes a credit (SPEC 8.5)."""

    def __init__(self, entitlement: m.Item | None) -> None:
        super().__init__("the account holds an active plan")
        self.entitlement = entitlement


class _NoPlanAnyMore(Exception):
    """The account's plan ended between the two tries: accept the gift as its plan after all."""


def accept(token_text: str, caller: Caller) -> Accepted:
    """SPEC rules 3 and 6: the invited, verified address takes the seat and the rest of its term.

    An account that already holds an active plan accepts the gift as a credit instead (SPEC 8.5,
    `giftplans.credits`): the seat is accepted with `credited`, the entitlement keeps its source.
    """
    token = _parse(token_text)
    if not caller.email:
        raise Forbidden(
            "Your sign-in carries no email address; sign in with the invited address.",
            code="email_not_verified",
        )
    email = caller.email
    term_end = clock.iso(clock.from_epoch(token.term_end_ts))
    # Nothing is read first (issue 15: accept is one transaction). Who gave it reaches My plan from
    # the stream (`givers`); a shared link (SPEC 8.2) shows itself when its seat refuses the address
    # (that seat read, its accept writes the sender at once).
    shared: sharing.SharedAccept | None = None

    def write(now: datetime, credit: credits.Credit | None, entitlement: m.Entitlement) -> None:
        nonlocal shared
        if shared is not None:
            entitlement.gift_from = shared.sender  # the seat is read: name the sender as My plan does

        def build(steps: Steps) -> None:
            if not caller.email_verified:
                steps.check(
                    "profile",
                    m.Profile,
                    k.account_pk(caller.sub),
                    k.PROFILE_SK,
                    condition=m.Profile.verified_email == tokens.normalise_email(email),
                )
            if credit is None:
                entitlements.grant(steps, entitlement, now)
            else:
                credits.holds_a_plan(steps, caller.sub, now)
            detail: dict[str, object] = {"recipient": tokens.mask_email(email)}
            if credit is not None:
                detail["credited"] = credit.amount
            changes: list[Update] = [
                m.Seat.recipient_sub.set(caller.sub),
                m.Seat.accepted_at.set(clock.iso(now)),
                m.Seat.nonce.remove(),
                m.Seat.token_hash.remove(),
                *schedule.removed(),  # accepted: no reminder is due
            ]
            if credit is not None:
                changes += credits.accepted_changes(credit.amount)
            in_term = _live_link(token, now, ACCEPT_BEFORE_END_S)
            live = in_term & m.Seat.GSI3PK.is_in(*map(k.email_gsi, tokens.email_keys(email)))
            if shared is not None:  # a shared link: the accepting address becomes the recipient
                changes, live = [*changes, *shared.changes], in_term & shared.condition
                hold(steps, token.purchase_id, token.seat_id, shared.holder, shared.holder_seen)
            move = Move(token.seat_id, changes, live)
            transition(
                steps,
                Action.ACCEPT,
                token.purchase_id,
                [move],
                actor=audit.RECIPIENT,
                # a full refund being closed (rule 14): its seats are as good as cancelled
                purchase=PurchaseSide(condition=m.Purchase.PK.exists() & not_closing()),
                detail=detail,
                at=now,
                field="recipient",
                mentions=[(token.seat_id, email)],
            )

        try:
            get_store().write(build)
        except Refused as refused:
            if refused.failed("seat"):
                old = refused.old("seat")
                if _credit_pending_for(old, caller):
                    raise _Resume(old) from refused
                if shared is None and sharing.is_shared(old):  # a shared link: accept it as one
                    shared = _shared_terms(old, token, caller, email)
                    return write(now, credit, entitlement)
                refusal = _link_refusal(old, token, now, ACCEPT_BEFORE_END_S)
                if refusal is None:  # a live link for another address
                    raise _email_mismatch(old) from refused
                raise refusal from refused
            if refused.failed("purchase"):
                raise Gone(CANCELLED_TEXT, code="invitation_cancelled") from refused
            if refused.failed("profile"):
                raise Forbidden(
                    "Verify your email address before accepting this invitation.", code="email_not_verified"
                ) from refused
            if refused.failed(f"holder {token.seat_id}"):  # the address took a seat of it meanwhile
                raise Conflict(sharing.HELD, code="already_invited") from refused
            if refused.failed("entitlement"):
                if credit is None:
                    raise _HoldsAPlan(refused.old("entitlement")) from refused
                raise _NoPlanAnyMore from refused
            raise

    def attempt() -> Accepted:
        nonlocal shared
        shared = None  # a retry reads the seat (and its Holder) again: nothing carried from the race it lost
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
        try:
            for _ in range(2):  # a plan that ends between the two tries: the gift is the plan after all
                try:
                    write(now, None, entitlement)
                    count(Metric.INVITATIONS_ACCEPTED)
                    return Accepted(entitlements.answer(entitlement, now), 0)
                except _HoldsAPlan as held:
                    seat = get_store().seat(token.purchase_id, token.seat_id)
                    if isinstance(seat, m.Seat) and _credit_pending_for(seat, caller):
                        raise _Resume(seat) from held
                    refusal = _link_refusal(seat, token, now, ACCEPT_BEFORE_END_S)
                    if refusal is not None:
                        raise refusal from held
                    assert isinstance(seat, m.Seat)
                    credit = credits.credit_at(int(seat.seat_value), seat.term_start, seat.term_end, now)
                    try:
                        write(now, credit, entitlement)
                    except _NoPlanAnyMore:
                        continue
                    count(Metric.INVITATIONS_ACCEPTED)
                    seat.recipient_sub, seat.credited = caller.sub, credit.amount
                    seat.credit_status = credits.PENDING if credit.amount > 0 else credits.DONE
                    return _credited(seat, held.entitlement, email, resumed=False)
            raise Conflict(BUSY, code="concurrent_change")
        except _Resume as resume:
            return _credited(resume.seat, get_store().entitlement(caller.sub), email, resumed=True)

    return retry_on_conflict(attempt)


def _shared_terms(
    seat: m.Seat | None, token: tokens.InviteToken, caller: Caller, email: str
) -> sharing.SharedAccept | None:
    """A live shared link: rule 11 against the accepting address (after the link's own check)."""
    if not sharing.is_shared(seat):
        return None
    assert seat is not None
    refusal = _link_refusal(seat, token, clock.now())
    if refusal is not None:
        raise refusal
    return sharing.accept_terms(seat, caller, email)


class _Resume(Exception):
    """The caller's own earlier accept-as-credit whose Stripe step did not finish: finish it."""

    def __init__(self, seat: m.Seat) -> None:
        super().__init__("credit pending")
        self.seat = seat


def _credit_pending_for(seat: m.Item | None, caller: Caller) -> bool:
    return (
        isinstance(seat, m.Seat)
        and seat.state == S.ACCEPTED
        and seat.recipient_sub == caller.sub
        and seat.credit_status == credits.PENDING
    )


CREDIT_UNFINISHED = (
    "Your gift was accepted, but adding its value to your account as a credit did not finish; "
    "open the invitation link again in a moment to finish it."
)


def _credited(seat: m.Seat, entitlement: m.Item | None, email: str, *, resumed: bool) -> Accepted:
    try:
        settled = credits.settle(seat, email=email, resumed=resumed)
    except (UpstreamUnavailable, PaymentProviderError) as error:
        raise UpstreamUnavailable(CREDIT_UNFINISHED, code="credit_unfinished") from error
    return Accepted(entitlements.answer(entitlement, clock.now()), int(settled.credited or 0))


def _email_mismatch(seat: m.Item | None) -> Forbidden:
    invited = tokens.mask_email(seat.recipient_email) if isinstance(seat, m.Seat) else "another address"
    return Forbidden(
        f"This invitation was sent to another address ({invited}); sign in with that address to accept it.",
        code="email_mismatch",
    )


def decline(token_text: str) -> Declined:
    """The link holder says no: the seat goes back to available and the buyer is told (by the stream)."""
    token = _parse(token_text)

    def attempt() -> Declined:
        now = clock.now()

        try:
            pid, changes, live = token.purchase_id, recipient.removed(), _live_link(token, now)
            give_back(Action.DECLINE, pid, token.seat_id, changes, live, actor=audit.RECIPIENT, at=now)
        except Refused as refused:
            if refused.failed("seat"):
                raise (
                    _link_refusal(refused.old("seat"), token, now) or Conflict(BUSY, code="concurrent_change")
                ) from refused
            raise
        return Declined(token.seat_id)

    return retry_on_conflict(attempt)
