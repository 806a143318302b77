"""What a reader sees: the SPEC JSON of each shape the API answers with, built here and nowhere else.

The domain returns these typed results, immutable NamedTuples (a frozen dataclass costs
ten times as much to define, and every API function imports most of these at cold
start); a handler answers with `result.as_json()` (its pydantic model in
`giftplans.schemas` or beside the route documents the shape in OpenAPI). A stored item
becomes a view through one constructor per shape (`SeatView.of`, `PurchaseView.of`,
...), which applies the reading rules: past `term_end` a live seat
reads `expired` and counts as expired whatever the sweep did (rule 9), and a complaint
reads like a bounce (rule 12).
"""

from datetime import datetime
from typing import Any, NamedTuple

from giftplans import clock, terms
from giftplans.seats import TRANSITIONS, Action, SeatState, effective_state
from giftplans.store import models as m

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

    def as_json(self) -> Json:
        return self._asdict()


INACTIVE = EntitlementView()


class Preview(NamedTuple):
    """What an invitation link gives, for the accept page: nothing more."""

    plan: str
    sender: str
    term_end: str
    state: str

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


# ---- checkouts, quotes ----------------------------------------------------------------------------------


class CheckoutSession(NamedTuple):
    session_id: str
    url: str

    def as_json(self) -> Json:
        return self._asdict()


class Quote(NamedTuple):
    """The SPEC upgrade quote, plus what the checkout needs to link the seat."""

    plan: str
    target_price: int
    credit: int
    amount_due: int
    currency: str
    remaining_days: int
    term_days: int
    quote_expires_at: str
    from_plan: str
    term_end: str
    purchase_id: str
    seat_id: str

    def as_json(self) -> Json:
        return self._asdict()


class UpgradeCheckout(NamedTuple):
    session_id: str
    url: str
    quote: Quote

    def as_json(self) -> Json:
        return {"session_id": self.session_id, "url": self.url, "quote": self.quote.as_json()}


class RenewalCheckout(NamedTuple):
    session_id: str
    url: str
    plan: str
    starts_billing_at: str
    note: str | None = None

    def as_json(self) -> Json:
        out: Json = {
            "session_id": self.session_id,
            "url": self.url,
            "plan": self.plan,
            "starts_billing_at": self.starts_billing_at,
        }
        if self.note:
            out["note"] = self.note
        return out


class SupportSeatAction(NamedTuple):
    """What a support action on a seat answers: the seat as it now stands, and any checkout it made."""

    seat: SupportSeatView
    checkout: UpgradeCheckout | None = None

    def as_json(self) -> Json:
        return {**(self.checkout.as_json() if self.checkout else {}), "seat": self.seat.as_json()}
