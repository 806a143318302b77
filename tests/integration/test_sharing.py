"""Share it yourself (SPEC 8.2, issue 16 item 2): a single-use link the buyer passes on, via the handlers."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any
from urllib.parse import parse_qs, urlparse

import boto3
import pytest
from giftplans import tokens
from giftplans.outbox.notices import notices_for
from giftplans.store import keys as k
from giftplans.store import models as m

from tests.conftest import TEST_TABLE
from tests.integration.test_scheduled_delivery import seat_json
from tests.support import factories
from tests.support import gifts as g
from tests.support.apigw import call, claims, http_event
from tests.support.streams import record

pytestmark = pytest.mark.usefixtures("aws", "clock")

ANN = claims("sub-ann", "ann@example.com")
BOB = claims("sub-bob", "bob@example.com")


@pytest.fixture
def pid() -> str:
    return factories.paid_purchase(quantity=3)


def share(purchase_id: str, seat_id: str, *, as_: dict[str, str] | None = None) -> tuple[int, Any]:
    return g.seat_action(purchase_id, seat_id, "link", as_=as_)


def token_of(url: str) -> str:
    return parse_qs(urlparse(url).query)["token"][0]


def shared_link(purchase_id: str, seat_id: str) -> str:
    status, body = share(purchase_id, seat_id)
    assert status == 201, body
    return token_of(body["url"])


def table_text() -> str:
    items = boto3.client("dynamodb", region_name="us-east-1").scan(TableName=TEST_TABLE)["Items"]
    return json.dumps(items)


def detail(purchase_id: str) -> tuple[int, Any]:
    return call(
        "purchases_api",
        http_event(
            "GET",
            f"/purchases/{purchase_id}",
            route="/purchases/{purchase_id}",
            claims=g.who(),
            path_params={"purchase_id": purchase_id},
            query={"include": "events"},
        ),
    )


# ---- share --------------------------------------------------------------------------------------------


def test_given_an_available_seat_when_shared_then_201_invited_without_address_and_nothing_mailed(
    pid: str,
) -> None:
    before = g.seat(pid, "0002")

    status, body = share(pid, "0002")

    assert status == 201, body
    assert set(body) == {"seat", "url"}
    seat = body["seat"]
    assert (seat["seat_id"], seat["state"], seat["recipient_email"], seat["shared"]) == (
        "0002",
        "invited",
        None,
        True,
    )
    assert seat["shared_at"] == "2026-03-01T12:00:00Z"
    assert body["url"].startswith("http") and "/accept?token=" in body["url"]
    stored = g.seat(pid, "0002")
    assert (stored.state, stored.shared, stored.recipient_email) == ("invited", True, None)
    assert stored.GSI3PK is None
    assert stored.nonce is None  # no mailer rebuilds a shared link: only the MAC's hash is kept
    token = tokens.parse_invite_token(token_of(body["url"]))
    assert token is not None and stored.token_hash == token.mac_hash
    assert token.mac_hash not in set(stored.link_hashes or ())
    assert g.free_numbers(pid) == {1, 3}  # seat 0002 left the fresh run as one of its holes
    assert g.purchase(pid).seat_counts.invited == 1 and g.live_holders(pid) == {}
    notices = notices_for(record(before, stored))
    assert [n.email for n in notices if n.email] == []  # nothing is mailed
    assert [n.kind for n in notices] == ["seat.shared"]
    assert "seat.shared" in g.audit_kinds(pid)


def test_given_a_shared_link_when_the_table_is_scanned_then_the_secret_is_nowhere_only_its_hash(
    pid: str,
) -> None:
    token = tokens.parse_invite_token(shared_link(pid, "0001"))
    assert token is not None

    text = table_text()

    assert token.mac not in text and str(token) not in text
    assert token.mac_hash in text


def test_given_a_shared_link_when_purchase_read_logged_and_announced_then_the_url_appears_in_none(
    pid: str,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = g.seat(pid, "0001")
    caplog.set_level(logging.DEBUG)
    for name in ["gift-plans", "giftplans", *logging.Logger.manager.loggerDict]:  # Powertools: stdout
        if name.startswith(("gift-plans", "giftplans")):
            logger = logging.getLogger(name)
            monkeypatch.setattr(logger, "handlers", [*logger.handlers, caplog.handler])
    status, body = share(pid, "0001")
    url, mac = body["url"], token_of(body["url"]).rsplit(".", 1)[1]
    after = g.seat(pid, "0001")

    status, read = detail(pid)

    assert status == 200
    assert mac not in json.dumps(read) and url not in json.dumps(read)
    assert next(s for s in read["seats"] if s["seat_id"] == "0001")["shared"] is True
    assert caplog.text and mac not in caplog.text and mac not in capsys.readouterr().out
    events = [n.event for n in notices_for(record(before, after)) if n.event]
    assert events and mac not in json.dumps([e.detail for e in events])
    assert "email" not in json.dumps([e.detail for e in events])


def test_given_a_seat_not_available_when_shared_then_409_and_nothing_changes(pid: str) -> None:
    g.invite(pid, "ann@example.com")  # seat 0001 invited by email

    status, body = share(pid, "0001")

    assert (status, body["error"]["code"]) == (409, "seat_not_available")
    assert g.seat(pid, "0001").shared is None


def test_given_another_buyer_or_no_such_seat_when_shared_then_404(pid: str) -> None:
    assert share(pid, "0001", as_=claims("buyer-2", "other@example.com"))[0] == 404
    status, body = share(pid, "0009")
    assert (status, body["error"]["code"]) == (404, "seat_not_found")
    assert share(pid, "12ab")[0] == 404


def test_given_an_unverified_non_subscriber_buyer_when_shared_then_403(pid: str) -> None:
    status, body = share(pid, "0001", as_=claims(g.BUYER, g.BUYER_EMAIL, verified=False))
    assert (status, body["error"]["code"]) == (403, "email_not_verified")


def test_given_the_daily_limit_all_but_reached_when_two_are_shared_then_the_second_is_429(pid: str) -> None:
    """Rule 13: a share counts as an invitation sent (the day's counter goes up by one)."""
    from giftplans.invitations.limits import daily_limit

    limit = daily_limit(m.Profile.get(k.account_pk(g.BUYER), k.PROFILE_SK) if _has_profile() else None)
    counter = m.InviteCounter(k.account_pk(g.BUYER), k.invites_sk("2026-03-01"))
    counter.update(actions=[m.InviteCounter.sent.set(limit - 1), m.InviteCounter.type.set(m.InviteCounter)])

    assert share(pid, "0001")[0] == 201  # the last one of the day
    status, body = share(pid, "0002")

    assert (status, body["error"]["code"]) == (429, "daily_limit_reached")
    assert body["error"]["remaining"] == 0
    assert g.seat(pid, "0002").state == "available"
    assert int(m.InviteCounter.get(counter.PK, counter.SK).sent) == limit


def _has_profile() -> bool:
    return m.Profile.count(k.account_pk(g.BUYER), m.Profile.SK == k.PROFILE_SK) > 0


# ---- accept -------------------------------------------------------------------------------------------


def test_given_a_shared_link_when_any_verified_account_accepts_then_its_address_becomes_the_recipient(
    pid: str,
) -> None:
    token = shared_link(pid, "0001")
    status, preview = g.preview(token)
    assert status == 200 and "recipient" not in json.dumps(preview) and "ann@" not in json.dumps(preview)

    status, body = g.accept(token, ANN)

    assert status == 200, body
    assert body["entitlement"]["active"] is True and body["entitlement"]["source"] == "gift"
    seat = g.seat(pid, "0001")
    assert (seat.state, seat.recipient_email) == ("accepted", "ann@example.com")
    assert seat.recipient_sub == "sub-ann"
    assert k.email_gsi(tokens.email_key("ann@example.com")) == seat.GSI3PK
    assert g.live_holders(pid) == {"0001": tokens.email_key("ann@example.com")}
    assert g.free_numbers(pid) == {2, 3}


def test_given_a_shared_link_when_accepted_then_its_entitlement_names_the_sender_as_my_plan_does(
    pid: str,
) -> None:
    token = shared_link(pid, "0001")

    status, body = g.accept(token, ANN)

    assert status == 200, body
    assert body["entitlement"]["gift_from"] == "b***@e***.com"
    assert body["entitlement"] == g.entitlement(ANN)[1]


def test_given_a_shared_link_accept_that_loses_a_race_when_retried_then_it_still_names_the_sender(
    pid: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from giftplans.store.table import Store
    from giftplans.store.writes import CONFLICT, Reason, Refused

    token = shared_link(pid, "0001")
    real, writes = Store.write, {"n": 0}

    def second_conflicts(self: Store, build: Any) -> Any:  # the shared accept's own write loses a race
        writes["n"] += 1
        if writes["n"] == 2:
            raise Refused(["seat"], [Reason(CONFLICT, None)])
        return real(self, build)

    monkeypatch.setattr(Store, "write", second_conflicts)
    status, body = g.accept(token, ANN)
    monkeypatch.setattr(Store, "write", real)

    assert status == 200, body
    assert writes["n"] > 2  # it was retried
    assert body["entitlement"]["gift_from"] == "b***@e***.com"
    assert body["entitlement"] == g.entitlement(ANN)[1]


def test_given_a_used_shared_link_when_accepted_again_then_404_single_use(pid: str) -> None:
    token = shared_link(pid, "0001")
    assert g.accept(token, ANN)[0] == 200

    status, body = g.accept(token, BOB)

    assert (status, body["error"]["code"]) == (404, "invitation_not_found")
    assert g.preview(token)[0] == 404
    assert g.seat(pid, "0001").recipient_sub == "sub-ann"


def test_given_an_unverified_account_when_it_accepts_a_shared_link_then_403(pid: str) -> None:
    token = shared_link(pid, "0001")
    status, body = g.accept(token, claims("sub-x", "x@example.com", verified=False))
    assert (status, body["error"]["code"]) == (403, "email_not_verified")
    assert g.seat(pid, "0001").state == "invited"


def test_given_an_address_holding_a_seat_when_it_accepts_a_shared_link_then_409_rule_11(pid: str) -> None:
    g.invite(pid, "ann@example.com")  # 0001 to ann
    token = shared_link(pid, "0002")

    status, body = g.accept(token, ANN)

    assert (status, body["error"]["code"]) == (409, "already_invited")
    assert g.seat(pid, "0002").state == "invited" and g.seat(pid, "0002").recipient_email is None
    assert g.accept(token, BOB)[0] == 200  # the link still works for someone else


def test_given_an_accepted_seat_when_its_holder_accepts_a_shared_link_then_409_rule_11(pid: str) -> None:
    first = shared_link(pid, "0001")
    assert g.accept(first, ANN)[0] == 200
    second = shared_link(pid, "0002")

    status, body = g.accept(second, claims("sub-ann-2", "ANN@example.com"))

    assert (status, body["error"]["code"]) == (409, "already_invited")


def test_given_the_buyer_when_they_accept_their_own_shared_link_then_409_use_claim_instead(pid: str) -> None:
    token = shared_link(pid, "0001")

    status, body = g.accept(token, g.who())
    assert (status, body["error"]["code"]) == (409, "use_claim_instead")
    status, body = g.accept(token, claims("buyer-other-login", g.BUYER_EMAIL))
    assert (status, body["error"]["code"]) == (409, "use_claim_instead")
    assert g.seat(pid, "0001").state == "invited"


def test_given_two_accounts_racing_on_one_shared_link_then_exactly_one_wins(pid: str) -> None:
    token = shared_link(pid, "0001")
    answers: list[tuple[int, Any]] = []
    start = threading.Barrier(2)

    def take(who: dict[str, str]) -> None:
        start.wait()
        answers.append(g.accept(token, who))

    threads = [threading.Thread(target=take, args=(who,)) for who in (ANN, BOB)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    statuses = sorted(status for status, _ in answers)
    assert statuses[0] == 200 and statuses[1] in (404, 409, 410), answers
    seat = g.seat(pid, "0001")
    assert seat.state == "accepted" and seat.recipient_sub in ("sub-ann", "sub-bob")
    assert g.purchase(pid).seat_counts.accepted == 1


def test_given_a_shared_link_when_declined_then_the_seat_is_available_and_the_link_dead(pid: str) -> None:
    token = shared_link(pid, "0002")

    status, _ = g.decline(token)

    assert status == 200
    seat = g.seat(pid, "0002")
    assert (seat.state, seat.shared, seat.token_hash) == ("available", None, None)
    assert g.free_numbers(pid) == {1, 2, 3}  # back into the fresh run: the hole counted off, no marker
    assert g.accept(token, ANN)[0] == 404


# ---- revoke and resend --------------------------------------------------------------------------------


@pytest.mark.parametrize("seat_id", ["0001", "0003"])
def test_given_a_shared_seat_when_revoked_then_the_link_is_404_the_seat_available_and_nobody_told(
    pid: str, seat_id: str
) -> None:
    token = shared_link(pid, seat_id)
    before = g.seat(pid, seat_id)

    status, body = g.seat_action(pid, seat_id, "revoke")

    assert status == 200 and body["seat"]["state"] == "available"
    after = g.seat(pid, seat_id)
    assert (after.state, after.shared, after.token_hash) == ("available", None, None)
    assert [n.email for n in notices_for(record(before, after)) if n.email] == []
    assert [n.kind for n in notices_for(record(before, after))] == ["seat.revoked"]
    assert g.accept(token, ANN)[0] == 404 and g.preview(token)[0] == 404
    assert g.free_numbers(pid) == {1, 2, 3}
    status, invited = g.invite(pid, "ann@example.com", "bob@example.com", "cat@example.com")
    assert status == 201 and sorted(s["seat_id"] for s in invited["seats"]) == ["0001", "0002", "0003"]


def test_given_a_shared_seat_below_the_fresh_run_when_revoked_then_it_gets_its_marker_back(pid: str) -> None:
    g.invite(pid, "ann@example.com", "bob@example.com")  # fresh run from 0003
    g.seat_action(pid, "0001", "revoke")  # 0001 back, with a FreeSeat marker
    token = shared_link(pid, "0001")
    assert g.free_numbers(pid) == {3}

    assert g.seat_action(pid, "0001", "revoke")[0] == 200

    assert g.free_numbers(pid) == {1, 3} and g.accept(token, ANN)[0] == 404


def test_given_a_shared_seat_when_resent_then_200_a_fresh_url_and_the_old_one_is_404(pid: str) -> None:
    old = shared_link(pid, "0001")
    before = g.seat(pid, "0001")

    status, body = g.seat_action(pid, "0001", "resend")

    assert status == 200, body
    assert body["seat"]["shared"] is True and body["seat"]["recipient_email"] is None
    fresh = token_of(body["url"])
    assert fresh != old
    after = g.seat(pid, "0001")
    assert after.nonce is None and int(after.resend_count) == 1
    assert [n.kind for n in notices_for(record(before, after))] == ["seat.reshared"]
    assert "seat.reshared" in g.audit_kinds(pid)
    assert g.preview(old)[0] == 404 and g.accept(old, ANN)[0] == 404
    assert g.accept(fresh, ANN)[0] == 200


@pytest.mark.parametrize(("action", "answered"), [("resend", 200), ("link", 201)])
def test_given_a_shared_seat_when_resent_five_times_then_each_answer_is_the_seat_as_written(
    pid: str, clock: Any, action: str, answered: int
) -> None:
    shared_link(pid, "0001")

    for n in range(1, 6):
        clock.advance(minutes=1)
        status, body = g.seat_action(pid, "0001", action)

        assert status == answered, body
        assert body["seat"]["resend_count"] == n
        assert body["seat"] == seat_json(pid, "0001")


def test_given_a_shared_seat_when_shared_again_then_it_is_a_fresh_link_like_a_resend(pid: str) -> None:
    old = shared_link(pid, "0001")

    fresh = shared_link(pid, "0001")

    assert fresh != old and g.accept(old, ANN)[0] == 404
    assert g.purchase(pid).seat_counts.invited == 1
    assert g.accept(fresh, ANN)[0] == 200


def test_given_a_shared_seat_when_support_resends_it_then_409_seat_shared(pid: str) -> None:
    token = shared_link(pid, "0001")

    status, body = call(
        "admin_api",
        http_event(
            "POST",
            f"/admin/purchases/{pid}/seats/0001/resend",
            route="/admin/purchases/{purchase_id}/seats/{seat_id}/resend",
            path_params={"purchase_id": pid, "seat_id": "0001"},
            iam_arn="arn:aws:sts::000000000000:assumed-role/gift-plans-support/support",
        ),
    )

    assert (status, body["error"]["code"]) == (409, "seat_shared")
    assert g.preview(token)[0] == 200  # the buyer's link still works


def test_given_an_emailed_invitation_when_resent_then_it_is_still_202_and_mailed(
    pid: str, clock: Any
) -> None:
    g.invite(pid, "ann@example.com")
    clock.advance(minutes=11)
    status, body = g.seat_action(pid, "0001", "resend")
    assert status == 202 and "url" not in body


def test_given_the_address_is_invited_while_it_accepts_a_shared_link_then_409_and_one_seat_each(
    pid: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rule 11 holds in the accept's write: the Holder item read before it must stand."""
    from giftplans.invitations import sharing

    token = shared_link(pid, "0003")
    checked = sharing.accept_terms

    def then_invited(*args: Any, **kw: Any) -> sharing.SharedAccept:
        terms = checked(*args, **kw)
        assert g.invite(pid, "ann@example.com")[0] == 201  # between the check and the write
        return terms

    monkeypatch.setattr(sharing, "accept_terms", then_invited)
    status, body = g.accept(token, ANN)

    assert (status, body["error"]["code"]) == (409, "already_invited")
    assert g.seat(pid, "0003").state == "invited" and g.seat(pid, "0003").recipient_email is None
    assert set(g.live_holders(pid)) == {"0001"}


def test_given_a_seat_shared_from_the_fresh_run_when_others_are_invited_and_claimed_then_none_is_given_twice(
    pid: str,
) -> None:
    token = shared_link(pid, "0002")  # the middle of the fresh run: a hole in it

    status, body = g.invite(pid, "ann@example.com")
    assert status == 201 and body["seats"][0]["seat_id"] == "0001"
    assert g.free_numbers(pid) == {3}
    status, body = g.invite(pid, "bob@example.com")
    assert status == 201 and body["seats"][0]["seat_id"] == "0003"
    assert g.free_numbers(pid) == set()
    status, body = g.invite(pid, "cat@example.com")
    assert (status, body["error"]["code"]) == (409, "no_seats_available")

    assert g.seat_action(pid, "0002", "revoke")[0] == 200  # now below the run: back with a marker
    assert g.free_numbers(pid) == {2} and g.accept(token, BOB)[0] == 404


def test_given_an_action_when_audited_as_an_event_it_may_not_say_then_the_write_is_not_built(
    pid: str,
) -> None:
    from giftplans.seats import Action
    from giftplans.store.transitions import Move, transition
    from giftplans.store.writes import Steps

    with pytest.raises(ValueError, match="cannot be audited"):
        transition(Steps(), Action.REVOKE, pid, [Move("0001")], actor="buyer", kind="seat.shared")
    steps = Steps()
    transition(steps, Action.INVITE, pid, [Move("0001", unheld=True)], actor="buyer", kind="seat.shared")
    assert steps.steps  # an invite may say it was a share
