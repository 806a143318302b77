"""Privacy (SPEC 8.10): what is kept about an address (`GET /admin/people`), its erasure
(`POST /admin/people/erase`), and the sweep's erasure of an ended purchase's recipients.

Purchases are bought at the clock's start, 2026-03-01T12:00Z: term_end 2027-03-01T12:00Z,
expiry night 2027-03-02, erasure night 2027-05-30 (90 days after term_end).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from giftplans import privacy, sweep, tokens
from giftplans.errors import UpstreamUnavailable
from giftplans.outbox import sending
from giftplans.outbox.notices import Email, Notice
from giftplans.store import get_store
from giftplans.store import keys as k
from giftplans.store import models as m
from giftplans.store.table import Store

from tests.support.apigw import call, claims, http_event
from tests.support.ddb_calls import counting
from tests.support.factories import paid_purchase
from tests.support.gifts import accept, invite, link, seat_action, who
from tests.support.streams import record

pytestmark = pytest.mark.usefixtures("aws", "clock")

ARN = "arn:aws:sts::000000000000:assumed-role/gift-plans-support/support-sam"
SUPPORT = f"support:{ARN}"
BUYER, BUYER_EMAIL = "buyer-1", "buyer@example.com"
RITA, IVAN, ZOE = "rita@example.com", "ivan@example.com", "zoe@example.com"
EXPIRE_NIGHT = datetime(2027, 3, 2, 3, 0, tzinfo=UTC)
DAY_BEFORE_ERASURE = datetime(2027, 5, 29, 3, 0, tzinfo=UTC)
ERASE_NIGHT = datetime(2027, 5, 30, 3, 0, tzinfo=UTC)
NOTHING = dict.fromkeys(privacy.COUNTED, 0)


def people(email: str, *, iam: bool = True) -> tuple[int, Any]:
    return call(
        "admin_api",
        http_event(
            "GET",
            "/admin/people",
            route="/admin/people",
            query={"email": email},
            iam_arn=ARN if iam else None,
            claims=None if iam else claims("someone", "someone@example.com"),
        ),
    )


def erase(email: str, *, iam: bool = True) -> tuple[int, Any]:
    return call(
        "admin_api",
        http_event(
            "POST",
            "/admin/people/erase",
            route="/admin/people/erase",
            body={"email": email},
            iam_arn=ARN if iam else None,
            claims=None if iam else claims("someone", "someone@example.com"),
        ),
    )


def partition(purchase_id: str) -> list[m.Item]:
    return list(m.Item.query(k.purchase_pk(purchase_id), consistent_read=True))


def seats(purchase_id: str) -> dict[str, m.Seat]:
    return {i.seat_id: i for i in partition(purchase_id) if isinstance(i, m.Seat)}


def events(purchase_id: str) -> list[m.AuditEvent]:
    return [i for i in partition(purchase_id) if isinstance(i, m.AuditEvent)]


def mentions(purchase_id: str) -> list[m.Mention]:
    return [i for i in partition(purchase_id) if isinstance(i, m.Mention)]


def raw(purchase_id: str) -> str:
    """Everything the purchase's partition holds, as one string (to look for an address or its mask)."""
    return json.dumps([item.serialize() for item in partition(purchase_id)], default=str)


def gift_purchase() -> str:
    """Seat 0001 accepted by rita; 0002 invited to ivan and revoked (available again); 0003 invited to zoe.

    A seat given back is handed out only after the fresh ones (scale's FREE# markers), so zoe gets 0003.
    """
    pid = paid_purchase(BUYER, BUYER_EMAIL, quantity=3)
    assert invite(pid, RITA)[0] == 201
    assert accept(link(pid, "0001"), who("sub-rita", RITA))[0] == 200
    assert invite(pid, IVAN)[0] == 201
    assert seat_action(pid, "0002", "revoke")[0] == 200
    assert invite(pid, ZOE)[0] == 201
    return pid


class Sender:
    def __init__(self) -> None:
        self.sent: list[sending.OutgoingMail] = []

    def send(self, mail: sending.OutgoingMail) -> str:
        self.sent.append(mail)
        return f"msg-{len(self.sent)}"


def mail_the_invitation(purchase_id: str, seat_id: str) -> str:
    """The mailer, given the stream record of the seat's invite: the marker's key."""
    new = seats(purchase_id)[seat_id]
    old = m.Seat.from_raw_data({**new.serialize(), "state": {"S": "available"}, "version": {"N": "1"}})
    assert sending.handle_record(record(old, new), Sender()) == 1
    return f"{new.PK}|{new.SK}|{int(new.version)}|invitation"


