"""Term rules: one calendar year (29 Feb -> 28 Feb), UTC day counts, activity, milestones, shards."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from giftplans import terms
from hypothesis import given
from hypothesis import strategies as st

UTC_INSTANTS = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2200, 12, 31), timezones=st.just(UTC)
)


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- term_end / term_days ----------------------------------------------------------------


def test_given_march_purchase_when_computing_term_end_then_one_year_later_same_time() -> None:
    assert terms.term_end(_utc("2026-03-01T12:00:00")) == _utc("2027-03-01T12:00:00")


def test_given_leap_day_purchase_when_computing_term_end_then_ends_28_february() -> None:
    assert terms.term_end(_utc("2028-02-29T00:00:00")) == _utc("2029-02-28T00:00:00")
    assert terms.term_end(_utc("2028-02-29T23:59:59.500000")) == _utc("2029-02-28T23:59:59.500000")


def test_given_non_utc_offset_when_computing_term_end_then_result_is_utc() -> None:
    paris = timezone(timedelta(hours=1))
    start = datetime(2027, 1, 1, 0, 30, tzinfo=paris)  # 2026-12-31T23:30Z

    end = terms.term_end(start)

    assert end.tzinfo == UTC
    assert end == _utc("2027-12-31T23:30:00")


def test_given_naive_datetime_when_computing_term_end_then_value_error() -> None:
    with pytest.raises(ValueError):
        terms.term_end(datetime(2026, 3, 1, 12))


@pytest.mark.parametrize(
    ("start", "days"),
    [
        ("2026-03-01T12:00:00", 365),
        ("2027-03-01T00:00:00", 366),  # spans 29 Feb 2028
        ("2028-02-28T08:30:00", 366),  # spans 29 Feb 2028
        ("2028-02-29T00:00:00", 365),  # ends 28 Feb 2029
        ("2028-03-01T00:00:00", 365),
    ],
)
def test_given_term_when_counting_days_then_365_or_366(start: str, days: int) -> None:
    begin = _utc(start)

    assert terms.term_days(begin, terms.term_end(begin)) == days


@given(UTC_INSTANTS)
def test_given_any_instant_when_computing_term_end_then_one_calendar_year_later(start: datetime) -> None:
    end = terms.term_end(start)

    assert end.year == start.year + 1
    assert end.time() == start.time()
    assert end.tzinfo == UTC
    if (start.month, start.day) == (2, 29):
        assert (end.month, end.day) == (2, 28)
    else:
        assert (end.month, end.day) == (start.month, start.day)


@given(UTC_INSTANTS)
def test_given_any_term_when_counting_days_then_366_exactly_when_it_spans_a_leap_day(start: datetime) -> None:
    end = terms.term_end(start)
    leap_days = [date(year, 2, 29) for year in (start.year, end.year) if calendar.isleap(year)]
    # A term that starts on 29 February ends on 28 February: one day short of a leap year.
    starts_on_leap_day = (start.month, start.day) == (2, 29)
    spans_leap_day = not starts_on_leap_day and any(start.date() <= day < end.date() for day in leap_days)

    assert terms.term_days(start, end) == (366 if spans_leap_day else 365)


# --- remaining_days / days_left / is_active ----------------------------------------------


def test_given_quote_in_june_when_counting_remaining_then_265_days() -> None:
    end = _utc("2027-03-01T12:00:00")

    assert terms.remaining_days(end, _utc("2026-06-09T09:00:00")) == 265
    assert terms.days_left(end, _utc("2026-06-09T23:59:59")) == 265


def test_given_last_day_of_term_when_counting_remaining_then_zero_but_active() -> None:
    end = _utc("2027-03-01T12:00:00")
    at = end - timedelta(seconds=1)

    assert terms.remaining_days(end, at) == 0
    assert terms.is_active(end, at) is True


@pytest.mark.parametrize(
    "after", [timedelta(0), timedelta(seconds=1), timedelta(days=1), timedelta(days=800)]
)
def test_given_term_end_passed_when_checking_then_inactive_and_zero_days(after: timedelta) -> None:
    end = _utc("2027-03-01T12:00:00")

    assert terms.is_active(end, end + after) is False
    assert terms.remaining_days(end, end + after) == 0
    assert terms.days_left(end, end + after) == 0


def test_given_day_before_end_late_evening_when_counting_then_one_day() -> None:
    end = _utc("2027-03-01T00:00:01")

    assert terms.remaining_days(end, _utc("2027-02-28T23:59:59")) == 1
    assert terms.remaining_days(end, _utc("2027-03-01T00:00:00")) == 0


def test_given_offset_instant_when_counting_then_uses_utc_date() -> None:
    end = _utc("2027-03-10T12:00:00")
    tokyo_morning = datetime(2027, 3, 2, 8, 0, tzinfo=timezone(timedelta(hours=9)))  # 2027-03-01T23:00Z

    assert terms.remaining_days(end, tokyo_morning) == 9


@given(UTC_INSTANTS, st.timedeltas(min_value=timedelta(days=-800), max_value=timedelta(days=800)))
def test_given_any_instant_when_counting_then_never_negative_and_agrees_with_activity(
    start: datetime, offset: timedelta
) -> None:
    end = terms.term_end(start)
    at = start + offset

    days = terms.remaining_days(end, at)

    assert days >= 0
    assert days == terms.days_left(end, at)
    assert terms.is_active(end, at) is (at < end)
    if not terms.is_active(end, at):
        assert days == 0
    else:
        assert days == (end.date() - at.date()).days


@given(
    UTC_INSTANTS,
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)),
)
def test_given_later_instant_when_counting_then_remaining_never_grows(
    start: datetime, first: timedelta, later: timedelta
) -> None:
    end = terms.term_end(start)

    assert terms.remaining_days(end, start + first + later) <= terms.remaining_days(end, start + first)


# --- milestones ---------------------------------------------------------------------------


def test_given_term_end_when_listing_milestones_then_30_7_day_after_and_erasure_90_days_on() -> None:
    end = _utc("2027-03-01T12:00:00")

    assert terms.milestones(end) == [
        ("remind_30", "2027-01-30"),
        ("remind_7", "2027-02-22"),
        ("expire", "2027-03-02"),
        ("erase", "2027-05-30"),
    ]


@pytest.mark.parametrize(("days", "erase_on"), [(30, "2027-03-31"), (1, "2027-03-03"), (0, "2027-03-03")])
def test_given_erase_after_days_when_listing_milestones_then_erasure_then_and_never_before_a_day_after_expiry(
    days: int, erase_on: str
) -> None:
    assert terms.milestones(_utc("2027-03-01T12:00:00"), days)[-1] == ("erase", erase_on)


def test_given_leap_year_end_when_listing_milestones_then_counts_29_february() -> None:
    end = _utc("2028-03-01T00:00:00")

    assert terms.milestones(end) == [
        ("remind_30", "2028-01-31"),
        ("remind_7", "2028-02-23"),
        ("expire", "2028-03-02"),
        ("erase", "2028-05-30"),
    ]


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (None, ("remind_30", "2027-01-30")),
        ("remind_30", ("remind_7", "2027-02-22")),
        ("remind_7", ("expire", "2027-03-02")),
        ("expire", ("erase", "2027-05-30")),
        ("erase", None),
    ],
)
def test_given_milestone_when_asking_next_then_following_one(
    after: str | None, expected: tuple[str, str] | None
) -> None:
    assert terms.next_milestone(_utc("2027-03-01T12:00:00"), after) == expected


def test_given_unknown_kind_when_asking_next_then_value_error() -> None:
    with pytest.raises(ValueError):
        terms.next_milestone(_utc("2027-03-01T12:00:00"), "remind_1")


@given(UTC_INSTANTS)
def test_given_any_term_when_listing_milestones_then_ordered_and_chained(start: datetime) -> None:
    end = terms.term_end(start)

    steps = terms.milestones(end)

    assert [kind for kind, _ in steps] == ["remind_30", "remind_7", "expire", "erase"]
    days = [date.fromisoformat(day) for _, day in steps]
    assert days == sorted(days) and len(set(days)) == 4
    assert start.date() < days[0]
    assert days[-2] > end.date()  # the sweep expires only after term_end has surely passed
    assert days[-1] == end.date() + timedelta(days=90)  # and erases the recipients 90 days on
    chained: list[tuple[str, str]] = []
    step = terms.next_milestone(end, None)
    while step is not None:
        chained.append(step)
        step = terms.next_milestone(end, step[0])
    assert chained == steps


# --- due_shard ----------------------------------------------------------------------------


def test_given_purchase_id_when_sharding_then_stable_known_value() -> None:
    # Pinned values (sha256, not the per-process salted hash()): a change here re-shards every due item.
    assert terms.due_shard("pur_123", 16) == 11
    assert terms.due_shard("pur_abc", 16) == 11
    assert terms.due_shard("pur_123", 1000) == 595
    assert terms.due_shard("anything", 1) == 0


@pytest.mark.parametrize("shards", [0, -4])
def test_given_no_shards_when_sharding_then_value_error(shards: int) -> None:
    with pytest.raises(ValueError):
        terms.due_shard("pur_123", shards)


@given(st.text(min_size=1, max_size=40), st.integers(min_value=1, max_value=64))
def test_given_any_purchase_when_sharding_then_in_range(purchase_id: str, shards: int) -> None:
    assert 0 <= terms.due_shard(purchase_id, shards) < shards


def test_given_many_purchases_when_sharding_then_every_shard_is_used() -> None:
    used = {terms.due_shard(f"pur_{n:05d}", 8) for n in range(200)}

    assert used == set(range(8))
