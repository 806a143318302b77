"""Issue 15 item 2: a full refund or a lost dispute of a 1000-seat purchase.

The webhook records the decision (the close job) and hands the rest to the background (the
expiry_sweep function, invoked asynchronously with `{"close": <purchase_id>}`); the background
cancels the seats 25 to a transaction, then settles the purchase. Every person is told once, a
crash half-way is finished by running it again, and a run after the end changes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from giftplans import closing
from giftplans.outbox import notices
from giftplans.store import get_store
from giftplans.store import keys as k
from giftplans.store import models as m

from local.functions import LambdaContext
from tests.support import streams
from tests.support import stripe_events as se
from tests.support.apigw import load_handler
from tests.support.background import BACKGROUND_FUNCTION, LambdaInvocations
from tests.support.ddb_calls import Calls, counting
from tests.support.factories import paid_purchase
from tests.support.upgrade_steps import (
    audit_trail,
    charge_refunded,
    deliver,
    entitlement,
    holder,
    invited,
    seats,
)

pytestmark = pytest.mark.usefixtures("aws", "clock", "settings")

BUYER, BUYER_EMAIL = "buyer-big", "buyer@example.com"
QUANTITY, ACCEPTED, INVITED = 1000, 30, 20  # seats 1-30 accepted, 31-50 invited, the rest available
BUDGET = math.ceil(QUANTITY / 25) + 5  # round trips, webhook and background together


def big_purchase() -> str:
    pid = paid_purchase(BUYER, BUYER_EMAIL, quantity=QUANTITY)
    for n in range(1, ACCEPTED + 1):
        holder(pid, n, f"sub-{n}", f"r{n}@example.com")
    for n in range(ACCEPTED + 1, ACCEPTED + INVITED + 1):
        invited(pid, n, f"r{n}@example.com")
    return pid


def items(pid: str) -> dict[tuple[str, str], m.Item]:
    return (
        {(i.PK, i.SK): i for i in m.Item.query(k.purchase_pk(pid), consistent_read=True)}
        | {
            (i.PK, i.SK): i
            for n in range(1, ACCEPTED + 1)
            for i in m.Item.query(k.account_pk(f"sub-{n}"), consistent_read=True)
        }
        | {(i.PK, i.SK): i for i in m.Item.query(k.account_pk(BUYER), consistent_read=True)}
    )


def told(
    pid: str, step: Callable[[], Any], calls: list[Calls] | None = None
) -> tuple[Any, list[tuple[str, str]]]:
    """Run `step`: the emails its changes call for on the stream (kind, to); its round trips go to `calls`."""
    before = items(pid)
    with counting() as counted:
        out = step()
    if calls is not None:
        calls.append(counted)
    after = items(pid)
    records = [
        streams.record(before.get(key), item)
        for key, item in after.items()
        if key not in before or item.serialize() != before[key].serialize()
    ]
    mails = [(n.kind, n.email.to) for r in records for n in notices.notices_for(r) if n.email is not None]
    return out, mails


def background(payload: dict[str, Any], seconds_left: float = 900.0) -> dict[str, Any]:
    context = LambdaContext("gift-plans-test-expiry-sweep", memory_limit_in_mb=512, timeout_s=seconds_left)
    result: dict[str, Any] = load_handler("expiry_sweep").build(lambda _p: None)(payload, context)
    return result


def assert_closed(pid: str, reason: str) -> None:
    by_id = seats(pid)
    assert len(by_id) == QUANTITY
    assert {s.state for s in by_id.values()} == {"cancelled"}
    assert all(
        int(s.version) == 2 for sid, s in by_id.items() if int(sid) > ACCEPTED + INVITED
    )  # changed once
    assert all(s.last_action == "refund" and s.nonce is None for s in by_id.values())
    for n in range(1, ACCEPTED + 1):
        ent = entitlement(f"sub-{n}")
        assert ent is not None and ent.ended is True
    purchase = get_store().purchase(pid)
    assert purchase is not None and purchase.status == "refunded"
    assert purchase.seat_counts.as_dict()["cancelled"] == QUANTITY
    assert get_store().profile(BUYER).plans_bought == 0  # type: ignore[union-attr]
    [event] = [e for e in audit_trail(pid) if e.kind == "purchase.refunded"]
    assert len(event.seat_ids or []) == QUANTITY and event.detail.as_dict()["reason"] == reason
    named = [sid for e in audit_trail(pid) if e.kind == "seat.refunded" for sid in e.seat_ids or []]
    assert sorted(named) == sorted(by_id)  # every seat's change audited, once
    assert m.Item.count(k.purchase_pk(pid), m.Item.SK == k.CLOSE_SK) == 0  # the job is gone


def expected_mails() -> list[tuple[str, str]]:
    return sorted(
        [("seat_cancelled", f"r{n}@example.com") for n in range(1, ACCEPTED + INVITED + 1)]
        + [("purchase_refunded", BUYER_EMAIL)]
    )


def test_given_1000_seats_when_fully_refunded_then_webhook_records_and_background_finishes_telling_each_once(
    deployed: LambdaInvocations,
) -> None:
    pid = big_purchase()

    counted: list[Calls] = []
    refund = charge_refunded(pid)
    (status, body), mails_hook = told(pid, lambda: deliver(refund), counted)

    assert status == 200 and "background" in body["result"], body
    assert len(counted[0]) <= 3, counted[0].names  # the lookup, the purchase, the job: no seat touched
    assert mails_hook == [] and {s.state for s in seats(pid).values()} != {"cancelled"}
    [(function, kind, payload)] = deployed.invoked
    assert (function, kind, payload) == (BACKGROUND_FUNCTION, "Event", {"close": pid})

    result, mails = told(pid, lambda: background(payload), counted)
    hook, work = counted

    assert result["done"] is True and result["cancelled"] == QUANTITY
    assert len(hook) + len(work) <= BUDGET, (len(hook), work.names)
    assert work.by_operation["TransactWriteItems"] <= math.ceil(QUANTITY / 25) + 1
    assert_closed(pid, "refund")
    assert sorted(mails) == expected_mails()

    # the same event again, and the job run again: nothing changes, nobody is told again
    versions = {sid: s.version for sid, s in seats(pid).items()}
    (status, body), again = told(pid, lambda: deliver(charge_refunded(pid)))
    assert status == 200 and "already refunded" in body["result"]
    _, rerun = told(pid, lambda: background(payload))
    assert again == [] and rerun == []
    assert {sid: s.version for sid, s in seats(pid).items()} == versions


def test_given_1000_seats_when_the_background_crashes_half_way_then_a_rerun_finishes_and_tells_nobody_twice(
    deployed: LambdaInvocations, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = big_purchase()
    deliver(charge_refunded(pid))
    [(_, _, payload)] = deployed.invoked
    real, chunks = closing._cancel_chunk, list[Any]()

    def dies_after_20(chunk: Any, at: Any) -> list[str]:
        if len(chunks) == 20:
            raise RuntimeError("the invocation died")
        chunks.append(chunk)
        return real(chunk, at)

    monkeypatch.setattr(closing, "_cancel_chunk", dies_after_20)
    with pytest.raises(RuntimeError):
        background(payload)
    monkeypatch.setattr(closing, "_cancel_chunk", real)
    half = {s.seat_id for s in seats(pid).values() if s.state == "cancelled"}
    assert len(half) == 20 * 25
    assert get_store().purchase(pid).status == "paid"  # type: ignore[union-attr]

    result, rest = told(pid, lambda: background(payload))

    assert result["done"] is True and result["cancelled"] == QUANTITY - len(half)
    assert_closed(pid, "refund")
    # the mails of the first half were called for by the first run's writes (asserted in the test above);
    # the rerun calls only for the rest and the buyer's, each once
    assert sorted(rest) == sorted(
        [mail for mail in expected_mails() if mail[1] == BUYER_EMAIL or mail[1] not in _emails(half)]
    )


def _emails(seat_ids: set[str]) -> set[str]:
    return {f"r{int(sid)}@example.com" for sid in seat_ids}


def test_given_a_long_run_near_its_deadline_when_run_then_it_continues_in_a_new_invocation(
    deployed: LambdaInvocations,
) -> None:
    pid = big_purchase()
    deliver(charge_refunded(pid))
    context = LambdaContext("gift-plans-test-expiry-sweep", memory_limit_in_mb=512, timeout_s=10.0)
    continued: list[dict[str, Any]] = []

    result = load_handler("expiry_sweep").build(continued.append)({"close": pid}, context)

    assert result["continued"] is True and continued == [{"close": pid, "hop": 1}]
    assert background(continued[0])["done"] is True
    assert_closed(pid, "refund")


def dispute_lost(pid: str) -> dict[str, Any]:
    purchase = get_store().purchase(pid)
    assert purchase is not None
    dispute = se.resource("dispute")
    dispute.update(
        {
            "id": "dp_big",
            "amount": int(purchase.amount_total),
            "status": "lost",
            "charge": "ch_big",
            "payment_intent": purchase.payment_intent,
        }
    )
    return se.event("charge.dispute.closed", dispute)


def test_given_1000_seats_when_a_dispute_is_lost_then_the_same_background_close_tells_each_once(
    deployed: LambdaInvocations,
) -> None:
    pid = big_purchase()

    counted: list[Calls] = []
    lost = dispute_lost(pid)
    (status, body), mails_hook = told(pid, lambda: deliver(lost), counted)
    assert status == 200 and "background" in body["result"], body
    assert len(counted[0]) <= 3 and mails_hook == []
    [(_, _, payload)] = deployed.invoked

    result, mails = told(pid, lambda: background(payload), counted)
    hook, work = counted

    assert result["done"] is True
    assert len(hook) + len(work) <= BUDGET, work.names
    assert_closed(pid, "dispute_lost")
    assert sorted(mails) == expected_mails()
    _, again = told(pid, lambda: deliver(dispute_lost(pid)))
    assert again == []