def marker(key: str) -> m.MailMarker:
    found = get_store().mail_marker(key)
    assert found is not None
    return found


# ---- who may call -------------------------------------------------------------------------------------


def test_given_jwt_caller_when_people_routes_called_then_403_support_only() -> None:
    assert people(RITA, iam=False)[1]["error"]["code"] == "support_only"
    assert erase(RITA, iam=False)[1]["error"]["code"] == "support_only"


def test_given_not_an_address_when_people_routes_called_then_422_and_nothing_changed() -> None:
    pid = gift_purchase()
    before = raw(pid)
    for status, body in (people("nobody"), erase("nobody")):
        assert status == 422 and body["error"]["code"] == "invalid_email"
    assert raw(pid) == before


# ---- what is kept -------------------------------------------------------------------------------------


def test_given_a_revoked_invitation_when_the_address_is_looked_up_then_its_audit_mention_is_found() -> None:
    pid = gift_purchase()

    status, body = people("Ivan@Example.com")

    assert status == 200, body
    assert body["seats"] == [] and body["purchases"] == []  # the seat went back to available
    (mention,) = body["audit_mentions"]
    assert (mention["purchase_id"], mention["seat_id"], mention["field"]) == (pid, "0002", "recipients")
    assert mention["event"]["kind"] == "seat.invited"
    assert mention["event"]["detail"]["recipients"] == [tokens.mask_email(IVAN)]


def test_given_buyer_and_recipient_when_looked_up_then_purchases_seats_profile_mentions_and_markers() -> None:
    pid = gift_purchase()
    key = mail_the_invitation(pid, "0003")
    get_store().write(
        lambda steps: steps.update(
            "profile",
            m.Profile(k.account_pk(BUYER), k.PROFILE_SK),
            [m.Profile.verified_email.set(BUYER_EMAIL), m.Profile.stripe_customer.set("cus_123")],
        )
    )

    _, buyer = people(BUYER_EMAIL)
    _, zoe = people(ZOE)
    _, rita = people(RITA)

    assert [p["purchase_id"] for p in buyer["purchases"]] == [pid]
    assert buyer["profiles"][0]["sub"] == BUYER and buyer["profiles"][0]["stripe_customer"] == "cus_123"
    assert [(s["purchase_id"], s["seat_id"], s["state"]) for s in zoe["seats"]] == [(pid, "0003", "invited")]
    assert [mk["key"] for mk in zoe["mail_markers"]] == [key]
    assert zoe["mail_markers"][0]["message_id"] == "msg-1"
    assert {(x["field"], x["event"]["kind"]) for x in rita["audit_mentions"]} == {
        ("recipients", "seat.invited"),
        ("recipient", "seat.accepted"),
    }
    assert [(s["seat_id"], s["state"], s["recipient_sub"]) for s in rita["seats"]] == [
        ("0001", "accepted", "sub-rita")
    ]


def test_given_an_address_when_looked_up_or_erased_then_no_scan() -> None:
    gift_purchase()

    with counting() as calls:
        people(RITA)
        erase(RITA)
        erase(BUYER_EMAIL)

    assert "Scan" not in calls.by_operation
    assert calls.by_operation["Query"] >= 3


# ---- erasure ------------------------------------------------------------------------------------------


def test_given_a_recipient_when_erased_then_address_gone_states_counts_and_money_kept() -> None:
    pid = gift_purchase()
    before = get_store().purchase(pid)
    assert before is not None

    status, body = erase(RITA)

    assert status == 200, body
    assert body["changed"] == {**NOTHING, "seats": 1, "audit_events": 2, "mentions": 2}
    held = seats(pid)["0001"]
    assert (held.recipient_email, held.state, held.recipient_sub, held.GSI3PK) == (
        "erased",
        "accepted",
        "sub-rita",
        None,
    )
    assert (held.last_action, held.actor) == ("erase", SUPPORT)
    after = get_store().purchase(pid)
    assert after is not None
    assert after.seat_counts.as_dict() == before.seat_counts.as_dict()
    assert (after.amount_total, after.amount_subtotal, after.status) == (
        before.amount_total,
        before.amount_subtotal,
        before.status,
    )
    assert get_store().holders(pid, [tokens.email_key(RITA)]) == {}  # her Holder item (rule 11) is gone
    assert RITA not in raw(pid) and tokens.mask_email(RITA) not in raw(pid)
    assert tokens.email_key(RITA) not in raw(pid)
    erased = [e for e in events(pid) if e.kind == "seat.recipient_erased"]
    assert [(e.actor, e.seat_ids) for e in erased] == [(SUPPORT, ["0001"])]
    # the others' mentions are untouched: zoe's invite still shows her masked address
    assert tokens.mask_email(ZOE) in raw(pid) and tokens.mask_email(IVAN) in raw(pid)
    # her plan is still hers
    status, answer = call("me_api", http_event("GET", "/me/entitlement", claims=who("sub-rita", RITA)))
    assert answer["active"] is True


