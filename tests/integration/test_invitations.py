"""Invite, revoke, resend, decline and preview through the real handlers (SPEC rules 3, 5, 10, 11, 13)."""

from __future__ import annotations

from datetime import timedelta

import boto3
import pytest
from giftplans import clock as real_clock
from giftplans import tokens
from giftplans.store import keys as k
from giftplans.store import models as m

from tests.conftest import TEST_TABLE
from tests.support import factories
from tests.support import gifts as g


@pytest.fixture
def pid(aws: None, clock: object) -> str:
    return factories.paid_purchase(quantity=3)


def _set(purchase_id: str, **fields: object) -> None:
    g.purchase(purchase_id).update(actions=[getattr(m.Purchase, k).set(v) for k, v in fields.items()])


# ---- invite ---------------------------------------------------------------------------------------------


def test_given_verified_buyer_when_invite_two_then_lowest_seats_are_invited_as_the_contract_says(
    pid: str,
) -> None:
    status, body = g.invite(
        pid, rows=[{"email": "Ann@Example.com", "message": "Enjoy!"}, {"email": "bob@example.com"}]
    )

    assert status == 201
    assert [(s["seat_id"], s["state"], s["recipient_email"]) for s in body["seats"]] == [
        ("0001", "invited", "Ann@Example.com"),
        ("0002", "invited", "bob@example.com"),
    ]
    seat = g.seat(pid, "0001")
    assert (seat.state, seat.last_action, seat.actor, seat.version, seat.resend_count) == (
        "invited",
        "invite",
        "buyer",
        2,
        0,
    )
    assert seat.message == "Enjoy!" and seat.invited_at == "2026-03-01T12:00:00Z"
    assert seat.nonce and seat.token_hash and seat.last_sent_ts == real_clock.epoch(real_clock.now())
    assert k.email_gsi(tokens.email_key("ann@example.com")) == seat.GSI3PK
    purchase = g.purchase(pid)
    assert purchase.seat_counts.as_dict()["available"] == 1 and purchase.seat_counts.invited == 2
    assert g.free_numbers(pid) == {3} and purchase.invite_version == 1 and purchase.last_action == "invite"
    assert set(g.live_holders(pid)) == {"0001", "0002"}
    events = [
        e
        for e in m.Item.query(k.purchase_pk(pid), m.Item.SK.startswith("EVENT#"))
        if isinstance(e, m.AuditEvent) and e.kind == "seat.invited"
    ]
    assert len(events) == 1 and events[0].actor == "buyer" and events[0].seat_ids == ["0001", "0002"]
    assert "ann@example.com" not in str(events[0].detail.as_dict()).lower()


def test_given_anothers_purchase_when_invite_revoke_resend_or_claim_then_404(pid: str) -> None:
    g.invite(pid, "ann@example.com")
    stranger = g.who("intruder", "intruder@example.com")

    assert g.invite(pid, "x@example.com", as_=stranger)[0] == 404
    assert g.seat_action(pid, "0001", "revoke", as_=stranger)[0] == 404
    assert g.seat_action(pid, "0001", "resend", as_=stranger)[0] == 404
    assert g.claim(pid, as_=stranger)[0] == 404
    assert g.seat(pid, "0001").state == "invited"


def test_given_unknown_purchase_when_invite_then_404_in_the_error_shape(aws: None, clock: object) -> None:
    status, body = g.invite("pur_aaaaaaaaaaaaaaaaaaaaaaaaaa", "ann@example.com")
    assert status == 404 and body["error"]["code"] == "purchase_not_found" and body["error"]["message"]


def test_given_unverified_non_subscriber_when_invite_then_403_email_not_verified(pid: str) -> None:
    status, body = g.invite(pid, "ann@example.com", as_=g.who(verified=False))
    assert (status, body["error"]["code"]) == (403, "email_not_verified")
    assert g.seat(pid, "0001").state == "available"


def test_given_unverified_buyer_with_active_plan_when_invite_then_allowed_directly(pid: str) -> None:
    m.Entitlement(
        k.account_pk(g.BUYER),
        k.ENTITLEMENT_SK,
        sub=g.BUYER,
        sub_plan="pro",
        sub_status="active",
        sub_term_end="2026-06-01T00:00:00Z",
        sub_term_end_ts=real_clock.epoch(real_clock.parse_iso("2026-06-01T00:00:00Z")),
        updated_at="x",
    ).save()
    assert g.invite(pid, "ann@example.com", as_=g.who(verified=False))[0] == 201


