"""Claim: a buyer takes one seat of their own purchase for themselves (SPEC rule 4).

Allowed for a non-subscriber who bought more than one plan across all their purchases;
one claimed seat per account at a time. Two round trips: one BatchGetItem (purchase,
entitlement, profile) to pick the lowest available seat and give clear answers, then one
transaction whose conditions enforce every rule again (the purchase still paid, open and
holding that seat; the profile's `plans_bought > 1`; no active entitlement), so racing
claims cannot both win.
"""

from __future__ import annotations

from datetime import datetime

from giftplans import audit, clock, entitlements, tokens
from giftplans.errors import Conflict, Forbidden
from giftplans.identity import Caller
from giftplans.purchases.handout import Picked, available_count, open_for, pick_seats, still_open
from giftplans.seats import Action, target
from giftplans.store import get_store
from giftplans.store import keys as k
from giftplans.store import models as m
from giftplans.store.transitions import Move, PurchaseSide, transition
from giftplans.store.writes import Refused, Steps, retry_on_conflict
from giftplans.views import SeatView

NOT_ALLOWED = (
    "A seat can be claimed for yourself only by someone who bought more than one plan in total; "
    "invite someone to this seat instead."
)


def claim(purchase_id: str, caller: Caller) -> SeatView:
    account = k.account_pk(caller.sub)
    purchase_key = (k.purchase_pk(purchase_id), k.PURCHASE_SK)

    def attempt() -> SeatView:  # a racing invite or claim took the seat we picked: read again, once
        now = clock.now()
        found = get_store().many(purchase_key, (account, k.ENTITLEMENT_SK), (account, k.PROFILE_SK))
        purchase = open_for(found.get(purchase_key), caller.sub, now)
        existing = found.get((account, k.ENTITLEMENT_SK))
        if entitlements.is_active(existing, now):
            raise entitlements.already_subscribed(existing)
        profile = found.get((account, k.PROFILE_SK))
        if not isinstance(profile, m.Profile) or int(profile.plans_bought or 0) <= 1:
            raise Forbidden(NOT_ALLOWED, code="claim_not_allowed")
        if available_count(purchase) == 0:
            raise Conflict(
                "Every seat of this purchase is taken; revoke an invitation to free one.",
                code="no_seats_available",
                details={"available": 0},
            )
        picked = pick_seats(purchase, 1)
        try:
            return _write_claim(purchase, picked, caller, now)
        except Refused as refused:
            if refused.failed("purchase"):
                open_for(refused.old("purchase"), caller.sub, now)  # raises unless the seat was taken
            if refused.failed("profile"):
                raise Forbidden(NOT_ALLOWED, code="claim_not_allowed") from refused
            if refused.failed("entitlement"):
                raise entitlements.already_subscribed(refused.old("entitlement")) from refused
            raise

    return retry_on_conflict(attempt)


def _write_claim(purchase: m.Purchase, picked: Picked, caller: Caller, now: datetime) -> SeatView:
    number = picked.numbers[0]
    pid, seat_id, accepted_at = purchase.purchase_id, k.seat_id_of(number), clock.iso(now)
    email = purchase.buyer_email
    key = tokens.email_key(email)
    entitlement = entitlements.granted(
        caller.sub,
        plan=purchase.plan,
        source=entitlements.Source.CLAIM,
        term_end=purchase.term_end,
        term_end_ts=int(purchase.term_end_ts),
        purchase_id=pid,
        seat_id=seat_id,
        now=now,
    )
    move = Move(
        seat_id,
        [
            m.Seat.recipient_email.set(email),
            m.Seat.recipient_lc.set(tokens.normalise_email(email)),
            m.Seat.recipient_sub.set(caller.sub),
            m.Seat.accepted_at.set(accepted_at),
            m.Seat.GSI3PK.set(k.email_gsi(key)),
            m.Seat.GSI3SK.set(k.seat_email_sk(pid, seat_id)),
        ],
        holder=key,
        holder_checked=False,  # the buyer's own address: invites refuse it (rule 11), one claim at a time
        free_marker=number in picked.from_markers,
    )
    still_holding = PurchaseSide(picked.changes, still_open(caller.sub, now) & picked.condition)

    def build(steps: Steps) -> None:
        steps.check(
            "profile", m.Profile, k.account_pk(caller.sub), k.PROFILE_SK, condition=m.Profile.plans_bought > 1
        )
        entitlements.grant(steps, entitlement, now)
        transition(steps, Action.CLAIM, pid, [move], actor=audit.BUYER, purchase=still_holding, at=now)

    get_store().write(build)
    return SeatView(seat_id, target(Action.CLAIM).value, recipient_email=email, accepted_at=accepted_at)
