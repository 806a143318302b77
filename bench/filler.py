"""Seats that are not due, written straight into the emulated table (no HTTP, no request parsing).

The sweep benchmark needs tables of 20,000 and 200,000 seats of which only a few are
due. Buying them through fulfilment would take most of the run under moto, so the
filler is written as raw items: through `BatchWriteItem` for small tables (what a test
can afford), or straight into moto's in-memory table for the large ones (the HTTP and
request-parsing layers cost ~90% of moto's time per item). Filler purchases fall due
months after the night the benchmark sweeps, so they carry due keys of another day:
a sweep that read them would be visible in the counts.
"""

from __future__ import annotations

from typing import Any

from giftplans import money
from giftplans.store import keys as k
from giftplans.store import models as m

SEATS_PER_PURCHASE = 1000
COMMON = {
    "plan": "pro",
    "currency": "usd",
    "term_start": "2026-08-01T00:00:00Z",
    "term_end": "2027-08-01T00:00:00Z",
    "term_end_ts": 1817078400,
}
UNIT = 24000


def filler_items(n: int, quantity: int) -> list[dict[str, Any]]:
    """Purchase `n` (paid, due 2027-07-02) and its `quantity` available seats, as DynamoDB JSON."""
    pid = f"pur_filler{n:06d}"
    common: dict[str, Any] = {**COMMON, "buyer_id": f"filler-{n}", "buyer_email": f"filler{n}@example.com"}
    purchase = m.Purchase(
        k.purchase_pk(pid),
        k.PURCHASE_SK,
        purchase_id=pid,
        checkout_session_id=f"cs_filler_{n}",
        quantity=quantity,
        status="paid",
        amount_subtotal=UNIT * quantity,
        amount_total=UNIT * quantity,
        created_at="2026-08-01T00:00:00Z",
        seat_counts=m.SeatCounts(available=quantity),  # type: ignore[no-untyped-call]
        seats_written=quantity,
        due_kind="remind_30",
        GSI2PK=k.due_gsi("2027-07-02", n % 8),
        GSI2SK=f"PURCHASE#{pid}",
        version=1,
        **common,
    )
    items = [purchase.serialize()]
    template = m.Seat(
        k.purchase_pk(pid),
        k.seat_sk("0001"),
        purchase_id=pid,
        seat_id="0001",
        state="available",
        version=1,
        seat_value=0,
        **common,
    ).serialize()
    for seat_no in range(1, quantity + 1):
        seat_id = k.seat_id_of(seat_no)
        item = dict(template)
        item["SK"] = {"S": k.seat_sk(seat_id)}
        item["seat_id"] = {"S": seat_id}
        item["seat_value"] = {"N": str(money.seat_value(UNIT * quantity, quantity, seat_no))}
        items.append(item)
    return items


def _purchases(seats: int) -> list[tuple[int, int]]:
    out, n = [], 0
    while seats > 0:
        out.append((n, min(SEATS_PER_PURCHASE, seats)))
        seats -= SEATS_PER_PURCHASE
        n += 1
    return out


def write_with_batches(table_name: str) -> Any:
    """A writer for small tables: BatchWriteItem of 25 through a boto3 client (not counted by the bench)."""
    import boto3

    def write(seats: int) -> None:
        client = boto3.client("dynamodb")
        for n, quantity in _purchases(seats):
            items = filler_items(n, quantity)
            for start in range(0, len(items), 25):
                puts: list[Any] = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
                if client.batch_write_item(RequestItems={table_name: puts}).get("UnprocessedItems"):
                    raise RuntimeError("moto left items unprocessed")

    return write


def write_into_moto(table_name: str, account: str = "123456789012", region: str = "us-east-1") -> Any:
    """A writer for large tables: straight into moto's in-memory table (same item shapes, same indexes)."""
    from moto.dynamodb.models import dynamodb_backends

    def write(seats: int) -> None:
        table = dynamodb_backends[account][region].get_table(table_name)
        stream, table.stream_shard = table.stream_shard, None  # no stream records for filler: half the memory
        try:
            for n, quantity in _purchases(seats):
                for item in filler_items(n, quantity):
                    table.put_item(item)
        finally:
            table.stream_shard = stream

    return write
