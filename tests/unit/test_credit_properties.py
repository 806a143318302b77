"""Rule 8 as properties of `upgrades.quote_seat`: the quote a recipient sees for the seat they hold.

`tests/unit/test_money.py` covers the arithmetic (`money.credit`, `split_evenly`); these
go through the seats fulfilment writes (value split over the quantity with the discount
applied) and the tier and term checks the upgrade route applies.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta

import pytest
from giftplans import clock, money, terms, upgrades
from giftplans.errors import Conflict
from giftplans.settings import get as settings
from giftplans.store import keys as k
from giftplans.store import models as m
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

pytestmark = pytest.mark.usefixtures("settings")

STARTS = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2031, 12, 31), timezones=st.just(UTC)
)
UPGRADES = st.sampled_from([("connect", "pro"), ("connect", "team"), ("pro", "team")])


def seat(plan: str, value: int, start: datetime, seat_no: int = 1) -> m.Seat:
    end = terms.term_end(start)
    return m.Seat(
        k.purchase_pk("pur_" + "a" * 26),
        k.seat_sk(k.seat_id_of(seat_no)),
        purchase_id="pur_" + "a" * 26,
        seat_id=k.seat_id_of(seat_no),
        state="accepted",
        plan=plan,
        currency="usd",
        seat_value=value,
        term_start=clock.iso(start),
        term_end=clock.iso(end),
        term_end_ts=clock.epoch(end),
        buyer_id="b",
        buyer_email="b@example.com",
    )


def contains_29_february(start: datetime, end: datetime) -> bool:
    """Whether a 29 February falls after the term's first date and on or before its last."""
    return any(
        start.date() < date(year, 2, 29) <= end.date()
        for year in range(start.year, end.year + 1)
        if calendar.isleap(year)
    )


@given(
    start=STARTS,
    value=st.integers(min_value=0, max_value=10**7),
    pair=UPGRADES,
    elapsed=st.integers(min_value=0, max_value=366 * 24 * 60),
)
def test_given_any_held_seat_when_quoted_then_credit_bounded_and_amount_due_is_the_difference(
    start: datetime, value: int, pair: tuple[str, str], elapsed: int
) -> None:
    held = seat(pair[0], value, start)
    at = start + timedelta(minutes=elapsed)
    if at >= clock.parse_iso(held.term_end):
        with pytest.raises(Conflict) as refusal:
            upgrades.quote_seat(held, pair[1], at)
        assert refusal.value.code == "term_ended"
        return
    quote = upgrades.quote_seat(held, pair[1], at)
    target = settings().plans[pair[1]].amount
    assert 0 <= quote.credit <= value
    assert quote.target_price == target
    assert quote.amount_due == max(0, target - quote.credit)
    assert 0 <= quote.remaining_days <= quote.term_days


@given(
    start=STARTS,
    value=st.integers(min_value=1, max_value=10**7),
    first=st.integers(min_value=0, max_value=365 * 24),
    later=st.integers(min_value=0, max_value=365 * 24),
)
def test_given_held_seat_when_quote_moves_later_then_credit_never_grows(
    start: datetime, value: int, first: int, later: int
) -> None:
    held = seat("pro", value, start)
    end = clock.parse_iso(held.term_end)
    early, late = sorted((start + timedelta(hours=first), start + timedelta(hours=later)))
    if late >= end:
        return
    assert upgrades.quote_seat(held, "team", late).credit <= upgrades.quote_seat(held, "team", early).credit


@given(start=STARTS)
def test_given_any_term_when_quoted_then_term_days_is_366_exactly_when_it_spans_29_february(
    start: datetime,
) -> None:
    held = seat("pro", 24000, start)
    quote = upgrades.quote_seat(held, "team", start)
    assert quote.term_days in (365, 366)
    assert (quote.term_days == 366) == contains_29_february(start, clock.parse_iso(held.term_end))


def test_given_term_through_29_february_2028_when_quoted_on_its_first_day_then_366_days() -> None:
    start = datetime(2027, 3, 1, 12, tzinfo=UTC)
    quote = upgrades.quote_seat(seat("pro", 24000, start), "team", start)
    assert (quote.term_days, quote.remaining_days, quote.credit) == (366, 366, 24000)


@hsettings(max_examples=60)
@given(
    start=STARTS,
    quantity=st.integers(min_value=1, max_value=1000),
    unit=st.integers(min_value=0, max_value=100_000),
    discount_pct=st.integers(min_value=0, max_value=100),
)
def test_given_any_purchase_when_every_seat_quoted_on_day_one_then_credits_add_up_to_what_was_paid(
    start: datetime, quantity: int, unit: int, discount_pct: int
) -> None:
    subtotal = unit * quantity - (unit * quantity * discount_pct) // 100  # after discounts, before tax
    values = [money.seat_value(subtotal, quantity, n) for n in range(1, quantity + 1)]
    assert sum(values) == subtotal
    assert max(values) - min(values) <= 1
    sample = {1, quantity, (quantity + 1) // 2}  # the first, middle and last seats through the quote itself
    for n in sample:
        assert (
            upgrades.quote_seat(seat("connect", values[n - 1], start, n), "team", start).credit
            == values[n - 1]
        )


@given(
    start=STARTS,
    pair=st.sampled_from(
        [
            ("pro", "pro"),
            ("pro", "connect"),
            ("team", "pro"),
            ("team", "connect"),
            ("team", "team"),
            ("connect", "connect"),
        ]
    ),
)
def test_given_same_or_lower_tier_when_quoted_then_not_an_upgrade(
    start: datetime, pair: tuple[str, str]
) -> None:
    with pytest.raises(Conflict) as refusal:
        upgrades.quote_seat(seat(pair[0], 24000, start), pair[1], start)
    assert refusal.value.code == "not_an_upgrade"


def test_given_pro_seat_of_24000_when_quoted_to_team_100_days_later_then_17425_credit_30575_due() -> None:
    start = datetime(2026, 3, 1, 12, tzinfo=UTC)
    quote = upgrades.quote_seat(seat("pro", 24000, start), "team", start + timedelta(days=100))
    assert (quote.remaining_days, quote.term_days, quote.credit, quote.amount_due) == (265, 365, 17425, 30575)
