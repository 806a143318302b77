"""What a reader sees: the SPEC JSON of each shape the API answers with, built here and nowhere else.

The domain returns these typed results, immutable NamedTuples (a frozen dataclass costs
ten times as much to define, and every API function imports most of these at cold
start); a handler answers with `result.as_json()` (its `giftplans.contract` schema, in
`giftplans.schemas` or beside the route, documents the shape in OpenAPI and is checked in
tests). A stored item becomes a view through one constructor per shape (`SeatView.of`, `PurchaseView.of`,
...), which applies the reading rules: past `term_end` a live seat
reads `expired` and counts as expired whatever the sweep did (rule 9), and a complaint
reads like a bounce (rule 12).
"""

from datetime import datetime
from typing import Any, NamedTuple

from giftplans import clock, terms
from giftplans.seats import TRANSITIONS, Action, SeatState, effective_state
from giftplans.store import models as m
from giftplans.views_checkout import UpgradeCheckout

Json = dict[str, Any]
PAID = "paid"
READ_AS_EXPIRED = TRANSITIONS[Action.EXPIRE][0]  # what the term's end folds into `expired`


def term_ended(term_end: str, now: datetime) -> bool:
    return not terms.is_active(clock.parse_iso(term_end), now)


# ---- seats ----------------------------------------------------------------------------------------------


class SeatView(NamedTuple):
    """The SPEC seat: what the buyer's Billing page shows of one seat."""

    seat_id: str
    state: str
    recipient_email: str | None = None
    invited_at: str | None = None
    accepted_at: str | None = None
    delivery: str | None = None
    resend_count: int = 0
    from_name: str | None = None
    credited: int | None = None  # SPEC 8.5: accepted as a credit to the holder's Stripe balance
    last_sent_at: str | None = None  # when its current link was last mailed (the resend wait counts from it)
    shared: bool = False  # SPEC 8.2: invited by a link the buyer shares (no address until it is accepted)
    shared_at: str | None = None
    send_at: str | None = None  # SPEC 8.1: when the buyer asked the invitation to be mailed
    sent_at: str | None = None  # SPEC 8.1: when SES accepted it (null until then)

    @classmethod
    def of(cls, seat: m.Seat, term_ended: bool) -> "SeatView":
        """The seat as a reader must see it (rule 9), not only as it is stored."""
        delivery = seat.delivery
        if delivery == "complained":  # rule 12: a complaint is shown like a bounce
            delivery = "bounced"
        return cls(
            seat_id=seat.seat_id,
            state=effective_state(seat.state, term_ended).value,
            recipient_email=seat.recipient_email,
            invited_at=seat.invited_at,
            accepted_at=seat.accepted_at,
            delivery=delivery,
            resend_count=int(seat.resend_count or 0),
            from_name=seat.from_name,
            credited=int(seat.credited) if seat.credited is not None else None,
            last_sent_at=clock.iso(clock.from_epoch(int(seat.last_sent_ts))) if seat.last_sent_ts else None,
            shared=bool(seat.shared),
            shared_at=seat.shared_at,
            send_at=seat.send_at,
            sent_at=seat.sent_at,
        )

    def as_json(self) -> Json:
        return self._asdict()


class SupportSeatView(NamedTuple):
    """The seat as support sees it: the buyer's view and what was stored, by whom."""

    seat: SeatView
    recipient_sub: str | None
    stored_state: str
    upgrade_plan: str | None
    subscription_id: str | None
    upgrade_offer_url: str | None
    last_action: str | None
    actor: str | None
    version: int

    @classmethod
    def of(cls, seat: m.Seat, now: datetime) -> "SupportSeatView":
        return cls(
            seat=SeatView.of(seat, term_ended(seat.term_end, now)),
            recipient_sub=seat.recipient_sub,
            stored_state=seat.state,
            upgrade_plan=seat.upgrade_plan,
            subscription_id=seat.subscription_id,
            upgrade_offer_url=seat.upgrade_offer_url,
            last_action=seat.last_action,
            actor=seat.actor,
            version=int(seat.version or 0),
        )

    def as_json(self) -> Json:
        extra = self._asdict()
        del extra["seat"]
        return {**self.seat.as_json(), **extra}


class Resent(NamedTuple):
    """A resend's answer: the seat still invited, with when its fresh link went out."""

    seat_id: str
    last_sent_at: str
    state: str = SeatState.INVITED.value

    def as_json(self) -> Json:
        return {"seat_id": self.seat_id, "state": self.state, "last_sent_at": self.last_sent_at}


class Shared(NamedTuple):
    """A shared link's answer (SPEC 8.2): the seat and the accept link, shown this once."""

    seat: SeatView
    url: str

    def as_json(self) -> Json:
        return {"seat": self.seat.as_json(), "url": self.url}


