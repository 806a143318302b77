"""Issue 15 item 1: no item grows with the quantity; write units per action do not either."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from giftplans.store import keys as k

from bench import scenarios
from tests.conftest import TEST_TABLE
from tests.support import factories
from tests.support import gifts as g
from tests.support.ddb_units import item_size

pytestmark = pytest.mark.usefixtures("aws", "clock", "settings")

FAR_FROM_400_KB = 8 * 1024  # every item stays under 8 KB, fifty times below DynamoDB's limit


def partition_sizes(purchase_id: str) -> dict[str, int]:
    client = boto3.client("dynamodb")
    sizes: dict[str, int] = {}
    start: dict[str, Any] | None = None
    while True:
        extra: dict[str, Any] = {"ExclusiveStartKey": start} if start else {}
        page = client.query(
            TableName=TEST_TABLE,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": k.purchase_pk(purchase_id)}},
            **extra,
        )
        for item in page["Items"]:
            sizes[item["SK"]["S"]] = item_size(item)
        start = page.get("LastEvaluatedKey")
        if not start:
            return sizes


def test_given_quantity_10000_all_handed_out_when_items_are_measured_then_each_is_far_from_400_kb() -> None:
    pid = factories.paid_purchase(quantity=10_000)
    rows = [{"email": f"p{i}@example.com"} for i in range(1000)]
    status, body = g.invite(pid, rows=rows)
    assert status == 201, body
    assert g.seat_action(pid, "0007", "revoke")[0] == 200
    sizes = partition_sizes(pid)
    assert sizes["PURCHASE"] < 2 * 1024, sizes["PURCHASE"]  # the purchase item does not grow with the seats
    largest = max(sizes.items(), key=lambda kv: kv[1])
    assert largest[1] < FAR_FROM_400_KB, largest


def test_given_3_and_1000_seats_when_each_action_is_metered_then_1000_costs_within_125_percent_of_3() -> None:
    small = scenarios.write_units_at(3)
    large = scenarios.write_units_at(1000)
    ratios = scenarios.write_unit_ratios({**small, **large})
    assert all(ratio <= scenarios.UNIT_RATIO_TARGET for ratio in ratios.values()), (small, large, ratios)
