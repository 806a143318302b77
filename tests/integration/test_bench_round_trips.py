"""The benchmark's round trips at small sizes: an action costing more DynamoDB requests than its budget fails.

`make bench` runs the same scenarios (bench/scenarios.py) at full size; this keeps the
budgets inside `make test`, so a regression cannot land unnoticed.
"""

from __future__ import annotations

from typing import Any

import pytest

from bench import scenarios
from bench.filler import write_with_batches
from tests.conftest import TEST_TABLE

pytestmark = pytest.mark.usefixtures("aws", "clock", "settings")


@pytest.mark.parametrize("seats", [1, 100, 101])
def test_given_paid_checkout_of_n_seats_when_webhook_delivers_it_then_at_most_ceil_n_by_100_plus_3_requests(
    seats: int,
) -> None:
    calls, _ = scenarios.deliver_paid_checkout(seats)
    assert len(calls) <= scenarios.webhook_target(seats), calls.names
    assert "Scan" not in calls.names


def test_given_a_paid_purchase_when_each_action_runs_then_none_exceeds_its_round_trip_budget() -> None:
    measured = scenarios.Measured()
    scenarios.seat_actions(measured)
    assert set(measured.ddb_calls) == {
        "invite_1",
        "invite_25",
        "accept",
        "revoke",
        "decline",
        "resend",
        "claim",
        "get_entitlement",
        "list_purchases",
        "get_purchase_100_seats",
    }
    assert measured.over_budget() == []


@pytest.mark.parametrize("seats", [1, 60])
def test_given_full_refund_of_n_seats_when_delivered_then_at_most_ceil_n_by_25_plus_5_requests(
    seats: int,
) -> None:
    measured = scenarios.Measured()
    scenarios.refund(measured, seats, handed_out=min(seats, 30))
    assert measured.over_budget() == [], measured.operations
    assert measured.ddb_calls[f"refund_{seats}"] <= -(-seats // 25) + 4  # one under: the last chunk settles


@pytest.mark.parametrize("seats", [1, 60])
def test_given_n_seats_whose_term_ended_when_swept_then_at_most_ceil_n_by_25_plus_5_requests(
    seats: int,
) -> None:
    measured = scenarios.Measured()
    scenarios.expire(measured, seats, handed_out=min(seats, 30), accepted=1)
    assert measured.over_budget() == [], measured.operations
    assert (
        measured.ddb_calls[f"expire_{seats}"] <= -(-seats // 25) + 2
    )  # the held seats, the chunks, the purchase


def test_given_20_due_seats_in_200_when_swept_then_items_read_follow_the_due_work_not_the_table() -> None:
    figures = scenarios.sweep_scale(
        due_purchases=2, seats_each=10, filler_seats=180, write_filler=write_with_batches(TEST_TABLE)
    )
    assert figures.table_seats == 200
    assert "Scan" not in figures.calls
    assert scenarios.sweep_within_target(figures), figures
    assert figures.items_read <= figures.due_purchases + 1  # one due-index item per purchase, plus the cursor


def test_given_the_counter_when_a_refused_request_is_made_then_it_still_counts(aws: Any) -> None:
    import boto3
    from botocore.exceptions import ClientError

    from tests.support.ddb_calls import counting

    with counting() as calls:
        with pytest.raises(ClientError):
            boto3.client("dynamodb").get_item(TableName="no-such-table", Key={"PK": {"S": "x"}})
        boto3.client("sesv2").list_email_identities()
    assert calls.names == ["GetItem"]
