"""Every reference vector in shared/vectors/money-and-time.json passes (SPEC rule 8).

The file lives outside the repository (`<clone>/../shared/vectors/`). It is found via
`GIFTPLANS_VECTORS` (the file, or a folder holding it), else by walking up from this
test, else at /work/shared. A missing file fails the run: it must never skip silently.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from giftplans import money, terms
from giftplans.clock import iso, parse_iso

VECTORS_NAME = "money-and-time.json"


def _candidates() -> list[Path]:
    found: list[Path] = []
    env = os.environ.get("GIFTPLANS_VECTORS")
    if env:
        given = Path(env)
        found += [
            given,
            given / VECTORS_NAME,
            given / "vectors" / VECTORS_NAME,
            given / "shared" / "vectors" / VECTORS_NAME,
        ]
    for folder in Path(__file__).resolve().parents:
        found += [folder / "shared" / "vectors" / VECTORS_NAME]
    found.append(Path("/work/shared/vectors") / VECTORS_NAME)
    return found


def _locate() -> Path | None:
    return next((path for path in _candidates() if path.is_file()), None)


def _load() -> dict[str, Any]:
    path = _locate()
    if path is None:
        return {}
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


VECTORS = _load()
# Parametrize with a sentinel when the file is missing, so the test below fails instead of collecting nothing.
_MISSING = [pytest.param(None, id="vectors-file-missing")]


def _params(section: str) -> list[Any]:
    rows = VECTORS.get(section)
    if not rows:
        return _MISSING
    return [pytest.param(row, id=f"{section}-{i}") for i, row in enumerate(rows)]


def _require(row: dict[str, Any] | None) -> dict[str, Any]:
    if row is None:
        pytest.fail(
            f"{VECTORS_NAME} not found (set GIFTPLANS_VECTORS); looked in: "
            + ", ".join(str(p) for p in _candidates())
        )
    return row


def test_given_vectors_file_when_located_then_it_has_every_section() -> None:
    assert _locate() is not None, f"{VECTORS_NAME} not found; set GIFTPLANS_VECTORS"
    for section in ("terms", "seat_value_splits", "quotes"):
        assert VECTORS.get(section), f"section {section!r} is empty or missing"


@pytest.mark.parametrize("row", _params("terms"))
def test_given_term_vector_when_computing_term_then_end_and_days_match(row: dict[str, Any] | None) -> None:
    row = _require(row)
    start = parse_iso(row["term_start"])

    end = terms.term_end(start)

    assert iso(end) == row["term_end"]
    assert end == parse_iso(row["term_end"])
    assert terms.term_days(start, end) == row["term_days"]


@pytest.mark.parametrize("row", _params("seat_value_splits"))
def test_given_split_vector_when_splitting_subtotal_then_seat_values_match(
    row: dict[str, Any] | None,
) -> None:
    row = _require(row)
    subtotal, quantity, expected = row["subtotal"], row["quantity"], row["seat_values"]
    assert len(expected) == quantity

    assert money.split_evenly(subtotal, quantity) == expected
    assert [money.seat_value(subtotal, quantity, n) for n in range(1, quantity + 1)] == expected


@pytest.mark.parametrize("row", _params("quotes"))
def test_given_quote_vector_when_quoting_then_every_field_matches(row: dict[str, Any] | None) -> None:
    row = _require(row)
    start, quoted_at = parse_iso(row["term_start"]), parse_iso(row["quoted_at"])
    end = terms.term_end(start)
    assert iso(end) == row["term_end"]

    result = money.quote(row["seat_value"], start, end, quoted_at, row["target_price"])

    assert result == money.Quote(
        active=row["active"],
        remaining_days=row["remaining_days"],
        term_days=row["term_days"],
        credit=row["credit"],
        amount_due=row["amount_due"],
        target_price=row["target_price"],
    )
    assert terms.is_active(end, quoted_at) is row["active"]
    if row["active"]:
        assert terms.remaining_days(end, quoted_at) == row["remaining_days"]
        assert money.credit(row["seat_value"], row["remaining_days"], row["term_days"]) == row["credit"]
    assert money.amount_due(row["target_price"], row["credit"]) == row["amount_due"]


@pytest.mark.parametrize("row", _params("seat_value_with_tax"))
def test_given_a_taxed_checkout_vector_when_read_then_seat_values_are_the_subtotal_after_discounts_before_tax(
    row: dict[str, Any] | None,
) -> None:
    """SPEC 8.6: the checkout's facts keep tax out of the seats' value (stripe_facts.gift_checkout)."""
    from giftplans.stripe_facts import Event, gift_checkout

    row = _require(row)
    session = {
        "id": "cs_test_tax",
        "mode": "payment",
        "currency": "usd",
        "amount_subtotal": row["amount_subtotal"],
        "amount_total": row["amount_total"],
        "total_details": {"amount_discount": row["amount_discount"], "amount_tax": row["amount_tax"]},
        "metadata": {
            "buyer_id": "b",
            "buyer_email": "b@example.com",
            "plan": "pro",
            "quantity": str(row["quantity"]),
        },
    }
    facts = gift_checkout(
        Event.of({"id": "evt_1", "type": "checkout.session.completed", "data": {"object": session}})
    )

    assert facts.amount_tax == row["amount_tax"] and facts.amount_total == row["amount_total"]
    assert money.split_evenly(facts.amount_subtotal, row["quantity"]) == row["seat_values"]
    assert [
        money.seat_value(facts.amount_subtotal, row["quantity"], n) for n in range(1, row["quantity"] + 1)
    ] == (row["seat_values"])
