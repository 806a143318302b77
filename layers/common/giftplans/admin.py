"""The support team's operations (`/admin/...`, authorised by IAM, never by the web client's JWT).

Support may look at any purchase (no buyer check) and act on it; every action runs the
same domain code as the buyer's or recipient's own action and records an audit event
whose actor is `support:<IAM ARN>`:

- find purchases and seats by buyer or recipient address (GSI3, `EMAIL#<email key>`:
  the key is a keyed hash, so the index holds no address);
- read a purchase with its seats, and its audit trail;
- resend an invitation (`invitations.buyer.resend` as the buyer, with the support actor);
- cancel a seat that was never accepted (`available` or `invited` -> `cancelled`);
- offer an upgrade to a recipient: a link to the service valid 7 days
  (`giftplans.upgrade_offers`), set on the seat (`last_action=upgrade_offer`) so the
  mailer sends it; each click makes the self-serve checkout (`upgrades.start_checkout`).
"""

from __future__ import annotations

from giftplans import audit, clock, stripe_gateway, upgrade_offers
from giftplans.errors import Conflict, Invalid, NotFound, PaymentProviderError, UpstreamUnavailable
from giftplans.identity import Caller
from giftplans.invitations import buyer as buyer_actions
from giftplans.purchases.handout import check_not_closing, not_closing, refuse_if_closing
from giftplans.seats import IN_USE, Action, SeatState, Touch, allowed_from
from giftplans.store import get_store
from giftplans.store import keys as k
from giftplans.store import models as m
from giftplans.store.transitions import Move, PurchaseSide, touch, transition
from giftplans.store.writes import Refused, Steps, stamp
from giftplans.tokens import email_keys
from giftplans.views import (
    AuditEventView,
    AuditTrail,
    Json,
    Resent,
    SupportDetail,
    SupportMatches,
    SupportPurchaseView,
    SupportSeatAction,
    SupportSeatView,
    term_ended,
)

MAX_MATCHES = 100
NO_PURCHASE = "There is no purchase with this id."
NO_SEAT = "This purchase has no seat with this id."


def is_seat(key: tuple[str, str]) -> bool:
    return key[1].startswith(k.SEAT_PREFIX)


def _wanted(key: tuple[str, str], seats: bool) -> bool:
    """A seat, or a purchase (GSI3 also holds profiles, audit mentions and mail markers: docs/privacy.md)."""
    return is_seat(key) if seats else key[1] == k.PURCHASE_SK


# ---- reads ----------------------------------------------------------------------------------------------


def _purchase(purchase_id: str) -> m.Purchase:
    purchase = get_store().purchase(purchase_id)
    if purchase is None:
        raise NotFound(NO_PURCHASE, code="purchase_not_found")
    return purchase


def _seat(purchase_id: str, seat_id: str) -> m.Seat:
    seat = get_store().seat(purchase_id, seat_id)
    if seat is None:
        raise NotFound(NO_SEAT, code="seat_not_found")
    return seat


def find(buyer_email: str | None, recipient_email: str | None) -> SupportMatches:
    """Purchases bought by an address, or seats held by one (with their purchases)."""
    if bool(buyer_email) == bool(recipient_email):
        raise Invalid("Give exactly one of buyer_email or recipient_email.", code="one_email_required")
    address = str(buyer_email or recipient_email)
    if "@" not in address:
        raise Invalid("That is not an email address.", code="invalid_email")
    want_seats = bool(recipient_email)
    store = get_store()
    keys = [
        key
        for each in email_keys(address)  # every kid of the ring (rotation)
        for key in store.keys_by_email(each, MAX_MATCHES)
        if _wanted(key, want_seats)
    ][:MAX_MATCHES]
    found = store.items(keys)
    owners = store.items(sorted({(item.PK, k.PURCHASE_SK) for item in found if isinstance(item, m.Seat)}))
    now = clock.now()
    every = [*found, *owners]
    bought = sorted((i for i in every if isinstance(i, m.Purchase)), key=lambda p: p.created_at, reverse=True)
    seats = sorted((i for i in found if isinstance(i, m.Seat)), key=lambda s: (s.purchase_id, s.seat_id))
    return SupportMatches(
        [SupportPurchaseView.of(p, now) for p in bought],
        [(s.purchase_id, SupportSeatView.of(s, now)) for s in seats],
    )


