"""Scale: the sweep's reads follow the number of purchases due, not the size of the table (SPEC rule 7).

A table of 20,000 seats of which 200 are due (10 purchases of 20 seats, bought through
fulfilment; the 19,800 others written straight to the table with batch writes, their
purchases due months later). Every DynamoDB call the sweep makes is counted, whichever client makes it
(tests/support/ddb_calls.py).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import boto3
import pytest
from giftplans import clock, money, sweep
from giftplans.store import keys as k
from giftplans.store import models as m

from tests.conftest import TEST_TABLE
from tests.support.ddb_calls import counting
from tests.support.factories import paid_purchase

pytestmark = pytest.mark.usefixtures("aws", "clock", "settings")

DUE_PURCHASES, DUE_SEATS_EACH = 10, 20
FILLER_PURCHASES, FILLER_SEATS_EACH = 20, 990  # 19,800 + 200 = 20,000 seats
EXPIRE_NIGHT = datetime(2027, 3, 2, 3, 0, tzinfo=UTC)


def write_filler(n: int) -> None:
    """A purchase of FILLER_SEATS_EACH seats, due months later, written straight to the table."""
    pid = f"pur_filler{n:04d}"
    quantity = FILLER_SEATS_EACH
    common: dict[str, Any] = {
        "plan": "pro",
        "currency": "usd",
        "term_start": "2026-08-01T00:00:00Z",
        "term_end": "2027-08-01T00:00:00Z",
        "term_end_ts": 1817078400,
        "buyer_id": f"filler-{n}",
        "buyer_email": f"filler{n}@example.com",
    }
    items: list[m.Item] = [
        m.Purchase(
            k.purchase_pk(pid),
            k.PURCHASE_SK,
            purchase_id=pid,
            checkout_session_id=f"cs_filler_{n}",
            quantity=quantity,
            status="paid",
            amount_subtotal=24000 * quantity,
            amount_total=24000 * quantity,
            created_at="2026-08-01T00:00:00Z",
            seat_counts=m.SeatCounts(available=quantity),
            seats_written=quantity,
            due_kind="remind_30",
            GSI2PK=k.due_gsi("2027-07-02", n % 8),
            GSI2SK=f"PURCHASE#{pid}",
            version=1,
            **common,
        )
    ]
    items += [
        m.Seat(
            k.purchase_pk(pid),
            k.seat_sk(k.seat_id_of(seat_no)),
            purchase_id=pid,
            seat_id=k.seat_id_of(seat_no),
            state="available",
            version=1,
            seat_value=money.seat_value(24000 * quantity, quantity, seat_no),
            **common,
        )
        for seat_no in range(1, quantity + 1)
    ]
    client = boto3.client("dynamodb")  # raw batches: the PynamoDB batch writer is twice as slow under moto
    for start in range(0, len(items), 25):
        puts: list[Any] = [{"PutRequest": {"Item": item.serialize()}} for item in items[start : start + 25]]
        assert not client.batch_write_item(RequestItems={TEST_TABLE: puts}).get("UnprocessedItems")


def test_given_20000_seats_of_which_200_due_when_swept_then_reads_follow_the_due_purchases_only() -> None:
    due = [paid_purchase(quantity=DUE_SEATS_EACH) for _ in range(DUE_PURCHASES)]
    for night in (date(2027, 1, 30), date(2027, 2, 22)):  # their reminder nights, while the table is small
        sweep.run(datetime.combine(night, datetime.min.time(), UTC), since=night)
    for n in range(FILLER_PURCHASES):
        write_filler(n)
    m.SweepCursor(
        sweep.CURSOR_PK, sweep.CURSOR_SK, last_done_day="2027-03-01", updated_at=clock.iso(clock.now())
    ).save()

    with counting() as counted:
        result = sweep.run(EXPIRE_NIGHT)
    calls = counted.by_operation

    assert (result.due, result.expired, result.failed) == (DUE_PURCHASES, DUE_PURCHASES * DUE_SEATS_EACH, 0)
    assert calls["Scan"] == 0
    # one page per shard of the one day (the index reads), then one Query of each due purchase's own
    # partition (its live seats and holders; no map on the purchase since issue 15)
    assert calls["Query"] == 8 + DUE_PURCHASES
    assert counted.items_read <= DUE_PURCHASES + 1  # the due index items, plus the cursor
    # The seats' blind writes go 25 to a transaction with its audit event (giftplans.expiry, issue 15);
    # then the purchase's update.
    assert calls["TransactWriteItems"] == DUE_PURCHASES * -(-DUE_SEATS_EACH // 25)
    assert calls["UpdateItem"] == DUE_PURCHASES
    some_due = m.Seat.get(k.purchase_pk(due[-1]), k.seat_sk("0020"), consistent_read=True)
    filler = m.Seat.get(k.purchase_pk("pur_filler0003"), k.seat_sk("0500"), consistent_read=True)
    assert (some_due.state, filler.state, filler.version) == ("expired", "available", 1)
