"""Share it yourself (SPEC 8.2): the buyer takes an accept link for a seat and passes it on.

- `share`: an `available` seat becomes `invited` with no address (`shared`, `shared_at`), and the
  buyer gets the link once: the answer is the only place it exists. The seat keeps the MAC's hash
  and nothing else (no nonce: no mailer rebuilds a shared link), and the hash is not added to
  `link_hashes`, so a shared link that was replaced, revoked or used is the uniform 404
  `invitation_not_found`, like a link that never existed. Nothing is mailed. A share counts as an
  invitation sent (rule 13).
- `resend` of a shared seat (and a share of a seat already shared) is a reshare: a fresh link,
  the old one dead at once, at most `resend_limit` times per seat, counted like a resend but
  without the 10-minute wait (nothing is mailed, so there is no inbox to protect). Support's
  email resend of a shared seat is 409 `seat_shared` (`giveback.not_mailable`).
- accept (`link.accept` with `accept_terms`): any signed-in account with a verified address; rule
  11 is checked then, against the accepting address: the buyer's own is 409 `use_claim_instead`,
  an address that holds another seat of the purchase 409 `already_invited` (its `Holder` item is
  written in the accept's transaction, on condition it stands as read). The address becomes the
  seat's recipient.
- revoke and decline work as for any invitation and tell nobody (there is no address to tell);
  the seat goes back where it was taken from (`giveback`).
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action as Update

from giftplans import audit, clock, entitlements, givers, tokens, verification
from giftplans.errors import Conflict, Forbidden, NotFound
from giftplans.identity import Caller
from giftplans.invitations.addresses import holding
from giftplans.invitations.buyer import SEAT_NOT_FOUND, _check_seat_id, _owned_in_term
from giftplans.invitations.buyer import resend as email_resend
from giftplans.invitations.limits import (
    count_sends,
    counter_key,
    daily_limit,
    daily_limit_reached,
    limit_of,
    sent_today,
)
from giftplans.observability import Metric, count
from giftplans.purchases.handout import check_not_closing, open_for, refuse_if_closing, still_open
from giftplans.seats import TOUCHES, Action, Touch, can, target
from giftplans.settings import get as settings
from giftplans.store import get_store
from giftplans.store import keys as k
from giftplans.store import models as m
from giftplans.store.transitions import Move, PurchaseSide, seat_key, touch, transition
from giftplans.store.writes import Refused, Steps, retry_on_conflict
from giftplans.views import Resent, SeatView, Shared

SHARED_EVENT, RESHARED_EVENT = "seat.shared", "seat.reshared"
NOT_SHAREABLE = "Seat {seat_id} is {state}; only an available seat can be shared."
OWN_LINK = "This is your own purchase's link; claim a seat for yourself instead."
HELD = "Your address already holds a seat of this purchase, so this link cannot give you another."


def _link(seat: m.Seat) -> tokens.InviteToken:
    """A fresh link for the seat. Its nonce is not kept: only the MAC's hash is."""
    return tokens.invite_token(
        seat.purchase_id, seat.seat_id, seat.plan, int(seat.term_end_ts), tokens.link_nonce()
    )


def _answer(view: SeatView, token: tokens.InviteToken) -> Shared:
    return Shared(view, settings().accept_url(str(token)))