def detail(purchase_id: str) -> SupportDetail:
    """A purchase and every seat, whoever bought it."""
    now = clock.now()
    purchase, seats = get_store().purchase_and_seats(purchase_id)
    if purchase is None:
        raise NotFound(NO_PURCHASE, code="purchase_not_found")
    return SupportDetail(SupportPurchaseView.of(purchase, now), [SupportSeatView.of(s, now) for s in seats])


def events(purchase_id: str) -> AuditTrail:
    """The purchase's audit trail, oldest first."""
    _purchase(purchase_id)
    return AuditTrail([AuditEventView.of(e) for e in get_store().audit_trail(purchase_id)])


# ---- actions --------------------------------------------------------------------------------------------


def resend(purchase_id: str, seat_id: str, arn: str) -> Resent:
    """The buyer's resend, by support: same rules (limits, interval), support as the actor."""
    seat = _seat(purchase_id, seat_id)  # support acts for the buyer: the buyer's limits and counters apply
    buyer = Caller.for_buyer(seat.buyer_id, seat.buyer_email)
    return buyer_actions.resend(purchase_id, seat_id, buyer, actor=audit.support(arn))


def cancel_seat(purchase_id: str, seat_id: str, arn: str, *, refund: bool = False) -> SupportSeatAction:
    """A seat nobody accepted (`available` or `invited`) -> `cancelled`; its link stops working.

    With `refund` (SPEC 8.7) the seat is cancelled with `refund_status=pending` first, then Stripe
    refunds its value (one refund, idempotency key per seat), then the seat is marked refunded and
    the purchase's `amount_refunded` grows, in one write. A repeat finishes a pending refund.
    """
    who = audit.support(arn)
    now = clock.now()
    purchase = _purchase(purchase_id)
    seat = _seat(purchase_id, seat_id)
    state = SeatState(seat.state)
    if refund and state == SeatState.CANCELLED and seat.refund_status == PENDING:
        return _refund_seat(purchase, seat, who)
    if refund and state in IN_USE:
        raise Conflict(
            f"This seat is {state.value}: someone uses it, so it cannot be refunded on its own; "
            "refund the whole purchase in Stripe instead.",
            code="seat_in_use",
        )
    if refund and (purchase.status != "paid" or not purchase.payment_intent):
        raise Conflict("Only a paid purchase can be refunded.", code="purchase_not_paid")
    never_used = state == SeatState.AVAILABLE and int(seat_id) >= int(purchase.fresh_from or 1)
    if term_ended(seat.term_end, now) and state not in (SeatState.UPGRADED, SeatState.CANCELLED):
        raise Conflict("This seat's term has ended; there is nothing left to cancel.", code="seat_expired")
    if state not in allowed_from(Action.CANCEL):
        reason = "it is in use; refund the purchase instead" if state in IN_USE else f"it is {state.value}"
        raise Conflict(
            f"Only a seat that was never accepted can be cancelled, and {reason}.",
            code="seat_not_cancellable",
        )

    def build(steps: Steps) -> None:
        changes = [m.Seat.ended_at.set(clock.iso(now)), m.Seat.nonce.remove(), m.Seat.token_hash.remove()]
        if refund:
            changes.append(m.Seat.refund_status.set(PENDING))
        move = Move(
            seat_id,
            changes,
            from_state=state,
            version=int(seat.version),
            free_marker=state == SeatState.AVAILABLE and not never_used,
        )
        # A seat never handed out leaves the fresh run (fresh_from on) as a hole; one given back, its marker.
        # Rule 14: nothing changes while a full refund's close job holds the purchase.
        side = (
            PurchaseSide([m.Purchase.holes.add(1)], (m.Purchase.fresh_from <= int(seat_id)) & not_closing())
            if never_used
            else PurchaseSide(condition=(m.Purchase.fresh_from > int(seat_id)) & not_closing())
            if state == SeatState.AVAILABLE
            else PurchaseSide(condition=m.Purchase.PK.exists() & not_closing())
        )
        transition(
            steps,
            Action.CANCEL,
            purchase_id,
            [move],
            actor=who,
            purchase=side,
            detail={"previous_state": state.value, "refund": refund},
            at=now,
        )

    try:
        get_store().write(build)
    except Refused as refused:
        refuse_if_closing(refused)
        raise Conflict(
            "The seat changed while it was being cancelled; look again and retry.", code="seat_changed"
        ) from None
    if refund:
        return _refund_seat(purchase, _seat(purchase_id, seat_id), who)
    return SupportSeatAction(SupportSeatView.of(_seat(purchase_id, seat_id), clock.now()))


