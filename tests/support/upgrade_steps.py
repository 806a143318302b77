"""Given-steps and stand-ins for the upgrade, refund, dispute and admin tests.

- Stripe itself is the `stripe` fixture: the one fake (tests/support/stripe_fake.FakeStripe).
- `holder(...)`: a seat accepted (or claimed) by an account, written exactly as the accept
  and claim transitions write it (seat, purchase counts and holders, entitlement).
- `deliver(event)`: a signed Stripe event through the real webhook function;
  `charge_refunded(...)` builds one from Stripe's charge fixture.
"""

from __future__ import annotations

from typing import Any

from giftplans import clock, tokens
from giftplans.store import get_store
from giftplans.store import keys as k
from giftplans.store import models as m
from pynamodb.transactions import TransactWrite

from tests.support import stripe_events as se
from tests.support.apigw import call


def holder(purchase_id: str, seat_no: int, sub: str, email: str, *, state: str = "accepted") -> m.Seat:
    """Seat `seat_no` (available) accepted or claimed by `sub`, as those transitions write it."""
    seat_id = k.seat_id_of(seat_no)
    now = clock.now()
    seat = m.Seat.get(k.purchase_pk(purchase_id), k.seat_sk(seat_id), consistent_read=True)
    key = tokens.email_key(email)

    def build(tx: TransactWrite) -> None:
        tx.update(
            seat,
            actions=[
                m.Seat.state.set(state),
                m.Seat.recipient_email.set(email),
                m.Seat.recipient_sub.set(sub),
                m.Seat.accepted_at.set(clock.iso(now)),
                m.Seat.invited_at.set(clock.iso(now)),
                m.Seat.GSI3PK.set(k.email_gsi(key)),
                m.Seat.GSI3SK.set(f"SEAT#{purchase_id}#{seat_id}"),
                m.Seat.version.add(1),
                m.Seat.last_action.set("accept" if state == "accepted" else "claim"),
            ],
            condition=m.Seat.state == "available",
        )
        tx.update(
            m.Purchase(k.purchase_pk(purchase_id), k.PURCHASE_SK),
            actions=[
                m.Purchase.seat_counts.available.add(-1),  # type: ignore[attr-defined]
                getattr(m.Purchase.seat_counts, state).add(1),
                m.Purchase.holes.add(1),  # taken out of the fresh run directly
                m.Purchase.version.add(1),
            ],
        )
        tx.save(
            m.Entitlement(
                k.account_pk(sub),
                k.ENTITLEMENT_SK,
                sub=sub,
                plan=seat.plan,
                source="gift" if state == "accepted" else "claim",
                term_end=seat.term_end,
                term_end_ts=seat.term_end_ts,
                auto_renew=False,
                ended=False,
                purchase_id=purchase_id,
                seat_id=seat_id,
                updated_at=clock.iso(now),
            )
        )

    transact(build)
    return m.Seat.get(k.purchase_pk(purchase_id), k.seat_sk(seat_id), consistent_read=True)


def transact(build: Any) -> None:
    """A raw PynamoDB transaction on the store's connection (Given-steps only)."""
    with TransactWrite(connection=get_store().connection) as tx:
        build(tx)


def invited(purchase_id: str, seat_no: int, email: str) -> None:
    """Seat `seat_no` (available) invited to `email` (no link needed by these tests)."""
    seat_id = k.seat_id_of(seat_no)
    key = tokens.email_key(email)

    def build(tx: TransactWrite) -> None:
        tx.update(
            m.Seat(k.purchase_pk(purchase_id), k.seat_sk(seat_id)),
            actions=[
                m.Seat.state.set("invited"),
                m.Seat.recipient_email.set(email),
                m.Seat.nonce.set(tokens.new_nonce()),
                m.Seat.token_hash.set("x"),
                m.Seat.invited_at.set(clock.iso(clock.now())),
                m.Seat.resend_count.set(0),
                m.Seat.last_sent_ts.set(clock.epoch(clock.now())),
                m.Seat.GSI3PK.set(k.email_gsi(key)),
                m.Seat.GSI3SK.set(f"SEAT#{purchase_id}#{seat_id}"),
                m.Seat.version.add(1),
                m.Seat.last_action.set("invite"),
            ],
            condition=m.Seat.state == "available",
        )
        tx.update(
            m.Purchase(k.purchase_pk(purchase_id), k.PURCHASE_SK),
            actions=[
                m.Purchase.seat_counts.available.add(-1),  # type: ignore[attr-defined]
                m.Purchase.seat_counts.invited.add(1),  # type: ignore[attr-defined]
                m.Purchase.holes.add(1),  # taken out of the fresh run directly
                m.Purchase.version.add(1),
            ],
        )

    transact(build)


def charge_refunded(
    purchase_id: str,
    amount_refunded: int | None = None,
    *,
    refunded: bool | None = None,
    payment_intent: str | None = None,
) -> dict[str, Any]:
    """`charge.refunded` for the purchase's payment (all of it unless `amount_refunded` says), to deliver."""
    purchase = get_store().purchase(purchase_id)
    assert purchase is not None
    charge = se.resource("charge")
    amount = int(purchase.amount_total)
    amount_refunded = amount if amount_refunded is None else amount_refunded
    charge.update(
        {
            "id": "ch_test_refund",
            "amount": amount,
            "amount_captured": amount,
            "amount_refunded": amount_refunded,
            "captured": True,
            "currency": purchase.currency,
            "payment_intent": payment_intent or purchase.payment_intent,
            "refunded": amount_refunded >= amount if refunded is None else refunded,
        }
    )
    return se.event("charge.refunded", charge)


def payment_intent(intent_id: str, metadata: dict[str, str]) -> dict[str, Any]:
    """A PaymentIntent as GET /v1/payment_intents/<id> answers it (for `FakeStripe.payment_intents`)."""
    return {"id": intent_id, "object": "payment_intent", "status": "succeeded", "metadata": metadata}


def deliver(evt: dict[str, Any]) -> tuple[int, Any]:
    """A correctly signed delivery of `evt` to the real webhook function."""
    return call("stripe_webhook", se.webhook_request(evt))


def seats(purchase_id: str) -> dict[str, m.Seat]:
    return {
        i.seat_id: i
        for i in m.Item.query(k.purchase_pk(purchase_id), m.Item.SK.startswith("SEAT#"), consistent_read=True)
        if isinstance(i, m.Seat)
    }


def audit_trail(purchase_id: str) -> list[m.AuditEvent]:
    return [
        i
        for i in m.Item.query(
            k.purchase_pk(purchase_id), m.Item.SK.startswith("EVENT#"), consistent_read=True
        )
        if isinstance(i, m.AuditEvent)
    ]


def entitlement(sub: str) -> m.Entitlement | None:
    try:
        return m.Entitlement.get(k.account_pk(sub), k.ENTITLEMENT_SK, consistent_read=True)
    except m.Entitlement.DoesNotExist:
        return None
