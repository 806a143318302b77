"""The seat state machine, as data (SPEC section 3).

available --invite--> invited --accept--> accepted --upgrade--> upgraded
    ^  |                 |  \\--revoke/decline--> available
    |  +--claim--> claimed --upgrade--> upgraded
any unexpired state --term_end passed (sweep)--> expired
any state but upgraded/expired --full refund--> cancelled

The writers do not spell these rules: `giftplans.store.transitions.transition` takes each
action's allowed-from states and target from `TRANSITIONS` (the condition and the SET of
the one write that performs it), and the purchase's counts, free seats and holders follow
from the states moved between (`HOLDING`). Writes that keep the state (a resend, a
reminder, a bounce) are `Touch`es, allowed in the states `TOUCHES` names.
"""

from __future__ import annotations

from enum import StrEnum


class SeatState(StrEnum):
    AVAILABLE = "available"
    INVITED = "invited"
    ACCEPTED = "accepted"
    CLAIMED = "claimed"
    UPGRADED = "upgraded"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class Action(StrEnum):
    INVITE = "invite"
    ACCEPT = "accept"
    DECLINE = "decline"
    REVOKE = "revoke"
    CLAIM = "claim"
    UPGRADE = "upgrade"
    EXPIRE = "expire"
    CANCEL = "cancel"
    REFUND = "refund"


S = SeatState
TERMINAL = frozenset({S.UPGRADED, S.EXPIRED, S.CANCELLED})
HOLDING = frozenset({S.INVITED, S.ACCEPTED, S.CLAIMED})  # a person's address is on the seat
IN_USE = frozenset({S.ACCEPTED, S.CLAIMED})  # somebody's entitlement comes from the seat

# action -> (states it may start from, state it ends in)
TRANSITIONS: dict[Action, tuple[frozenset[SeatState], SeatState]] = {
    Action.INVITE: (frozenset({S.AVAILABLE}), S.INVITED),
    Action.ACCEPT: (frozenset({S.INVITED}), S.ACCEPTED),
    Action.DECLINE: (frozenset({S.INVITED}), S.AVAILABLE),
    Action.REVOKE: (frozenset({S.INVITED}), S.AVAILABLE),
    Action.CLAIM: (frozenset({S.AVAILABLE}), S.CLAIMED),
    Action.UPGRADE: (frozenset({S.ACCEPTED, S.CLAIMED}), S.UPGRADED),
    Action.EXPIRE: (frozenset({S.AVAILABLE, S.INVITED, S.ACCEPTED, S.CLAIMED}), S.EXPIRED),
    Action.CANCEL: (frozenset({S.AVAILABLE, S.INVITED}), S.CANCELLED),  # support: a seat never accepted
    Action.REFUND: (frozenset({S.AVAILABLE, S.INVITED, S.ACCEPTED, S.CLAIMED}), S.CANCELLED),
}


def allowed_from(action: Action) -> frozenset[SeatState]:
    return TRANSITIONS[action][0]


def target(action: Action) -> SeatState:
    return TRANSITIONS[action][1]


def can(action: Action, state: SeatState | str) -> bool:
    return SeatState(state) in allowed_from(action)


class Touch(StrEnum):
    """Writes to a seat that keep its state: not transitions. The value is the seat's `last_action`."""

    RESEND = "resend"
    REMIND_30 = "remind_30"
    REMIND_7 = "remind_7"
    UPGRADE_OFFER = "upgrade_offer"
    BOUNCE = "bounce"
    SENT = "sent"  # bookkeeping (delivery=sent): no new version, no last_action
    CREDIT = "credit"  # SPEC 8.5: an accepted seat's value reached the holder's Stripe balance
    SEAT_REFUND = "seat_refund"  # SPEC 8.7: a cancelled, never-used seat's value refunded by Stripe
    ERASE = "erase"  # privacy: an address erased from the seat (docs/privacy.md); announces nothing
    DELIVER = "deliver"  # SPEC 8.1: a scheduled invitation's send_at came; the outbox mails it now
    NUDGE = "nudge"  # issue 16: the one reminder to a recipient who has not accepted 7 days after the mail


CREATE = "create"  # the `last_action` of a seat as fulfilment made it
INITIAL = S.AVAILABLE  # the state fulfilment creates every seat in

# touch -> the states it applies in
TOUCHES: dict[Touch, frozenset[SeatState]] = {
    Touch.RESEND: frozenset({S.INVITED}),
    Touch.REMIND_30: IN_USE,
    Touch.REMIND_7: IN_USE,
    Touch.UPGRADE_OFFER: IN_USE,
    Touch.BOUNCE: frozenset({S.INVITED}),
    Touch.SENT: frozenset({S.INVITED}),
    Touch.CREDIT: frozenset({S.ACCEPTED}),
    Touch.SEAT_REFUND: frozenset({S.CANCELLED}),
    Touch.ERASE: frozenset(SeatState),  # an address goes in whatever state the seat is
    Touch.DELIVER: frozenset({S.INVITED}),
    Touch.NUDGE: frozenset({S.INVITED}),
}


def effective_state(state: SeatState | str, term_ended: bool) -> SeatState:
    """What a reader must see: past term_end every unexpired, unterminated seat is expired (rule 9)."""
    current = SeatState(state)
    if term_ended and current not in TERMINAL:
        return S.EXPIRED
    return current
