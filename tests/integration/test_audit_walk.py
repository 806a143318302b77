"""Issue 14, item 5: every seat change leaves an audit event in the same write.

A long scenario through the real handlers and capabilities (buy, invite, resend, revoke,
accept, decline, claim, upgrade, bounce, support cancel, reminders, expiry, full refund),
then a walk over every seat: replaying its audit events in order from the state fulfilment
made it in must be legal at each step (`seats.TRANSITIONS`, `seats.TOUCHES`), end in the
seat's state, and number exactly the seat's writes (version - 1).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from giftplans import admin, audit, sweep
from giftplans.outbox import feedback
from giftplans.seats import INITIAL, TOUCHES, TRANSITIONS, SeatState
from giftplans.store import models as m

from tests.support import gifts as g
from tests.support.apigw import call, claims, http_event
from tests.support.factories import paid_purchase
from tests.support.stripe_fake import FakeStripe
from tests.support.upgrade_steps import audit_trail, charge_refunded, deliver, seats

pytestmark = pytest.mark.usefixtures("aws", "clock")

KIND_TO_ACTION = {kind: action for action, kind in audit.SEAT_EVENTS.items()}
KIND_TO_TOUCHES = {kind: TOUCHES[touch] for touch, kind in audit.TOUCH_EVENTS.items()}
EXPIRE_NIGHT = datetime(2027, 3, 2, 3, 0, tzinfo=UTC)
OK = (200, 201, 202)
REMIND_30_NIGHT = datetime(2027, 1, 30, 3, 0, tzinfo=UTC)


def walk(purchase_id: str) -> dict[str, list[str]]:
    """Every seat's audit trail replayed; asserts it explains the seat. Returns seat -> kinds."""
    events = audit_trail(purchase_id)
    assert [e.SK for e in events] == sorted(e.SK for e in events)
    explained: dict[str, list[str]] = {}
    for seat_id, seat in seats(purchase_id).items():
        mine = [e for e in events if seat_id in (e.seat_ids or []) and e.kind.startswith("seat.")]
        state = INITIAL
        for event in mine:
            if event.kind in KIND_TO_ACTION:
                allowed, target = TRANSITIONS[KIND_TO_ACTION[event.kind]]
                assert state in allowed, f"seat {seat_id}: {event.kind} from {state}"
                state = target
            else:
                assert event.kind in KIND_TO_TOUCHES, f"seat {seat_id}: unknown {event.kind}"
                assert state in KIND_TO_TOUCHES[event.kind], f"seat {seat_id}: {event.kind} in {state}"
            assert event.actor == _actor_of(event)
        assert SeatState(seat.state) == state, f"seat {seat_id}: audit says {state}, seat is {seat.state}"
        assert int(seat.version) - 1 == len(mine), (
            f"seat {seat_id}: {len(mine)} events, version {seat.version}"
        )
        explained[seat_id] = [e.kind for e in mine]
    return explained


def _actor_of(event: m.AuditEvent) -> str:
    return str(event.actor)  # every event names who acted (checked non-empty below)


def bounce(purchase_id: str, seat_id: str) -> bool:
    nonce = g.seat(purchase_id, seat_id).nonce
    tags = {"purchase_id": purchase_id, "seat_id": seat_id, "nonce": str(nonce)}
    body: dict[str, Any] = {
        "eventType": "Bounce",
        "mail": {"messageId": "m-1", "tags": {k: [v] for k, v in tags.items()}},
        "bounce": {"bounceType": "Permanent"},
    }
    return feedback.record_feedback(body)


def upgrade(clock: Any, stripe: FakeStripe, sub: str, email: str) -> None:
    status, _ = call(
        "upgrades_api",
        http_event("POST", "/me/upgrade/checkout", body={"plan": "team"}, claims=claims(sub, email)),
    )
    assert status in OK
    form = stripe.to("/v1/checkout/sessions")[-1].form
    metadata = {k[len("metadata[") : -1]: v for k, v in form.items() if k.startswith("metadata[")}
    from tests.support import stripe_events as se

    session = se.resource("checkout.session")
    session.update(
        {
            "id": "cs_test_upgrade_walk",
            "mode": "subscription",
            "status": "complete",
            "payment_status": "paid",
            "metadata": metadata,
            "subscription": "sub_test_walk",
            "customer": "cus_test_walk",
            "client_reference_id": form.get("client_reference_id"),
        }
    )
    status, body = deliver(se.event("checkout.session.completed", session))
    assert status == 200, body


def test_given_long_scenario_when_every_seat_walked_then_each_change_is_explained_by_its_audit(
    clock: Any, stripe: FakeStripe
) -> None:
    ann, bob, cat = (claims(f"sub-{n}", f"{n}@example.com") for n in ("ann", "bob", "cat"))
    pid = paid_purchase(quantity=6)

    def tick() -> None:
        clock.advance(seconds=1)

    assert g.invite(pid, "ann@example.com", "bob@example.com", "cat@example.com", "dan@example.com")[0] in OK
    tick()
    clock.advance(minutes=30)  # past the resend interval
    assert g.seat_action(pid, "0001", "resend")[0] in OK
    tick()
    assert g.seat_action(pid, "0002", "revoke")[0] in OK
    tick()
    assert g.accept(g.link(pid, "0001"), ann)[0] in OK
    tick()
    assert g.decline(g.link(pid, "0003"))[0] in OK
    tick()
    status, body = g.invite(pid, "bob@example.com")  # whichever seat the purchase hands out next
    assert status in OK
    bob_seat = body["seats"][0]["seat_id"]
    tick()
    assert g.accept(g.link(pid, bob_seat), bob)[0] in OK
    tick()
    assert g.claim(pid)[0] in OK
    tick()
    assert bounce(pid, "0004")
    tick()
    admin.cancel_seat(pid, "0004", "arn:aws:iam::123456789012:role/support")
    tick()
    upgrade(clock, stripe, "sub-bob", "bob@example.com")
    tick()
    status, body = g.invite(pid, "cat@example.com")
    assert status in OK
    cat_seat = body["seats"][0]["seat_id"]
    tick()

    sweep.run(REMIND_30_NIGHT, since=REMIND_30_NIGHT.date())
    sweep.run(EXPIRE_NIGHT, since=REMIND_30_NIGHT.date())

    trail = walk(pid)
    assert set(trail["0001"]) >= {
        "seat.invited",
        "seat.resent",
        "seat.accepted",
        "seat.reminded",
        "seat.expired",
    }
    assert trail[bob_seat][-1] == "seat.upgraded"
    assert trail["0004"][-2:] == ["seat.bounced", "seat.cancelled"]
    assert "seat.expired" in trail[cat_seat]
    assert any("seat.claimed" in kinds for kinds in trail.values())
    assert all(e.actor for e in audit_trail(pid))

    # A second purchase, refunded in full: each seat's cancellation is its own audit event.
    clock.set(datetime(2027, 4, 1, 12, 0, tzinfo=UTC))
    refunded = paid_purchase(quantity=3)
    assert g.invite(refunded, "cat@example.com", "ann@example.com")[0] in OK
    tick()
    assert g.accept(g.link(refunded, "0001"), cat)[0] in OK
    tick()
    status, body = deliver(charge_refunded(refunded))
    assert status == 200, body

    after = walk(refunded)
    assert {kinds[-1] for kinds in after.values()} == {"seat.refunded"}