# ---- purchases ------------------------------------------------------------------------------------------


def seat_counts(counts: dict[str, int], term_ended: bool) -> dict[str, int]:
    """Counts by state; past term_end every live seat counts as expired (rule 9), whatever the sweep did."""
    out = {state: int(counts.get(state, 0) or 0) for state in m.SEAT_STATES}
    if term_ended:
        for state in READ_AS_EXPIRED:
            out[SeatState.EXPIRED.value] += out[state.value]
            out[state.value] = 0
    return out


class PurchaseView(NamedTuple):
    """The SPEC purchase. Made from a full item or from the buyer index's projection."""

    purchase_id: str
    plan: str
    quantity: int
    status: str
    currency: str
    amount_total: int
    amount_subtotal: int
    term_start: str
    term_end: str
    days_left: int
    active: bool
    seat_counts: dict[str, int]
    frozen: bool
    created_at: str
    # SPEC 8.6 and 8.7 (in the buyer index's projection too: the list reads as the detail)
    amount_tax: int = 0
    amount_refunded: int = 0
    invoice_url: str | None = None

    @classmethod
    def of(cls, purchase: m.Purchase, now: datetime) -> "PurchaseView":
        ended = term_ended(purchase.term_end, now)
        counts = purchase.seat_counts.as_dict() if purchase.seat_counts is not None else {}
        return cls(
            purchase_id=purchase.purchase_id,
            plan=purchase.plan,
            quantity=int(purchase.quantity),
            status=purchase.status,
            currency=purchase.currency,
            amount_total=int(purchase.amount_total),
            amount_subtotal=int(purchase.amount_subtotal),
            term_start=purchase.term_start,
            term_end=purchase.term_end,
            days_left=terms.days_left(clock.parse_iso(purchase.term_end), now),
            active=purchase.status == PAID and not ended,
            seat_counts=seat_counts(counts, ended),
            frozen=bool(purchase.frozen),
            created_at=purchase.created_at,
            amount_tax=int(purchase.amount_tax or 0),
            amount_refunded=int(purchase.amount_refunded or 0),
            invoice_url=purchase.invoice_url,
        )

    def as_json(self) -> Json:
        return self._asdict()


class SupportPurchaseView(NamedTuple):
    """The purchase as support sees it: the buyer's view plus who paid, how, and what was refunded."""

    purchase: PurchaseView
    buyer_id: str
    buyer_email: str
    payment_intent: str | None
    amount_refunded: int

    @classmethod
    def of(cls, purchase: m.Purchase, now: datetime) -> "SupportPurchaseView":
        return cls(
            purchase=PurchaseView.of(purchase, now),
            buyer_id=purchase.buyer_id,
            buyer_email=purchase.buyer_email,
            payment_intent=purchase.payment_intent,
            amount_refunded=int(purchase.amount_refunded or 0),
        )

    def as_json(self) -> Json:
        return {
            **self.purchase.as_json(),
            "buyer_id": self.buyer_id,
            "buyer_email": self.buyer_email,
            "payment_intent": self.payment_intent,
            "amount_refunded": self.amount_refunded,
        }


class AuditEventView(NamedTuple):
    at: str
    kind: str
    actor: str
    seat_ids: list[str]
    detail: dict[str, Any]

    @classmethod
    def of(cls, event: m.AuditEvent) -> "AuditEventView":
        return cls(
            at=event.at,
            kind=event.kind,
            actor=event.actor,
            seat_ids=list(event.seat_ids or []),
            detail=event.detail.as_dict() if event.detail is not None else {},
        )

    def as_json(self) -> Json:
        return self._asdict()


class HistoryEntry(NamedTuple):
    """One line of a seat's history: what happened (`invited`, `resent`, `bounced`, ...), when, by whom."""

    event: str
    at: str
    actor: str
    recipient: str | None = None  # masked, as the audit trail keeps it

    @classmethod
    def of(cls, event: m.AuditEvent, seat_id: str) -> "HistoryEntry":
        detail = event.detail.as_dict() if event.detail is not None else {}
        recipient = detail.get("recipient")
        recipients = detail.get("recipients")
        seat_ids = list(event.seat_ids or [])
        if recipient is None and isinstance(recipients, list) and seat_id in seat_ids:
            index = seat_ids.index(seat_id)
            recipient = recipients[index] if index < len(recipients) else None
        return cls(
            event=event.kind.split(".", 1)[-1],
            at=event.at,
            actor=event.actor.split(":", 1)[0],  # `support:<arn>` -> `support`: no principal for the buyer
            recipient=str(recipient) if recipient is not None else None,
        )

    def as_json(self) -> Json:
        return {"event": self.event, "at": self.at, "actor": self.actor, "recipient": self.recipient}