PENDING, DONE = "pending", "done"
REFUND_UNFINISHED = (
    "The seat is cancelled, but the payment provider did not confirm its refund; "
    "send the same request again to finish it."
)


def _refund_seat(purchase: m.Purchase, seat: m.Seat, who: str) -> SupportSeatAction:
    """Stripe refunds the cancelled seat's value once; then the seat and the purchase record it."""
    amount = int(seat.seat_value)
    try:
        refund_id = stripe_gateway.refund_seat(
            payment_intent=str(purchase.payment_intent),
            amount=amount,
            metadata={"purchase_id": seat.purchase_id, "seat_id": seat.seat_id, "kind": "seat_refund"},
            idempotency_key=f"seat-refund-{seat.purchase_id}-{seat.seat_id}",
        )
    except (UpstreamUnavailable, PaymentProviderError) as error:
        raise UpstreamUnavailable(REFUND_UNFINISHED, code="refund_unfinished") from error
    now = clock.now()

    def build(steps: Steps) -> None:
        touch(
            steps,
            Touch.SEAT_REFUND,
            seat,
            [m.Seat.refund_status.set(DONE), m.Seat.refund_id.set(refund_id)],
            actor=who,
            condition=m.Seat.refund_status == PENDING,
            detail={"amount": amount, "currency": seat.currency, "refund_id": refund_id},
            at=now,
        )

    try:
        get_store().write(build)
    except Refused as refused:
        if not refused.failed("seat"):
            raise
    # The purchase's total refunded, upwards only: the charge.refunded webhook sets the same number.
    total = int(purchase.amount_refunded or 0) + amount

    def grow(steps: Steps) -> None:
        steps.update(
            "purchase",
            m.Purchase(k.purchase_pk(seat.purchase_id), k.PURCHASE_SK),
            [m.Purchase.amount_refunded.set(total), *stamp(m.Purchase, Touch.SEAT_REFUND.value, who)],
            condition=m.Purchase.amount_refunded.does_not_exist() | (m.Purchase.amount_refunded < total),
        )

    try:
        get_store().write(grow)
    except Refused as refused:
        if refused.conflict:
            raise
    return SupportSeatAction(SupportSeatView.of(_seat(seat.purchase_id, seat.seat_id), clock.now()))


def offer_upgrade(purchase_id: str, seat_id: str, plan: str, arn: str) -> Json:
    """Support offers an upgrade: a link to the service, valid 7 days, mailed to the recipient (issue 14).

    Quoted now (rule 8's refusals apply now); each click on the link quotes again and makes a
    fresh Checkout Session (`giftplans.upgrade_offers`). Answers `{seat, quote, offer_url, offer_until}`.
    """
    who = audit.support(arn)
    seat = _seat(purchase_id, seat_id)
    if SeatState(seat.state) not in IN_USE or not seat.recipient_sub:
        raise Conflict(
            f"Only an accepted or claimed seat can be upgraded; this one is {seat.state}.",
            code="seat_not_in_use",
        )
    now = clock.now()
    offer = upgrade_offers.make(seat, plan, now)

    def build(steps: Steps) -> None:
        check_not_closing(steps, purchase_id)  # rule 14: no offer while a full refund closes the purchase
        touch(
            steps,
            Touch.UPGRADE_OFFER,
            seat,
            [
                m.Seat.upgrade_offer_url.set(offer.offer_url),
                m.Seat.upgrade_offer_until.set(offer.offer_until),
                m.Seat.upgrade_plan.set(offer.quote.plan),
            ],
            actor=who,
            detail={
                "plan": offer.quote.plan,
                "credit": offer.quote.credit,
                "amount_due": offer.quote.amount_due,
                "offer_until": offer.offer_until,
            },
            at=now,
        )

    try:
        get_store().write(build)
    except Refused as refused:
        refuse_if_closing(refused)
        raise Conflict(
            "The seat changed while the upgrade was being offered; look again and retry.", code="seat_changed"
        ) from None
    view = SupportSeatAction(SupportSeatView.of(_seat(purchase_id, seat_id), clock.now()))
    return {
        **view.as_json(),
        "quote": offer.quote.as_json(),
        "offer_url": offer.offer_url,
        "offer_until": offer.offer_until,
    }