def test_given_an_erased_address_when_erased_again_then_nothing_changes() -> None:
    pid = gift_purchase()
    mail_the_invitation(pid, "0003")
    for address in (RITA, IVAN, ZOE, BUYER_EMAIL):
        assert erase(address)[0] == 200
    items = raw(pid)

    for address in (RITA, IVAN, ZOE, BUYER_EMAIL):
        status, body = erase(address)
        assert (status, body["changed"]) == (200, NOTHING)
        _, kept = people(address)
        assert kept == {
            "purchases": [],
            "seats": [],
            "profiles": [],
            "audit_mentions": [],
            "mail_markers": [],
        }

    assert raw(pid) == items
    assert "@" not in raw(pid)


def test_given_an_invited_address_when_erased_then_the_link_dies_and_the_buyer_may_revoke() -> None:
    pid = gift_purchase()
    token = link(pid, "0003")

    assert erase(ZOE)[1]["changed"]["seats"] == 1

    assert seats(pid)["0003"].state == "invited" and seats(pid)["0003"].nonce is None
    assert accept(token, who("sub-zoe", ZOE))[0] in (404, 410)
    assert seat_action(pid, "0003", "revoke")[0] == 200
    assert invite(pid, ZOE)[0] == 201  # the holder entry was erased too: she may be invited again


def test_given_a_buyer_when_erased_then_purchase_and_every_seat_copy_lose_the_address() -> None:
    pid = gift_purchase()
    get_store().write(
        lambda steps: steps.update(
            "profile",
            m.Profile(k.account_pk(BUYER), k.PROFILE_SK),
            [m.Profile.verified_email.set(BUYER_EMAIL), m.Profile.stripe_customer.set("cus_123")],
        )
    )

    status, body = erase(BUYER_EMAIL)

    assert status == 200, body
    assert body["changed"] == {**NOTHING, "purchases": 1, "seats": 3, "profiles": 1}
    bought = get_store().purchase(pid)
    assert bought is not None
    assert (bought.buyer_email, bought.GSI3PK, bought.status, bought.amount_total) == (
        "erased",
        None,
        "paid",
        72000,
    )
    assert {s.buyer_email for s in seats(pid).values()} == {"erased"}
    profile = get_store().profile(BUYER)
    assert profile is not None
    assert (profile.verified_email, profile.stripe_customer) == (None, "cus_123")  # Stripe's copy: runbook
    assert [e.detail.as_dict() for e in events(pid) if e.kind == "purchase.buyer_erased"] == [{"seats": 3}]
    assert BUYER_EMAIL not in raw(pid)


def test_given_a_verification_sent_when_the_address_is_erased_then_the_profile_is_found_by_it() -> None:
    me = who("sub-vera", "vera@example.com", verified=False)
    assert call("me_api", http_event("POST", "/me/email-verification", claims=me))[0] in (200, 202)

    _, kept = people("vera@example.com")
    assert [p["sub"] for p in kept["profiles"]] == ["sub-vera"]
    assert erase("vera@example.com")[1]["changed"]["profiles"] == 1

    profile = get_store().profile("sub-vera")
    assert profile is not None
    assert (profile.verify_email, profile.verify_nonce, profile.GSI3PK) == (None, None, None)


def test_given_a_mail_marker_when_erased_then_it_keeps_its_status_and_loses_message_id_and_address() -> None:
    pid = gift_purchase()
    key = mail_the_invitation(pid, "0003")

    assert erase(ZOE)[1]["changed"]["mail_markers"] == 1

    kept = marker(key)
    assert (kept.status, kept.message_id, kept.GSI3PK) == ("sent", None, None)
    assert kept.erased_at is not None


def test_given_an_erased_address_when_a_notice_is_due_then_nothing_is_sent() -> None:
    sender = Sender()
    notice = Notice(
        "plan_ended", "PURCHASE#x|SEAT#0001|9|plan_ended", email=Email("erased", "plan_ended", {})
    )

    assert sending.deliver(notice, sender) is False

    assert sender.sent == [] and get_store().mail_marker(notice.key) is None