def share(purchase_id: str, seat_id: str, caller: Caller) -> Shared:
    """`POST /purchases/{id}/seats/{seat_id}/link`: 201 `{seat, url}` (a shared seat: a fresh link)."""
    _check_seat_id(seat_id)
    pk, account = k.purchase_pk(purchase_id), k.account_pk(caller.sub)
    purchase_key, key = (pk, k.PURCHASE_SK), (pk, k.seat_sk(seat_id))

    def attempt() -> Shared:
        now = clock.now()
        counter = counter_key(caller.sub, now)
        found = get_store().many(
            purchase_key, key, (account, k.ENTITLEMENT_SK), (account, k.PROFILE_SK), counter
        )
        purchase = open_for(found.get(purchase_key), caller.sub, now)
        seat = found.get(key)
        if not isinstance(seat, m.Seat) or seat.buyer_id != caller.sub:
            raise NotFound(SEAT_NOT_FOUND, code="seat_not_found")
        if seat.shared and seat.state in TOUCHES[Touch.RESEND]:
            return _reshare(seat, caller, now)
        if not can(Action.INVITE, seat.state):
            raise Conflict(
                NOT_SHAREABLE.format(seat_id=seat_id, state=seat.state),
                code="seat_not_available",
                details={"state": seat.state},
            )
        subscriber = entitlements.is_active(found.get((account, k.ENTITLEMENT_SK)), now)
        profile = found.get((account, k.PROFILE_SK))
        if not subscriber and not verification.is_verified(caller, profile):
            raise Forbidden(
                "Verify your email address before sharing a seat (subscribers can share directly).",
                code="email_not_verified",
            )
        limit, sent = daily_limit(profile), sent_today(found.get(counter))
        if sent + 1 > limit:
            raise daily_limit_reached(now, limit, sent)
        token, at = _link(seat), clock.iso(now)
        changes: list[Update] = [
            m.Seat.shared.set(True),
            m.Seat.shared_at.set(at),
            m.Seat.invited_at.set(at),
            m.Seat.token_hash.set(token.mac_hash),
            m.Seat.nonce.remove(),
            m.Seat.resend_count.set(0),
            m.Seat.last_sent_ts.remove(),
            m.Seat.delivery.remove(),
            m.Seat.reminders.remove(),
        ]
        # A seat of the fresh run (never handed out) leaves it as one of its holes; one below it, its marker.
        number, first = int(seat_id), int(purchase.fresh_from or 1)
        in_run = number >= first
        place: Condition = m.Purchase.fresh_from <= number if in_run else m.Purchase.fresh_from > number
        side = PurchaseSide([m.Purchase.holes.add(1)] if in_run else [], still_open(caller.sub, now) & place)
        owned: Condition = m.Seat.buyer_id == caller.sub
        move = Move(seat_id, changes, owned, version=int(seat.version), unheld=True, free_marker=not in_run)

        def build(steps: Steps) -> None:
            detail = {"shared": True}
            transition(
                steps,
                Action.INVITE,
                purchase_id,
                [move],
                actor=audit.BUYER,
                purchase=side,
                detail=detail,
                at=now,
                kind=SHARED_EVENT,
            )
            count_sends(steps, caller.sub, now, 1, limit)

        try:
            get_store().write(build)
        except Refused as refused:
            if refused.failed("purchase"):
                open_for(refused.old("purchase"), caller.sub, now)  # raises when it was not a race
            if refused.failed("counter"):
                raise daily_limit_reached(now, limit, sent_today(refused.old("counter"))) from refused
            raise  # the seat or its marker changed meanwhile: read again (once)
        count(Metric.INVITATIONS_SENT)
        view = SeatView(seat_id, target(Action.INVITE).value, invited_at=at, shared=True, shared_at=at)
        return _answer(view, token)

    return retry_on_conflict(attempt)


def resend(purchase_id: str, seat_id: str, caller: Caller) -> Resent | Shared:
    """The buyer's resend: an emailed invitation is mailed again (`buyer.resend`); a shared one reshared."""
    try:
        return email_resend(purchase_id, seat_id, caller)
    except Conflict as refusal:
        if refusal.code != "seat_shared":
            raise
    return retry_on_conflict(lambda: _reshare_read(purchase_id, seat_id, caller))


def _reshare_read(purchase_id: str, seat_id: str, caller: Caller) -> Shared:
    seat = get_store().seat(purchase_id, seat_id)
    if not isinstance(seat, m.Seat) or seat.buyer_id != caller.sub:
        raise NotFound(SEAT_NOT_FOUND, code="seat_not_found")
    return _reshare(seat, caller, clock.now())


