"""Refunds and disputes (SPEC rule 14), from Stripe's charge events.

Every event names a payment intent; `PAYMENT#<payment_intent>` (written at fulfilment)
names the purchase. A payment intent without that lookup is asked about once
(`stripe_gateway.payment_intent_kind`): when its metadata says `kind: gift` it is ours and
its fulfilment has not landed yet (`checkout.session.completed` still failing and being
retried), so the event is refused with 503 and Stripe redelivers it later, after the
purchase exists; otherwise it is somebody else's charge: ignored (200).

- **Full refund** (`charge.refunded` with `refunded: true` or `amount_refunded >=
  amount`, or a dispute lost): the webhook records a close job and the rest runs in the
  background (`giftplans.closing`): every seat that is not upgraded, expired or cancelled
  becomes `cancelled` (25 to a transaction, with the entitlement each granted ended in the
  same transaction when that entitlement still comes from it); then the purchase becomes
  `refunded` with recomputed counts and no sweep milestone but the erasure of its
  recipients (docs/privacy.md), the buyer's plans-bought count drops by the quantity, and
  an audit event is written. Seats go first and the purchase last, so a crash half-way is
  finished by the next run; a replay after the end finds nothing to do.
- **Partial refund**: the purchase records `amount_refunded` (only ever upwards) and an
  audit event; no seat changes (support cancels the seats it covers, admin API).
- **Disputes**: `charge.dispute.created` sets `frozen` on the purchase (invitations and
  claims refuse with 409 `purchase_frozen`); `charge.dispute.closed` with `won` or
  `warning_closed` (an inquiry that did not become a chargeback) lifts it; `lost`
  takes the full-refund path.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pynamodb.expressions.condition import size

from giftplans import audit, clock
from giftplans.entitlements import Source
from giftplans.errors import UpstreamUnavailable
from giftplans.observability import logger
from giftplans.seats import IN_USE, Action, SeatState, allowed_from
from giftplans.store import get_store
from giftplans.store import keys as k
from giftplans.store import models as m
from giftplans.store.transitions import Move, transition
from giftplans.store.writes import Refused, Steps, stamp

if TYPE_CHECKING:  # the webhook reads Stripe; the functions that never do need not import it
    from giftplans.stripe_facts import ChargeRefund, DisputeFacts

IGNORED = "ignored"
ACTOR = "stripe"
REFUNDABLE = allowed_from(Action.REFUND)
GIFT_KIND = "gift"  # payment_intent_data.metadata.kind of our gift checkouts (stripe_gateway)
NOT_RECORDED_YET = "The purchase for this payment is not recorded yet; Stripe will retry."
UNFREEZE = frozenset({"won", "warning_closed"})


# ---- lookups --------------------------------------------------------------------------------------------


def purchase_or_retry(payment_intent: str | None) -> m.Purchase | None:
    """The purchase paid by `payment_intent`; None when the payment is not ours.

    Without a `PAYMENT#` lookup Stripe is asked whose payment it is: a gift payment whose
    fulfilment has not been recorded yet raises `UpstreamUnavailable` (503, Stripe retries
    the refund or dispute later), so a refund cannot be lost to a completion that lands after it.
    """
    purchase = get_store().purchase_for_payment(payment_intent) if payment_intent else None
    if purchase is None and payment_intent:
        from giftplans import stripe_gateway
        from giftplans.purchases import attention

        if attention.for_payment(payment_intent) is not None:
            # Its checkout could not be fulfilled (support has it): no purchase will ever come, so
            # retrying for three days helps nobody. Acknowledged, logged for support.
            logger.error(
                "refund or dispute of an unfulfillable checkout", extra={"payment_intent": payment_intent}
            )
            return None
        if stripe_gateway.payment_intent_kind(payment_intent) == GIFT_KIND:
            logger.info("refund or dispute before fulfilment", extra={"payment_intent": payment_intent})
            raise UpstreamUnavailable(NOT_RECORDED_YET, code="payment_not_recorded")
    return purchase


# ---- ending a seat's entitlement ------------------------------------------------------------------------


def end_entitlement(steps: Steps, seat: m.Seat, at: datetime) -> None:
    """End the recipient's entitlement, on condition that it still comes from this seat."""
    ent = m.Entitlement(k.account_pk(str(seat.recipient_sub)), k.ENTITLEMENT_SK)
    steps.update(
        "entitlement",
        ent,
        [m.Entitlement.ended.set(True), m.Entitlement.updated_at.set(clock.iso(at))],
        condition=(m.Entitlement.purchase_id == seat.purchase_id)
        & (m.Entitlement.seat_id == seat.seat_id)
        & m.Entitlement.source.is_in(Source.GIFT.value, Source.CLAIM.value),
    )


