"""giftplans.contract: a route's declaration checks the request, shapes what the handler gets,
and (in tests) checks the answer."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from giftplans import contract as c
from giftplans.http import _describe

ROW = c.model(
    "Row",
    {"email": c.string(max_length=20)},
    {
        "send_at": c.string(format="date-time", nullable=True),
        "note": c.string(max_length=50, nullable=True, documented={"maxLength": 10}),
    },
)
BODY = c.model("Body", {"rows": c.array(ROW, min_items=1, max_items=3), "count": c.integer(minimum=1)})
ANSWER = c.model("Answer", {"ok": c.boolean()}, {"note": c.string(nullable=True)})


@dataclass
class Event:
    decoded_body: str | None = None
    query_string_parameters: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)


def contract(**overrides: Any) -> c.Contract:
    declared: dict[str, Any] = {
        "answers": ANSWER,
        "path": {"seat_id": c.string(pattern=r"^\d{4}$")},
        "query": {
            "limit": c.integer(minimum=1, maximum=100, default=20),
            "state": c.string(enum=["invited", "accepted"], nullable=True),
        },
        "headers": {"idempotency-key": c.string(max_length=5, nullable=True)},
        "body": BODY,
    }
    declared.update(overrides)
    return c.Contract(**declared)


def good_body(**changes: Any) -> dict[str, Any]:
    return {"rows": [{"email": "a@example.com"}], "count": 1} | changes


def refused(event: Event, path: dict[str, str] | None = None, **overrides: Any) -> tuple[int, str, list[Any]]:
    with pytest.raises(c.InvalidRequest) as raised:
        contract(**overrides).arguments(event, path or {"seat_id": "0001"})
    status, code, _, rows = _describe(raised.value.errors)
    return status, code, rows


def test_given_a_request_that_matches_when_read_then_the_handler_gets_each_value_by_name_with_defaults() -> (
    None
):
    event = Event(json.dumps(good_body()), {"state": "invited"}, {"idempotency-key": "k1"})

    got = contract().arguments(event, {"seat_id": "0001"})

    assert got == {
        "seat_id": "0001",
        "limit": 20,
        "state": "invited",
        "idempotency_key": "k1",
        "body": good_body(),
    }


def test_given_a_query_number_when_read_then_it_arrives_as_an_int_and_its_bounds_are_checked() -> None:
    assert (
        contract().arguments(Event(json.dumps(good_body()), {"limit": "7"}), {"seat_id": "0001"})["limit"]
        == 7
    )
    assert refused(Event(json.dumps(good_body()), {"limit": "0"}))[:2] == (422, "invalid_field")
    status, _, rows = refused(Event(json.dumps(good_body()), {"limit": "seven"}))
    assert (status, rows[0]["field"]) == (422, "query.limit")


def test_given_a_date_time_with_an_offset_when_read_then_the_handler_gets_an_aware_datetime() -> None:
    body = good_body(rows=[{"email": "a@example.com", "send_at": "2026-12-24t09:30:00+01:00"}])

    got = contract().arguments(Event(json.dumps(body)), {"seat_id": "0001"})["body"]["rows"][0]["send_at"]

    assert got == datetime(2026, 12, 24, 9, 30, tzinfo=timezone(timedelta(hours=1)))
    assert got.astimezone(UTC).hour == 8


@pytest.mark.parametrize("when", ["2026-12-24T09:30:00", "2026-12-24", "2026-12-31T23:59:60Z", "tomorrow"])
def test_given_a_date_time_without_a_zone_or_that_is_not_real_when_read_then_422_names_the_row(
    when: str,
) -> None:
    body = good_body(rows=[{"email": "a@example.com", "send_at": when}])

    status, code, rows = refused(Event(json.dumps(body)))

    assert (status, code, rows[0]["field"]) == (422, "invalid_field", "rows.0.send_at")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (good_body(count=2.0), "count"),  # a JSON number with a point is not a whole number here
        (good_body(count=True), "count"),
        (good_body(count="1"), "count"),
        (good_body(rows=[]), "rows"),
        (good_body(rows=[{"email": "a@example.com"}] * 4), "rows"),
        (good_body(rows=[{"email": "x" * 21}]), "rows.0.email"),
        (good_body(rows=[{"email": "a@example.com", "cc": "b"}]), "rows.0.cc"),
        (good_body(extra=1), "extra"),
        ({"rows": [{"email": "a@example.com"}]}, "count"),
    ],
)
def test_given_a_body_field_that_does_not_match_when_read_then_422_invalid_field_names_it(
    body: dict[str, Any], field: str
) -> None:
    status, code, rows = refused(Event(json.dumps(body)))

    assert (status, code, rows[0]["field"]) == (422, "invalid_field", field)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (None, "body_required"),
        ("", "body_required"),
        ("[1, 2]", "malformed_body"),
        ('"text"', "malformed_body"),
        ("{bad", "malformed_json"),
        ("1" * 5000, "malformed_json"),  # past Python's int-to-str limit: a ValueError, not a JSONDecodeError
        ("[" * 100_000, "malformed_json"),  # a RecursionError
    ],
)
def test_given_a_body_that_is_missing_or_not_an_object_when_read_then_400_with_its_code(
    text: str | None, code: str
) -> None:
    assert refused(Event(text))[:2] == (400, code)


def test_given_a_path_or_header_that_does_not_match_when_read_then_422_names_where_it_was() -> None:
    assert refused(Event(json.dumps(good_body())), {"seat_id": "12"})[2][0]["field"] == "path.seat_id"
    event = Event(json.dumps(good_body()), headers={"idempotency-key": "toolong"})
    assert refused(event)[2][0]["field"] == "header.idempotency-key"


def test_given_a_documented_limit_when_read_then_the_looser_checked_limit_applies() -> None:
    # the domain refuses notes over 10 itself, with a reason per row; the request check lets 50 pass
    body = good_body(rows=[{"email": "a@example.com", "note": "n" * 30}])

    assert contract().arguments(Event(json.dumps(body)), {"seat_id": "0001"})["body"] == body
    assert refused(Event(json.dumps(good_body(rows=[{"email": "a", "note": "n" * 51}]))))[0] == 422


def test_given_an_answer_when_checked_then_only_what_the_route_declares_passes() -> None:
    declared = contract()

    declared.check_answer({"ok": True, "note": None})
    for wrong in ({"ok": "yes"}, {"note": "x"}, {"ok": True, "secret": "leaked"}):
        with pytest.raises(c.AnswerMismatch):
            declared.check_answer(wrong)


def test_given_answers_by_status_when_checked_then_each_status_has_its_own_schema() -> None:
    @dataclass
    class Answer:
        status_code: int
        body: Any

    declared = contract(answers={200: ANSWER, 202: c.model("Later", {"queued": c.boolean()})})

    declared.check_answer(Answer(200, {"ok": True}))
    declared.check_answer(Answer(202, json.dumps({"queued": True})))
    for wrong in (Answer(202, {"ok": True}), Answer(201, {"ok": True})):
        with pytest.raises(c.AnswerMismatch):
            declared.check_answer(wrong)
