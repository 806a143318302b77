"""Money rules: exact banker's rounding, even splits, the upgrade credit and quote (SPEC rule 8)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from giftplans import money, terms
from hypothesis import given
from hypothesis import strategies as st

UTC_INSTANTS = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2200, 12, 31), timezones=st.just(UTC)
)


def _reference_half_even(numerator: int, denominator: int) -> int:
    exact = Fraction(numerator, denominator)
    return round(exact)  # Fraction.__round__ rounds half to even, exactly


# --- round_half_even -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        (0, 7, 0),
        (5, 2, 2),  # 2.5 -> 2 (even)
        (7, 2, 4),  # 3.5 -> 4 (even)
        (1, 2, 0),  # 0.5 -> 0
        (3, 2, 2),  # 1.5 -> 2
        (10, 4, 2),  # 2.5 -> 2
        (14, 4, 4),  # 3.5 -> 4
        (7, 3, 2),  # 2.33 -> 2
        (8, 3, 3),  # 2.67 -> 3
        (-5, 2, -2),  # -2.5 -> -2 (even)
        (-7, 2, -4),  # -3.5 -> -4 (even)
        (-7, 3, -2),  # -2.33 -> -2
        (-8, 3, -3),  # -2.67 -> -3
        (24000 * 265, 365, 17425),
    ],
)
def test_given_fraction_when_rounding_half_even_then_ties_go_to_even(
    numerator: int, denominator: int, expected: int
) -> None:
    assert money.round_half_even(numerator, denominator) == expected


@given(st.integers(min_value=-(10**15), max_value=10**15), st.integers(min_value=1, max_value=10**6))
def test_given_any_fraction_when_rounding_then_matches_exact_fraction_rounding(
    numerator: int, denominator: int
) -> None:
    assert money.round_half_even(numerator, denominator) == _reference_half_even(numerator, denominator)


@given(st.integers(min_value=-(10**30), max_value=10**30), st.integers(min_value=1, max_value=10**12))
def test_given_huge_numbers_when_rounding_then_no_float_precision_is_lost(
    numerator: int, denominator: int
) -> None:
    result = money.round_half_even(numerator, denominator)
    assert abs(Fraction(numerator, denominator) - result) <= Fraction(1, 2)


@pytest.mark.parametrize("denominator", [0, -1])
def test_given_non_positive_denominator_when_rounding_then_value_error(denominator: int) -> None:
    with pytest.raises(ValueError):
        money.round_half_even(1, denominator)


# --- split_evenly / seat_value -----------------------------------------------------------


def test_given_100_over_3_when_splitting_then_remainder_on_first_seat() -> None:
    assert money.split_evenly(100, 3) == [34, 33, 33]


def test_given_fewer_units_than_seats_when_splitting_then_trailing_seats_are_zero() -> None:
    assert money.split_evenly(2, 5) == [1, 1, 0, 0, 0]


@pytest.mark.parametrize(("total", "parts"), [(10, 0), (10, -1), (-1, 3)])
def test_given_invalid_split_when_splitting_then_value_error(total: int, parts: int) -> None:
    with pytest.raises(ValueError):
        money.split_evenly(total, parts)


@pytest.mark.parametrize(
    ("subtotal", "quantity", "seat_no"), [(100, 3, 0), (100, 3, 4), (100, 0, 1), (-1, 3, 1)]
)
def test_given_out_of_range_seat_when_valuing_then_value_error(
    subtotal: int, quantity: int, seat_no: int
) -> None:
    with pytest.raises(ValueError):
        money.seat_value(subtotal, quantity, seat_no)


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=1, max_value=1000))
def test_given_any_subtotal_when_splitting_then_sums_to_total_and_larger_first(
    total: int, parts: int
) -> None:
    values = money.split_evenly(total, parts)

    assert len(values) == parts
    assert sum(values) == total
    assert max(values) - min(values) <= 1
    assert values == sorted(values, reverse=True)


@given(st.data(), st.integers(min_value=0, max_value=10**9), st.integers(min_value=1, max_value=1000))
def test_given_any_seat_when_valuing_then_matches_split(
    data: st.DataObject, subtotal: int, quantity: int
) -> None:
    seat_no = data.draw(st.integers(min_value=1, max_value=quantity))

    assert (
        money.seat_value(subtotal, quantity, seat_no) == money.split_evenly(subtotal, quantity)[seat_no - 1]
    )


# --- credit / amount_due ------------------------------------------------------------------


def test_given_full_term_left_when_crediting_then_whole_seat_value() -> None:
    assert money.credit(24000, 365, 365) == 24000


def test_given_no_days_left_when_crediting_then_zero() -> None:
    assert money.credit(24000, 0, 365) == 0


def test_given_exact_half_cent_when_crediting_then_rounds_to_even() -> None:
    # 1 * 1 / 2 = 0.5 -> 0; 3 * 1 / 2 = 1.5 -> 2
    assert money.credit(1, 1, 2) == 0
    assert money.credit(3, 1, 2) == 2


def test_given_remaining_beyond_term_when_crediting_then_capped_at_seat_value() -> None:
    assert money.credit(24000, 400, 365) == 24000
    assert money.credit(24000, -3, 365) == 0


def test_given_zero_term_days_when_crediting_then_value_error() -> None:
    with pytest.raises(ValueError):
        money.credit(24000, 0, 0)


@pytest.mark.parametrize(
    ("price", "credit", "due"),
    [(48000, 17425, 30575), (24000, 24000, 0), (24000, 30000, 0), (48000, 0, 48000)],
)
def test_given_credit_when_computing_amount_due_then_never_negative(
    price: int, credit: int, due: int
) -> None:
    assert money.amount_due(price, credit) == due


@given(
    st.integers(min_value=0, max_value=10**8),
    st.integers(min_value=-10, max_value=400),
    st.sampled_from([365, 366]),
)
def test_given_any_seat_when_crediting_then_between_zero_and_seat_value(
    value: int, remaining: int, days: int
) -> None:
    result = money.credit(value, remaining, days)

    assert 0 <= result <= value


# --- quote --------------------------------------------------------------------------------


def test_given_pro_seat_bought_march_when_quoting_team_in_june_then_worked_example() -> None:
    # Pro seat 24000 bought 2026-03-01T12:00Z, quoted to Team 48000 on 2026-06-09.
    start = datetime(2026, 3, 1, 12, tzinfo=UTC)
    end = terms.term_end(start)

    result = money.quote(24000, start, end, datetime(2026, 6, 9, 9, tzinfo=UTC), 48000)

    assert result == money.Quote(
        active=True, remaining_days=265, term_days=365, credit=17425, amount_due=30575, target_price=48000
    )


def test_given_quote_when_mutating_then_frozen() -> None:
    start = datetime(2026, 3, 1, 12, tzinfo=UTC)
    result = money.quote(24000, start, terms.term_end(start), start, 48000)

    with pytest.raises(AttributeError):  # a frozen dataclass's FrozenInstanceError is one too
        result.credit = 0  # type: ignore[misc]


def test_given_last_second_of_term_when_quoting_then_active_but_nothing_to_credit() -> None:
    start = datetime(2026, 3, 1, 12, tzinfo=UTC)
    end = terms.term_end(start)

    result = money.quote(24000, start, end, end - timedelta(seconds=1), 48000)

    assert (result.active, result.remaining_days, result.credit, result.amount_due) == (True, 0, 0, 48000)


@pytest.mark.parametrize("after", [timedelta(0), timedelta(seconds=1), timedelta(days=400)])
def test_given_term_ended_when_quoting_then_inactive_and_full_price(after: timedelta) -> None:
    start = datetime(2026, 3, 1, 12, tzinfo=UTC)
    end = terms.term_end(start)

    result = money.quote(24000, start, end, end + after, 48000)

    assert (result.active, result.remaining_days, result.credit, result.amount_due) == (False, 0, 0, 48000)
    assert result.term_days == 365


@given(
    start=UTC_INSTANTS,
    first=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)),
    later=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)),
    value=st.integers(min_value=0, max_value=10**7),
    price=st.integers(min_value=0, max_value=10**7),
)
def test_given_any_term_when_quote_date_moves_later_then_credit_never_grows(
    start: datetime, first: timedelta, later: timedelta, value: int, price: int
) -> None:
    end = terms.term_end(start)

    earlier_quote = money.quote(value, start, end, start + first, price)
    later_quote = money.quote(value, start, end, start + first + later, price)

    for q in (earlier_quote, later_quote):
        assert 0 <= q.credit <= value
        assert q.amount_due == max(0, price - q.credit)
        assert q.target_price == price
        assert q.term_days in (365, 366)
    assert later_quote.credit <= earlier_quote.credit
    assert later_quote.remaining_days <= earlier_quote.remaining_days


@given(start=UTC_INSTANTS, value=st.integers(min_value=0, max_value=10**7))
def test_given_quote_at_purchase_instant_when_quoting_then_whole_seat_value_is_credited(
    start: datetime, value: int
) -> None:
    end = terms.term_end(start)

    result = money.quote(value, start, end, start, 0)

    assert result.active is True
    assert result.remaining_days == result.term_days
    assert result.credit == value