def test_given_unverified_buyer_whose_plan_term_passed_unswept_when_invite_then_403(pid: str) -> None:
    m.Entitlement(
        k.account_pk(g.BUYER),
        k.ENTITLEMENT_SK,
        sub=g.BUYER,
        plan="pro",
        source="gift",
        term_end="2026-03-01T11:59:59Z",
        term_end_ts=real_clock.epoch(real_clock.now()) - 1,
        ended=False,
        updated_at="x",
    ).save()
    assert g.invite(pid, "ann@example.com", as_=g.who(verified=False))[0] == 403


@pytest.mark.parametrize(
    ("status_field", "expected", "code"),
    [
        ({"status": "pending_payment"}, 409, "purchase_not_paid"),
        ({"status": "payment_failed"}, 409, "purchase_not_paid"),
        ({"status": "refunded"}, 409, "purchase_refunded"),
        ({"frozen": True}, 409, "purchase_frozen"),
    ],
)
def test_given_unusable_purchase_when_invite_then_409_with_a_sentence(
    pid: str, status_field: dict[str, object], expected: int, code: str
) -> None:
    _set(pid, **status_field)
    status, body = g.invite(pid, "ann@example.com")
    assert (status, body["error"]["code"]) == (expected, code)
    assert body["error"]["message"].endswith(".")


def test_given_term_ended_when_invite_then_410(pid: str, clock: object) -> None:
    real_clock.freeze(real_clock.parse_iso(g.purchase(pid).term_end) + timedelta(seconds=1))
    status, body = g.invite(pid, "ann@example.com")
    assert (status, body["error"]["code"]) == (410, "term_ended")


def test_given_1001_rows_when_invite_then_422_and_nothing_written(pid: str) -> None:
    status, body = g.invite(pid, *[f"p{i}@example.com" for i in range(1001)])
    assert (status, body["error"]["code"]) == (422, "too_many_invitations")
    assert g.purchase(pid).invite_version == 0


def test_given_no_rows_when_invite_then_422(pid: str) -> None:
    assert g.invite(pid)[0] == 422


def test_given_bad_and_duplicate_rows_when_invite_then_422_names_each_row_and_nothing_is_sent(
    pid: str,
) -> None:
    status, body = g.invite(pid, "ok@example.com", "not-an-address", "OK@example.com")

    assert (status, body["error"]["code"]) == (422, "invalid_rows")
    assert [(r["index"], r["code"]) for r in body["error"]["rows"]] == [
        (1, "invalid_email"),
        (2, "duplicate_in_request"),
    ]
    assert g.seat(pid, "0001").state == "available"


def test_given_buyers_own_address_when_invite_then_409_use_claim_instead(pid: str) -> None:
    status, body = g.invite(pid, "friend@example.com", "BUYER@example.com")
    assert (status, body["error"]["code"]) == (409, "use_claim_instead")
    assert body["error"]["rows"][0]["index"] == 1
    assert g.seat(pid, "0001").state == "available"


def test_given_address_already_invited_when_invited_again_in_other_case_then_409_until_revoked(
    pid: str,
) -> None:
    assert g.invite(pid, "ann@example.com")[0] == 201

    status, body = g.invite(pid, "ANN@example.com")
    assert (status, body["error"]["code"]) == (409, "already_invited")

    assert g.seat_action(pid, "0001", "revoke")[0] == 200
    assert g.invite(pid, "ann@example.com")[0] == 201


def test_given_address_that_accepted_when_invited_again_then_409(pid: str) -> None:
    g.invite(pid, "ann@example.com")
    assert g.accept(g.link(pid, "0001"), g.who("ann", "ann@example.com"))[0] == 200
    assert g.invite(pid, "ann@example.com")[1]["error"]["code"] == "already_invited"


def test_given_two_seats_left_when_inviting_three_then_409_no_seats_available_and_nothing_sent(
    pid: str,
) -> None:
    g.invite(pid, "a@example.com")
    status, body = g.invite(pid, "b@example.com", "c@example.com", "d@example.com")
    assert (status, body["error"]["code"]) == (409, "no_seats_available")
    assert g.purchase(pid).seat_counts.invited == 1