def test_given_an_erasure_that_fails_half_way_when_run_again_then_it_finishes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pid = gift_purchase()
    real = Store.write
    calls = {"n": 0}

    def flaky(self: Store, build: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise UpstreamUnavailable("busy")
        return real(self, build)

    monkeypatch.setattr(Store, "write", flaky)
    status, body = erase(RITA)
    assert status == 503, body
    monkeypatch.setattr(Store, "write", real)

    status, body = erase(RITA)

    assert status == 200
    assert sum(body["changed"].values()) >= 1
    assert erase(RITA)[1]["changed"] == NOTHING
    assert tokens.mask_email(RITA) not in raw(pid) and "rita@" not in raw(pid)
    assert mentions(pid) and {x.seat_id for x in mentions(pid)} == {"0002", "0003"}  # ivan's and zoe's remain


# ---- the sweep: an ended purchase's recipients, 90 days after term_end --------------------------------


def test_given_an_ended_purchase_when_90_days_pass_then_the_sweep_erases_its_recipients_only_then() -> None:
    pid = gift_purchase()
    buyer_before = get_store().purchase(pid)
    assert buyer_before is not None

    sweep.run(EXPIRE_NIGHT)
    assert {s.state for s in seats(pid).values()} == {"expired"}
    early = sweep.run(DAY_BEFORE_ERASURE)
    assert early.erased == 0 and seats(pid)["0001"].recipient_email == RITA

    night = sweep.run(ERASE_NIGHT)

    assert night.erased == 2  # rita's and zoe's seats; 0002 lost ivan's address when it was revoked
    assert {s.seat_id: s.recipient_email for s in seats(pid).values()} == {
        "0001": "erased",
        "0002": None,
        "0003": "erased",
    }
    assert get_store().holders(pid) == {}  # the Holder items (their keys name the addresses) went too
    assert {s.state for s in seats(pid).values()} == {"expired"}
    assert mentions(pid) == []
    for address in (RITA, IVAN, ZOE):
        assert tokens.mask_email(address) not in raw(pid) and address not in raw(pid)
    done = get_store().purchase(pid)
    assert done is not None
    assert (done.due_kind, done.GSI2PK, done.last_action) == (None, None, "erase")
    assert (done.buyer_email, done.amount_total) == (BUYER_EMAIL, buyer_before.amount_total)
    assert [e.detail.as_dict() for e in events(pid) if e.kind == "purchase.recipients_erased"] == [
        {"seats": 2}
    ]
    assert sweep.run(ERASE_NIGHT, since=ERASE_NIGHT.date()).erased == 0  # twice: nothing more


def test_given_erase_after_days_set_when_swept_then_the_erasure_follows_it(
    monkeypatch: pytest.MonkeyPatch, settings: None
) -> None:
    monkeypatch.setenv("ERASE_AFTER_DAYS", "30")
    pid = gift_purchase()
    sweep.run(EXPIRE_NIGHT)

    night = sweep.run(datetime(2027, 3, 31, 3, 0, tzinfo=UTC))

    assert night.erased == 2 and seats(pid)["0001"].recipient_email == "erased"


def test_given_missed_nights_when_the_sweep_catches_up_after_the_erasure_day_then_it_expires_first() -> None:
    pid = gift_purchase()

    sweep.run(datetime(2026, 12, 30, 3, 0, tzinfo=UTC))  # the cursor starts here; then months missed
    late = sweep.run(datetime(2027, 6, 15, 3, 0, tzinfo=UTC))

    assert (late.expired, late.erased) == (3, 2)
    assert {(s.state, s.recipient_email) for s in seats(pid).values()} == {
        ("expired", "erased"),
        ("expired", None),
    }


def test_given_an_erasure_when_its_changes_reach_the_stream_readers_then_nothing_is_mailed_or_published() -> (
    None
):
    from giftplans.outbox.notices import notices_for

    pid = gift_purchase()
    before = {**seats(pid)}
    purchase_before = get_store().purchase(pid)
    erase(RITA)
    erase(BUYER_EMAIL)

    after = seats(pid)
    changes = [record(before[s], after[s]) for s in before if after[s].version != before[s].version]
    changes.append(record(purchase_before, get_store().purchase(pid)))

    assert len(changes) == 4  # three seats' buyer copies (one also rita's address), the purchase
    assert [notice for change in changes for notice in notices_for(change)] == []
