"""The service's own email verification (SPEC rule 3: a non-subscriber invites only once verified)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import boto3
import pytest
from giftplans import clock as real_clock
from giftplans import tokens
from giftplans.store import keys as k
from giftplans.store import models as m

from tests.conftest import TEST_TABLE
from tests.support import factories
from tests.support import gifts as g
from tests.support.apigw import call, http_event

UNVERIFIED = g.who(verified=False)


def ask(as_: dict[str, str] = UNVERIFIED) -> tuple[int, Any]:
    return call("me_api", http_event("POST", "/me/email-verification", claims=as_))


def confirm(token: str, as_: dict[str, str] = UNVERIFIED) -> tuple[int, Any]:
    return call(
        "me_api", http_event("POST", "/me/email-verification/confirm", body={"token": token}, claims=as_)
    )


def profile() -> m.Profile:
    return m.Profile.get(k.account_pk(g.BUYER), k.PROFILE_SK, consistent_read=True)


def link_token() -> str:
    return tokens.verification_token(g.BUYER, str(profile().verify_nonce))


@pytest.fixture
def env(aws: None, clock: object) -> None:
    return None


def test_given_signed_in_when_verification_asked_then_202_and_the_profile_holds_nonce_and_hash_only(
    env: None,
) -> None:
    status, body = ask()

    assert status == 202 and body["sent"] is True and "buyer@example.com" not in str(body)
    p = profile()
    assert (p.verify_email, p.last_action, p.version) == (g.BUYER_EMAIL, "verify", 1)
    assert p.verify_nonce and p.verify_hash == tokens.hash_secret(link_token())
    assert link_token() not in str(boto3.client("dynamodb").scan(TableName=TEST_TABLE)["Items"])


def test_given_a_link_just_sent_when_asked_again_within_a_minute_then_429_then_allowed(env: None) -> None:
    assert ask()[0] == 202
    real_clock.freeze(real_clock.now() + timedelta(seconds=30))
    status, body = ask()
    assert (status, body["error"]["code"]) == (429, "verification_too_soon")
    real_clock.freeze(real_clock.now() + timedelta(seconds=30))
    assert ask()[0] == 202


def test_given_link_when_confirmed_then_verified_and_unverified_buyer_may_invite(env: None) -> None:
    pid = factories.paid_purchase(quantity=2)
    assert g.invite(pid, "ann@example.com", as_=UNVERIFIED)[0] == 403
    ask()

    assert confirm(link_token()) == (200, {"verified": True})

    assert profile().verified_email == "buyer@example.com"
    assert g.invite(pid, "ann@example.com", as_=UNVERIFIED)[0] == 201


def test_given_wrong_token_when_confirming_then_422_invalid_token(env: None) -> None:
    ask()
    status, body = confirm("wrong-token")
    assert (status, body["error"]["code"]) == (422, "invalid_token")
    assert profile().verified_email is None


def test_given_an_older_link_when_a_newer_was_asked_then_the_older_is_invalid(env: None) -> None:
    ask()
    old = link_token()
    real_clock.freeze(real_clock.now() + timedelta(minutes=2))
    ask()
    assert confirm(old)[0] == 422
    assert confirm(link_token())[0] == 200


def test_given_link_for_another_address_when_confirmed_under_a_new_address_then_422(env: None) -> None:
    ask()
    assert confirm(link_token(), g.who(email="changed@example.com", verified=False))[0] == 422


def test_given_day_old_link_when_confirmed_then_422(env: None) -> None:
    ask()
    real_clock.freeze(real_clock.now() + timedelta(days=1, seconds=1))
    assert confirm(link_token())[0] == 422


def test_given_no_email_claim_when_verification_asked_then_422(env: None) -> None:
    status, body = ask(g.who(email=None, verified=False))
    assert (status, body["error"]["code"]) == (422, "email_missing")


def me(as_: dict[str, str]) -> tuple[int, object]:
    return call("me_api", http_event("GET", "/me", claims=as_))


def test_given_an_unverified_sign_in_when_the_service_confirms_then_get_me_says_verified(env: None) -> None:
    assert me(UNVERIFIED) == (200, {"sub": g.BUYER, "email": g.BUYER_EMAIL, "email_verified": False})
    ask()
    confirm(link_token())
    assert me(UNVERIFIED) == (200, {"sub": g.BUYER, "email": g.BUYER_EMAIL, "email_verified": True})


def test_given_a_verified_claim_or_no_identity_when_get_me_then_claim_answers_or_401(env: None) -> None:
    assert me(g.who()) == (200, {"sub": g.BUYER, "email": g.BUYER_EMAIL, "email_verified": True})
    assert call("me_api", http_event("GET", "/me"))[0] == 401


def test_given_another_address_was_verified_when_get_me_then_not_verified(env: None) -> None:
    ask()
    confirm(link_token())
    other = g.who(email="someone-else@example.com", verified=False)
    assert me(other) == (200, {"sub": g.BUYER, "email": "someone-else@example.com", "email_verified": False})