def test_given_daily_limit_when_exceeded_then_429_with_reset_time_and_next_day_allowed(
    aws: None, clock: object, monkeypatch: pytest.MonkeyPatch, settings: None
) -> None:
    monkeypatch.setenv("DAILY_INVITE_LIMIT", "3")
    pid = factories.paid_purchase(quantity=3)  # 3 seats paid: the limit stays 3
    assert g.invite(pid, "a@example.com", "b@example.com")[0] == 201
    assert g.seat_action(pid, "0001", "resend")[0] == 429  # too soon: not counted
    real_clock.freeze(real_clock.now() + timedelta(minutes=11))
    assert g.seat_action(pid, "0001", "resend")[0] == 202  # the third email today

    status, body = g.invite(pid, "c@example.com")

    assert (status, body["error"]["code"]) == (429, "daily_limit_reached")
    assert (
        body["error"]["resets_at"] == "2026-03-02T00:00:00Z"
        and "2026-03-02T00:00:00Z" in body["error"]["message"]
    )
    assert (body["error"]["remaining"], body["error"]["limit"]) == (0, 3)
    real_clock.freeze(real_clock.parse_iso("2026-03-02T00:00:00Z"))
    assert g.invite(pid, "c@example.com")[0] == 201


def test_given_daily_limit_when_exceeded_then_retry_after_header_is_set(
    aws: None, clock: object, monkeypatch: pytest.MonkeyPatch, settings: None
) -> None:
    from tests.support.apigw import FakeContext, http_event, load_handler

    monkeypatch.setenv("DAILY_INVITE_LIMIT", "2")
    pid = factories.paid_purchase(quantity=2)
    g.invite(pid, "a@example.com", "c@example.com")
    g.seat_action(pid, "0001", "revoke")
    event = http_event(
        "POST",
        f"/purchases/{pid}/invitations",
        route="/purchases/{purchase_id}/invitations",
        body={"invitations": [{"email": "b@example.com"}]},
        claims=g.who(),
        path_params={"purchase_id": pid},
    )
    response = load_handler("purchases_api").handler(event, FakeContext())
    assert response["statusCode"] == 429
    assert int(response["headers"]["Retry-After"]) == 12 * 3600


def test_given_invitations_when_the_raw_table_is_read_then_no_token_is_stored_anywhere(pid: str) -> None:
    g.invite(pid, "ann@example.com", "bob@example.com")
    live = [g.link(pid, "0001"), g.link(pid, "0002")]
    g.seat_action(pid, "0002", "revoke")
    dump = str(boto3.client("dynamodb").scan(TableName=TEST_TABLE)["Items"])
    for token in live:
        assert token not in dump
        assert token.rsplit(".", 1)[1] not in dump  # not even the MAC part


# ---- revoke ---------------------------------------------------------------------------------------------


def test_given_invited_seat_when_revoked_then_available_again_and_old_link_dies(pid: str) -> None:
    g.invite(pid, "ann@example.com")
    token = g.link(pid, "0001")

    status, body = g.seat_action(pid, "0001", "revoke")

    assert (status, body["seat"]["state"]) == (200, "available")
    seat = g.seat(pid, "0001")
    assert (seat.state, seat.last_action, seat.recipient_email, seat.nonce, seat.token_hash, seat.GSI3PK) == (
        "available",
        "revoke",
        None,
        None,
        None,
        None,
    )
    purchase = g.purchase(pid)
    assert g.free_numbers(pid) == {1, 2, 3} and g.live_holders(pid) == {}
    assert purchase.seat_counts.invited == 0 and purchase.seat_counts.as_dict()["available"] == 3
    assert g.preview(token)[1]["error"]["code"] == "invitation_revoked"
    assert g.accept(token, g.who("ann", "ann@example.com"))[0] == 410
    assert "seat.revoked" in g.audit_kinds(pid)


@pytest.mark.parametrize("state_setup", ["available", "accepted"])
def test_given_seat_not_invited_when_revoked_then_409(pid: str, state_setup: str) -> None:
    if state_setup == "accepted":
        g.invite(pid, "ann@example.com")
        g.accept(g.link(pid, "0001"), g.who("ann", "ann@example.com"))
    status, body = g.seat_action(pid, "0001", "revoke")
    assert (status, body["error"]["code"]) == (409, "seat_not_invited")


def test_given_malformed_seat_id_when_revoked_then_404(pid: str) -> None:
    assert g.seat_action(pid, "abc", "revoke")[0] == 404


# ---- resend ---------------------------------------------------------------------------------------------


