"""Review findings on the seat rules (SPEC rules 11, 13 and section 4's "no 500 for client input")."""

from __future__ import annotations

import base64
import json
import unicodedata
from collections.abc import Mapping

import pytest

from tests.support import factories
from tests.support import gifts as g
from tests.support.apigw import call, http_event

ANN = g.who("ann-sub", "ann@example.com")


@pytest.fixture
def pid(aws: None, clock: object) -> str:
    return factories.paid_purchase(quantity=3)


def test_given_token_with_a_term_end_beyond_any_date_when_accepting_then_404_not_500(pid: str) -> None:
    token = f"{pid}.0001.pro.999999999999.AAAAAAAAAAAAAAAAAAAAAA"

    status, body = g.accept(token, ANN)

    assert (status, body["error"]["code"]) == (404, "invitation_not_found")


def _cursor(key: Mapping[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "tampered",
    [
        {"PK": "", "SK": "PURCHASE", "GSI1SK": "2026-03-01T12:00:00Z#pur_x"},  # DynamoDB: empty key value
        {"PK": "PURCHASE#pur_x", "SK": "PURCHASE", "GSI1SK": ""},
        {"PK": "PURCHASE#pur_x", "SK": "PURCHASE", "GSI1SK": "x" * 2000},  # over the sort key's 1024 bytes
        {"PK": "ACCOUNT#buyer-1", "SK": "PROFILE", "GSI1SK": "2026-03-01T12:00:00Z#pur_x"},
    ],
)
def test_given_tampered_cursor_key_values_when_listing_then_400_invalid_cursor(
    pid: str, tampered: dict[str, str]
) -> None:
    key = {"GSI1PK": {"S": "BUYER#buyer-1"}, **{k: {"S": v} for k, v in tampered.items()}}
    event = http_event(
        "GET", "/purchases", route="/purchases", claims=g.who(), query={"cursor": _cursor(key)}
    )

    status, body = call("purchases_api", event)

    assert (status, body["error"]["code"]) == (400, "invalid_cursor")


def test_given_daily_limit_below_the_request_size_when_first_count_of_the_day_then_429_and_nothing_sent(
    aws: None, clock: object, monkeypatch: pytest.MonkeyPatch, settings: None
) -> None:
    # Rule 13 lets a buyer send as many as the seats they paid for, so an invite cannot ask for
    # more than its limit; the counter's own guard (no counter yet: any n would pass) still holds.
    from giftplans import clock as real_clock
    from giftplans.errors import TooMany
    from giftplans.invitations.limits import count_sends
    from giftplans.store.writes import Steps

    monkeypatch.setenv("DAILY_INVITE_LIMIT", "2")
    steps = Steps()
    with pytest.raises(TooMany) as refused:
        count_sends(steps, "buyer-1", real_clock.now(), 3, 2)
    assert refused.value.code == "daily_limit_reached"
    assert steps.steps == []


def test_given_buyer_address_in_decomposed_unicode_when_invite_then_409_use_claim_instead(
    aws: None, clock: object
) -> None:
    composed = unicodedata.normalize("NFC", "jose@josé.example")  # SES sends to IDN domains only
    purchase_id = factories.paid_purchase(buyer_email=composed, quantity=2)
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed

    status, body = g.invite(purchase_id, decomposed, as_=g.who(email=composed))

    assert (status, body["error"]["code"]) == (409, "use_claim_instead")


def test_given_holder_address_in_another_unicode_form_when_invited_again_then_409_already_invited(
    pid: str,
) -> None:
    composed = unicodedata.normalize("NFC", "zoe@zoë.example")  # a non-ASCII local part is unsendable
    assert g.invite(pid, composed)[0] == 201

    status, body = g.invite(pid, unicodedata.normalize("NFD", composed).upper())

    assert (status, body["error"]["code"]) == (409, "already_invited")