def cancel_seat(seat: m.Seat, at: datetime, actor: str) -> bool:
    """Seat -> cancelled (refund), its entitlement ended if it still comes from it. False: the seat moved.

    The purchase is settled once, after all its seats (`closing`), so it is left alone here.
    """
    in_use = SeatState(seat.state) in IN_USE and bool(seat.recipient_sub)
    move = Move(
        seat.seat_id,
        [m.Seat.ended_at.set(clock.iso(at)), m.Seat.nonce.remove(), m.Seat.token_hash.remove()],
        from_state=SeatState(seat.state),
        version=int(seat.version),
    )
    for with_entitlement in (True, False) if in_use else (False,):

        def build(steps: Steps, ending: bool = with_entitlement) -> None:
            transition(
                steps,
                Action.REFUND,
                seat.purchase_id,
                [move],
                actor=actor,
                purchase=None,
                detail={"previous_state": seat.state},
                at=at,
            )
            if ending:
                end_entitlement(steps, seat, at)

        try:
            get_store().write(build)
            return True
        except Refused as refused:
            if with_entitlement and refused.failed("entitlement") and not refused.failed("seat"):
                continue  # the account's entitlement comes from elsewhere now: leave it alone
            return False
    return False


# ---- full and partial refunds ---------------------------------------------------------------------------


def full_refund(purchase: m.Purchase, amount_refunded: int, at: datetime, reason: str) -> str:
    """Record the decision and cancel every refundable seat in the background (`giftplans.closing`)."""
    from giftplans import closing  # closing builds on this module's seat cancel

    return closing.record(purchase, amount_refunded, at, reason)


def partial_refund(purchase: m.Purchase, amount_refunded: int, at: datetime) -> str:
    """Record the refunded amount (only upwards); seats stay as they are."""
    done = _mark_purchase(
        purchase,
        [m.Purchase.amount_refunded.set(amount_refunded)],
        m.Purchase.amount_refunded.does_not_exist() | (m.Purchase.amount_refunded < amount_refunded),
        at,
        "partial_refund",
        "purchase.partially_refunded",
        {"amount_refunded": amount_refunded},
    )
    return f"{'partially refunded' if done else 'already recorded'} {purchase.purchase_id}"


def _mark_purchase(
    purchase: m.Purchase,
    actions: list[Any],
    condition: Any,
    at: datetime,
    last_action: str,
    kind: str,
    detail: dict[str, Any],
) -> bool:
    """One conditional update of the purchase and its audit event; False when refused (a replay)."""

    def build(steps: Steps) -> None:
        steps.update(
            "purchase", purchase, [*actions, *stamp(m.Purchase, last_action, ACTOR)], condition=condition
        )
        steps.put("audit", audit.event(purchase.purchase_id, at, kind, ACTOR, detail=detail))

    try:
        get_store().write(build)
    except Refused as refused:
        if refused.conflict:
            raise  # lost a race: Stripe delivers the event again
        return False
    return True


# ---- disputes -------------------------------------------------------------------------------------------