def test_given_invited_seat_when_resent_then_202_fresh_link_and_old_link_dies(
    pid: str, clock: object
) -> None:
    g.invite(pid, "ann@example.com")
    old = g.link(pid, "0001")
    real_clock.freeze(real_clock.now() + timedelta(minutes=10))

    status, body = g.seat_action(pid, "0001", "resend")

    assert (status, body["seat"]["state"]) == (202, "invited")
    seat = g.seat(pid, "0001")
    assert (seat.resend_count, seat.last_action, seat.version) == (1, "resend", 3)
    new = g.link(pid, "0001")
    assert new != old
    assert g.preview(old)[1]["error"]["code"] == "invitation_revoked"
    assert g.preview(new)[0] == 200


def test_given_just_sent_when_resent_within_interval_then_429_resend_too_soon(
    pid: str, clock: object
) -> None:
    g.invite(pid, "ann@example.com")
    real_clock.freeze(real_clock.now() + timedelta(minutes=9, seconds=59))
    status, body = g.seat_action(pid, "0001", "resend")
    assert (status, body["error"]["code"]) == (429, "resend_too_soon")
    assert g.seat(pid, "0001").resend_count == 0


def test_given_five_resends_when_sixth_then_409_resend_limit_reached(pid: str, clock: object) -> None:
    g.invite(pid, "ann@example.com")
    for _ in range(5):
        real_clock.freeze(real_clock.now() + timedelta(minutes=10))
        assert g.seat_action(pid, "0001", "resend")[0] == 202
    real_clock.freeze(real_clock.now() + timedelta(minutes=10))
    status, body = g.seat_action(pid, "0001", "resend")
    assert (status, body["error"]["code"]) == (409, "resend_limit_reached")


def test_given_accepted_seat_when_resent_then_409(pid: str) -> None:
    g.invite(pid, "ann@example.com")
    g.accept(g.link(pid, "0001"), g.who("ann", "ann@example.com"))
    assert g.seat_action(pid, "0001", "resend")[1]["error"]["code"] == "seat_not_invited"


# ---- decline ----------------------------------------------------------------------------------------------


def test_given_link_when_declined_then_seat_available_buyer_told_and_link_dead(pid: str) -> None:
    g.invite(pid, "ann@example.com")
    token = g.link(pid, "0001")

    status, body = g.decline(token)

    assert (status, body["declined"]) == (200, True)
    seat = g.seat(pid, "0001")
    assert (seat.state, seat.last_action, seat.actor, seat.recipient_email) == (
        "available",
        "decline",
        "recipient",
        None,
    )
    assert g.free_numbers(pid) == {1, 2, 3}
    assert g.decline(token)[0] == 410
    assert "seat.declined" in g.audit_kinds(pid)


def test_given_accepted_link_when_declined_then_409(pid: str) -> None:
    g.invite(pid, "ann@example.com")
    token = g.link(pid, "0001")
    g.accept(token, g.who("ann", "ann@example.com"))
    assert g.decline(token)[0] == 409
    assert g.seat(pid, "0001").state == "accepted"


# ---- preview ----------------------------------------------------------------------------------------------


def test_given_link_when_previewed_without_auth_then_plan_sender_term_end_state_and_nothing_else(
    pid: str,
) -> None:
    g.invite(pid, "ann@example.com")
    status, body = g.preview(g.link(pid, "0001"))
    assert status == 200
    assert body == {
        "plan": "pro",
        "sender": g.BUYER_EMAIL,  # SPEC 8.4: a holder of a valid link sees the buyer's address
        "term_end": "2027-03-01T12:00:00Z",
        "state": "invited",
        "from_name": None,
        "from_email": g.BUYER_EMAIL,
        "message": None,
    }


def test_given_a_personal_message_when_previewed_then_the_accept_page_gets_it(pid: str) -> None:
    status, body = g.invite(pid, rows=[{"email": "ann@example.com", "message": "Happy birthday, Ann"}])
    assert status == 201, body
    assert g.preview(g.link(pid, "0001"))[1]["message"] == "Happy birthday, Ann"


def test_given_buyer_name_when_previewed_then_sender_is_the_name(pid: str) -> None:
    g.invite(pid, "ann@example.com")
    g.seat(pid, "0001").update(actions=[m.Seat.buyer_name.set("Bea Buyer")])
    assert g.preview(g.link(pid, "0001"))[1]["sender"] == "Bea Buyer"


