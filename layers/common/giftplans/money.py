"""Money: integer minor units, exact arithmetic, no floats.

- A purchase's subtotal (after discounts, before tax) is split over its seats with the
  remainder minor units on the first seats: 100 over 3 is 34, 33, 33.
- An upgrade credits the gift's value for the rest of the term (SPEC rule 8):
  `credit = round_half_even(seat_value * remaining_days / term_days)` and
  `amount_due = max(0, target_price - credit)`. After the term has ended there is
  nothing to credit.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from giftplans import terms


def round_half_even(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded to the nearest integer, ties to even (exact)."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    quotient, remainder = divmod(numerator, denominator)  # floor division: 0 <= remainder < denominator
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2 == 1):
        return quotient + 1
    return quotient


def split_evenly(total: int, parts: int) -> list[int]:
    """`total` split into `parts` values differing by at most 1, the larger ones first."""
    if parts < 1:
        raise ValueError("parts must be at least 1")
    if total < 0:
        raise ValueError("total must not be negative")
    base, extra = divmod(total, parts)
    return [base + 1] * extra + [base] * (parts - extra)


def seat_value(subtotal: int, quantity: int, seat_no: int) -> int:
    """The value of 1-based seat `seat_no` under `split_evenly(subtotal, quantity)`, in O(1)."""
    if quantity < 1:
        raise ValueError("quantity must be at least 1")
    if subtotal < 0:
        raise ValueError("subtotal must not be negative")
    if not 1 <= seat_no <= quantity:
        raise ValueError(f"seat_no must be between 1 and {quantity}")
    base, extra = divmod(subtotal, quantity)
    return base + 1 if seat_no <= extra else base


def credit(seat_value: int, remaining_days: int, term_days: int) -> int:
    """The unused part of a seat's value, rounded half to even.

    `remaining_days` is clamped to [0, term_days] so the credit never goes negative
    nor above the seat's value.
    """
    if term_days <= 0:
        raise ValueError("term_days must be positive")
    if seat_value < 0:
        raise ValueError("seat_value must not be negative")
    days = min(max(remaining_days, 0), term_days)
    return round_half_even(seat_value * days, term_days)


def amount_due(target_price: int, credit: int) -> int:
    """What the recipient pays for the target plan after the credit; never negative."""
    return max(0, target_price - credit)


class Quote(NamedTuple):
    active: bool
    remaining_days: int
    term_days: int
    credit: int
    amount_due: int
    target_price: int


def quote(
    seat_value: int, term_start: datetime, term_end: datetime, quoted_at: datetime, target_price: int
) -> Quote:
    """The rule-8 numbers for upgrading a gifted seat at `quoted_at`.

    A term that has ended (`quoted_at >= term_end`) is inactive and credits nothing;
    on its last, partial day it is still active but `remaining_days` is 0.
    """
    days_in_term = terms.term_days(term_start, term_end)
    active = terms.is_active(term_end, quoted_at)
    remaining = terms.remaining_days(term_end, quoted_at)  # 0 once the term has ended
    owed_back = credit(seat_value, remaining, days_in_term)
    return Quote(
        active=active,
        remaining_days=remaining,
        term_days=days_in_term,
        credit=owed_back,
        amount_due=amount_due(target_price, owed_back),
        target_price=target_price,
    )