def set_frozen(purchase: m.Purchase, frozen: bool, at: datetime, kind: str, detail: dict[str, Any]) -> bool:
    """Freeze or thaw; False when it already was (a replay).

    Stripe does not keep order and retries for days: a thaw records the dispute id in
    `disputes_closed`, and a freeze for a dispute already closed (its `created` delivered
    late or again) changes nothing. Open disputes are kept in `disputes_open`, so a thaw
    leaves the purchase frozen while another dispute on it is still open.
    """
    dispute_id = str(detail.get("dispute_id") or "")
    was = m.Purchase.frozen == (not frozen)
    actions: list[Any] = [m.Purchase.frozen.set(frozen)]
    if not dispute_id:
        condition = (m.Purchase.frozen.does_not_exist() | was) if frozen else was
    elif frozen:
        # Every open dispute is kept (`disputes_open`): a second one on the same payment is recorded too.
        condition = ~m.Purchase.disputes_open.contains(dispute_id) & ~m.Purchase.disputes_closed.contains(
            dispute_id
        )
        actions.append(m.Purchase.disputes_open.add({dispute_id}))
    else:
        # The purchase thaws only when no other dispute stays open (two disputes, the first closed: frozen).
        still_open = set(purchase.disputes_open or ()) - {dispute_id}
        actions = [
            m.Purchase.frozen.set(bool(still_open)),
            m.Purchase.disputes_closed.add({dispute_id}),
        ]
        if purchase.disputes_open and dispute_id in purchase.disputes_open:
            actions.append(m.Purchase.disputes_open.delete({dispute_id}))
        opened = len(purchase.disputes_open or ())
        same = (
            m.Purchase.disputes_open.does_not_exist()
            if opened == 0
            else size(m.Purchase.disputes_open) == opened  # type: ignore[no-untyped-call]
        )
        condition = ~m.Purchase.disputes_closed.contains(dispute_id) & same
    last_action = kind.replace("purchase.", "")
    return _mark_purchase(purchase, actions, condition, at, last_action, kind, detail)


# ---- Stripe events (through giftplans.webhooks, read into giftplans.stripe_facts) -------------------------


def on_charge_refunded(charge: ChargeRefund) -> str:
    purchase = purchase_or_retry(charge.payment_intent)
    if purchase is None:
        return f"{IGNORED}: not our payment"
    if charge.full:
        return full_refund(purchase, charge.amount_refunded or charge.amount, charge.at, "refund")
    if charge.amount_refunded > 0:
        return partial_refund(purchase, charge.amount_refunded, charge.at)
    return f"{IGNORED}: nothing refunded"


def _dispute_purchase(dispute: DisputeFacts) -> m.Purchase | None:
    intent = dispute.payment_intent
    if intent is None and dispute.charge_id:
        from giftplans import stripe_gateway

        intent = stripe_gateway.charge_payment_intent(dispute.charge_id)
    return purchase_or_retry(intent)


def on_dispute_created(dispute: DisputeFacts) -> str:
    purchase = _dispute_purchase(dispute)
    if purchase is None:
        return f"{IGNORED}: not our payment"
    detail = {"dispute_id": dispute.dispute_id, "reason": dispute.reason, "amount": dispute.amount}
    done = set_frozen(purchase, True, dispute.at, "purchase.dispute_opened", detail)
    return f"{'frozen' if done else 'already frozen, or the dispute is closed'} {purchase.purchase_id}"


def on_dispute_closed(dispute: DisputeFacts) -> str:
    purchase = _dispute_purchase(dispute)
    if purchase is None:
        return f"{IGNORED}: not our payment"
    if dispute.status == "lost":
        return full_refund(purchase, dispute.amount or int(purchase.amount_total), dispute.at, "dispute_lost")
    if dispute.status in UNFREEZE:
        detail = {"dispute_id": dispute.dispute_id, "status": dispute.status}
        done = set_frozen(purchase, False, dispute.at, "purchase.dispute_won", detail)
        return f"{'thawed' if done else 'already thawed'} {purchase.purchase_id}"
    return f"{IGNORED}: dispute status {dispute.status!r}"