def test_given_accepted_link_when_previewed_then_state_accepted(pid: str) -> None:
    g.invite(pid, "ann@example.com")
    token = g.link(pid, "0001")
    g.accept(token, g.who("ann", "ann@example.com"))
    assert g.preview(token) == (
        200,
        {
            "plan": "pro",
            "sender": g.BUYER_EMAIL,
            "term_end": "2027-03-01T12:00:00Z",
            "state": "accepted",
            "from_name": None,
            "from_email": g.BUYER_EMAIL,
            "message": None,
        },
    )


@pytest.mark.parametrize("mangle", ["garbage", "plan", "unknown_purchase"])
def test_given_malformed_or_tampered_token_when_previewed_then_404(pid: str, mangle: str) -> None:
    g.invite(pid, "ann@example.com")
    token = g.link(pid, "0001")
    if mangle == "garbage":
        token = "not-a-token"
    elif mangle == "plan":
        token = token.replace(".pro.", ".team.")
    else:
        token = "pur_aaaaaaaaaaaaaaaaaaaaaaaaaa" + token[len(pid) :]
    status, body = g.preview(token)
    assert (status, body["error"]["code"]) == (404, "invitation_not_found")


def test_given_term_ended_when_previewed_then_410_invitation_expired(pid: str) -> None:
    g.invite(pid, "ann@example.com")
    token = g.link(pid, "0001")
    real_clock.freeze(real_clock.parse_iso("2027-03-01T12:00:01Z"))
    status, body = g.preview(token)
    assert (status, body["error"]["code"]) == (410, "invitation_expired")


# ---- rule 13 (changed): as many a day as the seats paid for, if that is more -----------------------------


def test_given_1000_seats_paid_and_limit_200_when_all_are_invited_today_then_201_and_one_more_is_429(
    aws: None, clock: object, monkeypatch: pytest.MonkeyPatch, settings: None
) -> None:
    monkeypatch.setenv("DAILY_INVITE_LIMIT", "200")
    pid = factories.paid_purchase(quantity=1000)
    status, body = g.invite(pid, *[f"p{i}@example.com" for i in range(1000)])
    assert status == 201, body
    assert len(body["seats"]) == 1000
    assert g.seat_action(pid, "0001", "revoke")[0] == 200
    status, body = g.invite(pid, "late@example.com")
    assert (status, body["error"]["code"]) == (429, "daily_limit_reached")
    assert (body["error"]["remaining"], body["error"]["limit"]) == (0, 1000)


def test_given_seats_paid_over_two_purchases_when_limit_counted_then_both_count(
    aws: None, clock: object, monkeypatch: pytest.MonkeyPatch, settings: None
) -> None:
    monkeypatch.setenv("DAILY_INVITE_LIMIT", "2")
    first = factories.paid_purchase(quantity=2)
    second = factories.paid_purchase(quantity=2)  # 4 seats paid in all: the limit is 4
    assert g.invite(first, "a@example.com", "b@example.com")[0] == 201
    assert g.invite(second, "c@example.com")[0] == 201
    assert g.seat_action(first, "0001", "revoke")[0] == 200
    status, body = g.invite(second, "d@example.com")
    assert status == 201, body
    status, body = g.invite(first, "e@example.com")
    assert (status, body["error"]["code"]) == (429, "daily_limit_reached")
    assert (body["error"]["remaining"], body["error"]["limit"]) == (0, 4)


def test_given_limit_raised_by_seats_paid_when_resent_then_resend_is_held_to_the_same_limit(
    aws: None, clock: object, monkeypatch: pytest.MonkeyPatch, settings: None
) -> None:
    monkeypatch.setenv("DAILY_INVITE_LIMIT", "2")
    pid = factories.paid_purchase(quantity=4)  # limit 4
    assert g.invite(pid, "a@example.com", "b@example.com", "c@example.com")[0] == 201
    real_clock.freeze(real_clock.now() + timedelta(minutes=11))
    assert g.seat_action(pid, "0001", "resend")[0] == 202  # the 4th email: past 2, within 4
    real_clock.freeze(real_clock.now() + timedelta(minutes=11))
    status, body = g.seat_action(pid, "0002", "resend")
    assert (status, body["error"]["code"]) == (429, "daily_limit_reached")
    assert (body["error"]["remaining"], body["error"]["limit"]) == (0, 4)