def _reshare(seat: m.Seat, caller: Caller, now: datetime) -> Shared:
    """A fresh link for a shared seat; the old one is dead from this write on."""
    limit = settings().resend_limit
    token, at = _link(seat), clock.iso(now)

    def build(steps: Steps) -> None:
        check_not_closing(steps, seat.purchase_id)  # rule 14: no fresh link while a full refund closes it
        touch(
            steps,
            Touch.RESEND,
            seat_key(seat.purchase_id, seat.seat_id),
            [m.Seat.token_hash.set(token.mac_hash), m.Seat.shared_at.set(at), m.Seat.resend_count.add(1)],
            actor=audit.BUYER,
            at=now,
            condition=_owned_in_term(caller.sub, now)
            & (m.Seat.version == int(seat.version))
            & m.Seat.shared.exists()
            & (m.Seat.resend_count.does_not_exist() | (m.Seat.resend_count < limit)),
            event_kind=RESHARED_EVENT,
        )
        count_sends(steps, caller.sub, now, 1)

    try:
        get_store().write(build)
    except Refused as refused:
        refuse_if_closing(refused)
        if refused.failed("seat") and int(seat.resend_count or 0) >= limit:
            raise Conflict(
                f"A fresh link was already made {limit} times for this seat, the most allowed; "
                "take the seat back and share it again.",
                code="resend_limit_reached",
            ) from refused
        if refused.failed("counter"):
            old = refused.old("counter")
            raise daily_limit_reached(now, limit_of(old), sent_today(old)) from refused
        raise  # the seat changed (accepted, revoked, reshared): the caller reads again
    count(Metric.INVITATIONS_SENT)
    # The seat as written: the write held on the version read (in term), so that seat plus its changes.
    written = SeatView.of(seat, term_ended=False)
    return _answer(written._replace(resend_count=written.resend_count + 1, shared_at=at), token)


# ---- accept -----------------------------------------------------------------------------------------------


class SharedAccept(NamedTuple):
    """What an accept of a shared link adds to the accept's write (`link.accept`)."""

    changes: list[Update]  # the accepting address becomes the seat's recipient
    condition: Condition  # still shared, still nobody's
    holder: str  # the address's email key: its Holder item names this seat from now on
    holder_seen: int | None  # that Holder item's version as read (None: there was none)
    sender: str  # who gave it (`gift_from`): the seat is read already, so the entitlement carries it at once


def accept_terms(seat: m.Seat, caller: Caller, email: str) -> SharedAccept:
    """Rule 11 at accept, against the accepting address (409s), and what the accept then writes."""
    keys = tokens.email_keys(email)  # the current kid's first; a Holder may be under any kid
    key = keys[0]
    if caller.sub == seat.buyer_id or key == tokens.email_key(seat.buyer_email):
        raise Conflict(OWN_LINK, code="use_claim_instead")
    pk = k.purchase_pk(seat.purchase_id)
    found = get_store().many(*[(pk, k.holder_sk(each)) for each in keys])
    seen = None
    for each in keys:
        holder = found.get((pk, k.holder_sk(each)))
        if not isinstance(holder, m.Holder):
            continue
        if holder.seat_id != seat.seat_id and holding(
            get_store().seat(seat.purchase_id, holder.seat_id), each
        ):
            raise Conflict(HELD, code="already_invited")
        if each == key:
            seen = int(holder.version or 0)
    changes: list[Update] = [
        m.Seat.recipient_email.set(email),
        m.Seat.recipient_lc.set(tokens.normalise_email(email)),
        m.Seat.GSI3PK.set(k.email_gsi(key)),
        m.Seat.GSI3SK.set(k.seat_email_sk(seat.purchase_id, seat.seat_id)),
    ]
    if caller.locale:
        changes.append(m.Seat.recipient_locale.set(caller.locale))
    condition: Condition = m.Seat.shared.exists() & m.Seat.GSI3PK.does_not_exist()
    return SharedAccept(changes, condition, key, seen, givers.sender(seat))


def is_shared(seat: m.Item | None) -> bool:
    """A seat invited by a shared link that nobody has accepted yet."""
    return isinstance(seat, m.Seat) and bool(seat.shared) and can(Action.ACCEPT, seat.state)
