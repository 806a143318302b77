"""Invitation rows: which addresses are accepted before anything is written (rule 3, rule 11)."""

from __future__ import annotations

import pytest
from giftplans.errors import Invalid
from giftplans.invitations.addresses import Row, validate_rows


@pytest.mark.parametrize(
    "address",
    [
        "ana@example.com",
        "zoe+gift@bücher.de",
        "o'brien@example.co.uk",
        "a.b-c_d@sub.example.org",
        "yonghu@例子.公司",
    ],
)
def test_given_deliverable_address_when_validated_then_accepted(address):
    assert validate_rows([Row(address)]) == [Row(address)]


@pytest.mark.parametrize("address", ["josé@example.com", "zoë+gift@example.com", "用户@例子.公司"])
def test_given_a_non_ascii_local_part_when_validated_then_422_unsendable_email(address):
    """Issue 14: SES has no SMTPUTF8, so such an address could never be mailed (its domain may be IDN)."""
    with pytest.raises(Invalid) as refused:
        validate_rows([Row("ann@example.com"), Row(address)])
    assert [(r["index"], r["code"]) for r in refused.value.details["rows"]] == [(1, "unsendable_email")]


@pytest.mark.parametrize(
    "address",
    [
        "ana@example.com, eve@example.com",
        "ana@example.com;eve@example.com",
        "Ana <ana@example.com>",
        '"ana"@example.com',
        "ana@exa\x00mple.com",
        "ana\r\nBcc: eve@example.com",
        "ana@example",
        "ana@@example.com",
        "@example.com",
        "ana@.example.com",
    ],
)
def test_given_address_that_could_split_a_header_or_is_malformed_when_validated_then_422_row(address):
    with pytest.raises(Invalid) as refused:
        validate_rows([Row(address)])

    assert refused.value.code == "invalid_rows"
    assert refused.value.details["rows"][0]["code"] == "invalid_email"


@pytest.mark.parametrize("bad", ["\u202egnp.exe", "a\x00b", "hi\u2066there\u2069", "bell\x07", "\x9bcsi"])
def test_given_message_with_control_or_bidi_characters_when_validated_then_422_row(bad: str) -> None:
    with pytest.raises(Invalid) as refused:
        validate_rows([Row("ann@example.com", f"Happy birthday {bad}")])
    assert refused.value.details["rows"][0]["code"] == "invalid_message"


def test_given_message_with_newlines_tabs_and_accents_when_validated_then_accepted() -> None:
    [row] = validate_rows([Row("ann@example.com", "Liebe Jösé,\n\tviel Spaß! 🎉")])
    assert row.message == "Liebe Jösé,\n\tviel Spaß! 🎉"