class SeatHistory(NamedTuple):
    """`GET /purchases/{id}/seats/{seat_id}`: the seat and its history, oldest first."""

    seat: SeatView
    history: list[HistoryEntry]

    def as_json(self) -> Json:
        return {"seat": self.seat.as_json(), "history": [h.as_json() for h in self.history]}


class PurchasePage(NamedTuple):
    """`GET /purchases`: one page of the buyer's purchases, newest first."""

    purchases: list[PurchaseView]
    next_cursor: str | None

    def as_json(self) -> Json:
        return {"purchases": [p.as_json() for p in self.purchases], "next_cursor": self.next_cursor}


class PurchaseDetail(NamedTuple):
    """`GET /purchases/{id}`: the purchase, every seat, and the audit trail when asked for."""

    purchase: PurchaseView
    seats: list[SeatView]
    events: list[AuditEventView] | None = None
    next_cursor: str | None = None  # the next page of seats, None on the last

    def as_json(self) -> Json:
        body: Json = {
            "purchase": self.purchase.as_json(),
            "seats": [s.as_json() for s in self.seats],
            "next_cursor": self.next_cursor,
        }
        if self.events is not None:
            body["events"] = [e.as_json() for e in self.events]
        return body


class SupportDetail(NamedTuple):
    purchase: SupportPurchaseView
    seats: list[SupportSeatView]

    def as_json(self) -> Json:
        return {"purchase": self.purchase.as_json(), "seats": [s.as_json() for s in self.seats]}


class SupportMatches(NamedTuple):
    """Support's search by address: purchases bought with it, seats held by it (each with its purchase id)."""

    purchases: list[SupportPurchaseView]
    seats: list[tuple[str, SupportSeatView]]

    def as_json(self) -> Json:
        return {
            "purchases": [p.as_json() for p in self.purchases],
            "seats": [{"purchase_id": pid, **s.as_json()} for pid, s in self.seats],
        }


class AuditTrail(NamedTuple):
    events: list[AuditEventView]

    def as_json(self) -> Json:
        return {"events": [e.as_json() for e in self.events]}


# ---- entitlements and invitation links ----------------------------------------------------------------


class EntitlementView(NamedTuple):
    """The SPEC entitlement: which plan an account has now, until when, whether it renews."""

    active: bool = False
    plan: str | None = None
    source: str | None = None
    term_end: str | None = None
    auto_renew: bool = False
    grace_until: str | None = None  # SPEC 8.8: a renewing subscription stays active until then
    days_left: int | None = None  # whole UTC days to term_end (0 once ended); None without a term
    gift_from: str | None = None  # a gift's sender: the buyer's chosen name, else their masked address
    first_charge: dict[str, object] | None = None  # a renewing subscription's next charge

    def as_json(self) -> Json:
        return self._asdict()


INACTIVE = EntitlementView()


class Accepted(NamedTuple):
    """Accept's answer: the account's entitlement, and what the gift credited (0: it is the plan)."""

    entitlement: EntitlementView
    credited: int = 0

    def as_json(self) -> Json:
        return {"entitlement": self.entitlement.as_json(), "credited": self.credited}


class Preview(NamedTuple):
    """What an invitation link gives, for the accept page: nothing more."""

    plan: str
    sender: str
    term_end: str
    state: str
    from_name: str | None = None  # SPEC 8.4: the name the buyer chose, when they chose one
    from_email: str | None = None  # the buyer's address: shown to a holder of a valid link
    message: str | None = None  # the buyer's personal message, as the invitation email has it

    def as_json(self) -> Json:
        return self._asdict()


class Declined(NamedTuple):
    seat_id: str
    declined: bool = True

    def as_json(self) -> Json:
        return {"declined": self.declined, "seat_id": self.seat_id}


class VerificationSent(NamedTuple):
    email: str  # masked
    sent: bool = True

    def as_json(self) -> Json:
        return {"sent": self.sent, "email": self.email}


class Verified(NamedTuple):
    verified: bool = True

    def as_json(self) -> Json:
        return {"verified": self.verified}


class Account(NamedTuple):
    """`GET /me`: who is signed in, and whether the service treats the address as verified."""

    sub: str
    email: str | None
    email_verified: bool

    def as_json(self) -> Json:
        return self._asdict()


class SupportSeatAction(NamedTuple):
    """What a support action on a seat answers: the seat as it now stands, and any checkout it made."""

    seat: SupportSeatView
    checkout: UpgradeCheckout | None = None

    def as_json(self) -> Json:
        return {**(self.checkout.as_json() if self.checkout else {}), "seat": self.seat.as_json()}
