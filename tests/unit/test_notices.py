"""notices_for: every row of design.md's "What each transition writes" table, and writes that say nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from giftplans.outbox.notices import Email, Notice, notices_for
from giftplans.store import keys as k
from giftplans.store import models as m

from tests.support.streams import PURCHASE_ID, change, profile, purchase, record, seat

RECIPIENT = "zoë+gift@example.com"


def kinds(notices: list[Notice]) -> list[str]:
    return [n.kind for n in notices]


def one_email(notices: list[Notice]) -> Notice:
    emails = [n for n in notices if n.email]
    assert len(emails) == 1, kinds(notices)
    return emails[0]


def mail(notices: list[Notice]) -> Email:
    email = one_email(notices).email
    assert email is not None
    return email


def event(notices: list[Notice], detail_type: str) -> dict:
    found = [n.event.detail for n in notices if n.event and n.event.detail_type == detail_type]
    assert len(found) == 1, kinds(notices)
    return found[0]


def invited(**fields) -> m.Seat:
    old = seat()
    return change(
        old,
        state="invited",
        recipient_email=RECIPIENT,
        nonce="n1" * 16,
        token_hash="h",
        invited_at="2026-03-02T00:00:00Z",
        resend_count=0,
        last_action="invite",
        actor="buyer",
        message="Happy birthday!",
        **fields,
    )


def invited_due(due_kind: str) -> m.Seat:
    """A seat invited to RECIPIENT with its next due step: "deliver" (scheduled) or "nudge" (sent)."""
    return change(seat(), state="invited", recipient_email=RECIPIENT, nonce="n" * 32, due_kind=due_kind)


def accepted() -> m.Seat:
    return change(
        invited(),
        state="accepted",
        recipient_sub="rcpt-sub",
        accepted_at="2026-03-03T00:00:00Z",
        nonce=None,
        token_hash=None,
        last_action="accept",
        actor="recipient",
    )


def claimed() -> m.Seat:
    return change(
        seat(),
        state="claimed",
        recipient_email="buyer@example.com",
        recipient_sub="buyer-sub",
        accepted_at="2026-03-03T00:00:00Z",
        last_action="claim",
        actor="buyer",
    )


# ---- purchases -------------------------------------------------------------------------------------------


def test_given_paid_fulfilment_when_purchase_inserted_then_receipt_to_buyer_and_purchase_paid():
    notices = notices_for(record(None, purchase()))

    assert kinds(notices) == ["receipt", "purchase.paid"]
    receipt = mail(notices)
    assert receipt.to == "buyer@example.com"
    assert receipt.params["quantity"] == 3 and receipt.params["amount_total"] == 72000
    paid = event(notices, "purchase.paid")
    assert paid["version"] == "1" and paid["purchase_id"] == PURCHASE_ID and paid["buyer_sub"] == "buyer-sub"
    assert paid["plan"] == "pro" and paid["term_end"] == "2027-03-01T12:00:00Z"
    assert paid["occurred_at"] == "2026-03-01T12:00:00Z"


def test_given_notice_when_keyed_then_key_is_pk_sk_new_version_kind():
    notices = notices_for(record(None, purchase(version=1)))

    assert notices[0].key == f"PURCHASE#{PURCHASE_ID}|PURCHASE|1|receipt"
    assert event(notices, "purchase.paid")["id"] == f"PURCHASE#{PURCHASE_ID}|PURCHASE|1|purchase.paid"


def test_given_unpaid_checkout_when_pending_purchase_inserted_then_nothing():
    assert notices_for(record(None, purchase(status="pending_payment"))) == []


def test_given_pending_purchase_when_async_payment_succeeds_then_receipt():
    old = purchase(status="pending_payment")
    assert kinds(notices_for(record(old, change(old, status="paid", last_action="paid")))) == [
        "receipt",
        "purchase.paid",
    ]


def test_given_pending_purchase_when_payment_fails_then_buyer_told():
    old = purchase(status="pending_payment")
    notices = notices_for(record(old, change(old, status="payment_failed", last_action="payment_failed")))

    assert mail(notices).template == "payment_failed"
    assert mail(notices).to == "buyer@example.com"


def test_given_paid_purchase_when_more_seats_written_then_nothing():
    old = purchase(seats_written=96)
    assert notices_for(record(old, change(old, seats_written=195, last_action="create"))) == []


def test_given_paid_purchase_when_refunded_then_buyer_told_and_purchase_refunded():
    old = purchase()
    new = change(old, status="refunded", amount_refunded=72000, last_action="refund")
    notices = notices_for(record(old, new))

    assert kinds(notices) == ["purchase_refunded", "purchase.refunded"]
    assert mail(notices).to == "buyer@example.com"


@pytest.mark.parametrize(("action", "days"), [("remind_30", 30), ("remind_7", 7)])
def test_given_unassigned_seats_when_purchase_reminded_then_buyer_told_how_many(action, days):
    old = purchase(seat_counts=m.SeatCounts(available=2, accepted=1))
    notices = notices_for(record(old, change(old, reminders={str(days)}, last_action=action, actor="sweep")))

    email = mail(notices)
    assert (email.template, email.params["days"], email.params["unassigned"]) == ("buyer_reminder", days, 2)


def test_given_every_seat_assigned_when_purchase_reminded_then_nothing():
    old = purchase(seat_counts=m.SeatCounts(accepted=3))
    assert notices_for(record(old, change(old, reminders={"30"}, last_action="remind_30"))) == []


def test_given_never_used_seats_when_purchase_expires_then_buyer_gets_summary():
    old = purchase(seat_counts=m.SeatCounts(available=1, invited=1, accepted=1))
    new = change(
        old, seat_counts=m.SeatCounts(expired=3), expired_at="2027-03-02T00:00:00Z", last_action="expire"
    )

    email = mail(notices_for(record(old, new)))
    assert (email.template, email.params["unused"], email.to) == ("unused_seats", 2, "buyer@example.com")


def test_given_all_seats_used_when_purchase_expires_then_no_summary():
    old = purchase(seat_counts=m.SeatCounts(accepted=3))
    new = change(
        old, seat_counts=m.SeatCounts(expired=3), expired_at="2027-03-02T00:00:00Z", last_action="expire"
    )
    assert notices_for(record(old, new)) == []


# ---- seats -----------------------------------------------------------------------------------------------


def test_given_fulfilment_when_seat_inserted_then_nothing():
    assert notices_for(record(None, seat())) == []


def test_given_available_seat_when_invited_then_invitation_to_recipient_and_seat_invited():
    new = invited()
    notices = notices_for(record(seat(), new))

    assert kinds(notices) == ["invitation", "seat.invited"]
    email = mail(notices)
    assert email.to == RECIPIENT
    assert email.params["nonce"] == new.nonce and email.params["term_end_ts"] == new.term_end_ts
    assert email.params["message"] == "Happy birthday!" and email.params["sender"] == "buyer@example.com"
    assert one_email(notices).mail_tags() == {
        "purchase_id": PURCHASE_ID,
        "seat_id": "0001",
        "nonce": new.nonce,
    }
    detail = event(notices, "seat.invited")
    assert detail["seat_id"] == "0001" and detail["buyer_sub"] == "buyer-sub"


def test_given_buyer_name_when_invited_then_sender_is_the_name():
    old = seat(buyer_name="Ana Buyer")
    new = change(old, state="invited", recipient_email=RECIPIENT, nonce="x" * 32, last_action="invite")
    assert mail(notices_for(record(old, new))).params["sender"] == "Ana Buyer"


def test_given_invited_seat_when_resent_then_invitation_again_with_the_new_nonce():
    old = invited()
    new = change(old, nonce="n2" * 16, token_hash="h2", resend_count=1, last_action="resend")
    notices = notices_for(record(old, new))

    assert kinds(notices) == ["invitation"]
    assert mail(notices).params["nonce"] == "n2" * 16
    assert one_email(notices).key != one_email(notices_for(record(seat(), old))).key


def test_given_invited_seat_when_resend_keeps_the_nonce_then_nothing():
    old = invited()
    assert notices_for(record(old, change(old, last_action="resend"))) == []


def test_given_invited_seat_when_revoked_then_old_recipient_told_and_seat_revoked():
    old = invited()
    new = change(
        old,
        state="available",
        recipient_email=None,
        nonce=None,
        token_hash=None,
        invited_at=None,
        message=None,
        last_action="revoke",
    )
    notices = notices_for(record(old, new))

    assert kinds(notices) == ["invitation_revoked", "seat.revoked"]
    assert mail(notices).to == RECIPIENT


def test_given_invited_seat_when_declined_then_buyer_told_and_seat_declined():
    old = invited()
    new = change(
        old,
        state="available",
        recipient_email=None,
        nonce=None,
        token_hash=None,
        last_action="decline",
        actor="recipient",
    )
    notices = notices_for(record(old, new))

    assert kinds(notices) == ["invitation_declined", "seat.declined"]
    email = mail(notices)
    assert email.to == "buyer@example.com" and email.params["recipient"] == RECIPIENT


def test_given_invited_seat_when_accepted_then_buyer_told_and_seat_accepted_and_entitlement_granted():
    notices = notices_for(record(invited(), accepted()))

    assert kinds(notices) == ["invitation_accepted", "seat.accepted", "entitlement.granted"]
    assert mail(notices).to == "buyer@example.com"
    assert event(notices, "seat.accepted")["recipient_sub"] == "rcpt-sub"
    granted = event(notices, "entitlement.granted")
    assert granted["recipient_sub"] == "rcpt-sub" and granted["source"] == "gift"
    assert granted["term_end"] == "2027-03-01T12:00:00Z" and granted["auto_renew"] is False


def test_given_available_seat_when_claimed_then_events_only():
    notices = notices_for(record(seat(), claimed()))

    assert kinds(notices) == ["seat.claimed", "entitlement.granted"]
    assert event(notices, "entitlement.granted")["source"] == "claim"


@pytest.mark.parametrize(("action", "days"), [("remind_30", 30), ("remind_7", 7)])
def test_given_accepted_seat_when_reminded_then_recipient_reminder(action, days):
    old = accepted()
    email = mail(notices_for(record(old, change(old, reminders={str(days)}, last_action=action))))

    assert (email.template, email.to, email.params["days"]) == ("recipient_reminder", RECIPIENT, days)


def test_given_accepted_seat_when_expired_then_plan_ended_and_entitlement_ended():
    old = accepted()
    notices = notices_for(
        record(old, change(old, state="expired", ended_at="2027-03-02T00:00:00Z", last_action="expire"))
    )

    assert kinds(notices) == ["plan_ended", "seat.expired", "entitlement.ended"]
    assert mail(notices).to == RECIPIENT
    ended = event(notices, "entitlement.ended")
    assert ended["reason"] == "expired" and ended["recipient_sub"] == "rcpt-sub"


def test_given_claimed_seat_when_expired_then_plan_ended_says_claimed():
    old, gift = claimed(), accepted()
    ended = mail(notices_for(record(old, change(old, state="expired", last_action="expire"))))
    given = mail(notices_for(record(gift, change(gift, state="expired", last_action="expire"))))

    assert (ended.template, ended.params["claimed"]) == ("plan_ended", True)
    assert given.params["claimed"] is False


def test_given_available_seat_when_expired_then_no_email():
    old = seat()
    new = change(old, state="expired", last_action="expire")
    assert kinds(notices_for(record(old, new))) == ["seat.expired"]


def test_given_accepted_seat_when_refunded_then_recipient_told_and_entitlement_ended():
    old = accepted()
    notices = notices_for(record(old, change(old, state="cancelled", last_action="refund", actor="stripe")))

    assert kinds(notices) == ["seat_cancelled", "seat.cancelled", "entitlement.ended"]
    assert mail(notices).to == RECIPIENT
    assert event(notices, "entitlement.ended")["reason"] == "refunded"


def test_given_claimed_seat_when_refunded_then_no_second_mail_to_the_buyer():
    old = claimed()
    notices = notices_for(record(old, change(old, state="cancelled", last_action="refund")))

    assert kinds(notices) == ["seat.cancelled", "entitlement.ended"]


def test_given_invited_seat_when_support_cancels_then_recipient_told():
    old = invited()
    new = change(old, state="cancelled", last_action="cancel", actor="support:arn")
    notices = notices_for(record(old, new))

    assert kinds(notices) == ["seat_cancelled", "seat.cancelled"]
    assert mail(notices).params["reason"] == "cancel"


def test_given_available_seat_when_support_cancels_then_no_email():
    old = seat()
    assert kinds(notices_for(record(old, change(old, state="cancelled", last_action="cancel")))) == [
        "seat.cancelled"
    ]


def test_given_accepted_seat_when_upgraded_then_upgrade_done_to_recipient():
    old = accepted()
    new = change(old, state="upgraded", upgrade_plan="team", subscription_id="sub_1", last_action="upgrade")
    notices = notices_for(record(old, new))

    assert kinds(notices) == ["upgrade_done", "seat.upgraded"]
    assert mail(notices).params["upgrade_plan"] == "team"


def test_given_accepted_seat_when_support_offers_upgrade_then_link_mailed():
    old = accepted()
    new = change(
        old,
        upgrade_offer_url="https://checkout.example/c/1",
        upgrade_plan="team",
        last_action="upgrade_offer",
    )
    email = mail(notices_for(record(old, new)))

    assert (email.template, email.to, email.params["offer_url"]) == (
        "upgrade_offer",
        RECIPIENT,
        "https://checkout.example/c/1",
    )


# ---- profiles --------------------------------------------------------------------------------------------


def test_given_profile_when_verification_asked_then_link_mailed_to_the_address_to_verify():
    old = profile()
    new = change(
        old, verify_email="buyer@example.com", verify_nonce="v" * 32, verify_hash="h", last_action="verify"
    )
    email = mail(notices_for(record(old, new)))

    assert (email.template, email.to, email.params) == (
        "verification",
        "buyer@example.com",
        {"sub": "buyer-sub", "nonce": "v" * 32},
    )


def test_given_profile_when_plans_bought_changes_then_nothing():
    old = profile(verify_email="b@example.com", verify_nonce="v" * 32, last_action="verify")
    assert notices_for(record(old, change(old, plans_bought=3, last_action="purchase"))) == []


# ---- writes that say nothing -----------------------------------------------------------------------------


def test_given_invited_seat_when_bounce_recorded_then_nothing():
    old = invited()
    assert notices_for(record(old, change(old, delivery="bounced", last_action="bounce", actor="ses"))) == []


def test_given_invited_seat_when_mailer_marks_it_sent_without_a_new_version_then_nothing():
    old = invited()
    new = m.Seat.from_raw_data({**old.serialize(), "delivery": {"S": "sent"}})
    assert notices_for(record(old, new)) == []


def test_given_mailer_marker_or_audit_event_when_written_then_nothing():
    marker = m.MailMarker(k.mail_pk("k"), "MAIL", status="sent", at="2026-03-01T12:00:00Z")
    audit = m.AuditEvent(
        k.purchase_pk(PURCHASE_ID), "EVENT#x", purchase_id=PURCHASE_ID, at="x", kind="k", actor="buyer"
    )
    assert notices_for(record(None, marker)) == []
    assert notices_for(record(None, audit)) == []


def test_given_ttl_removal_when_streamed_then_nothing():
    assert notices_for(record(invited(), None)) == []


def test_given_unknown_item_type_when_streamed_then_nothing():
    rec = record(None, seat())
    rec["dynamodb"]["NewImage"]["type"] = {"S": "something_new"}
    assert notices_for(rec) == []


def test_given_every_event_when_serialised_then_no_email_address_in_it():
    changes = [
        (None, purchase()),
        (seat(), invited()),
        (invited(), accepted()),
        (seat(), claimed()),
        (accepted(), change(accepted(), state="expired", last_action="expire")),
    ]
    details = [n.event.detail for old, new in changes for n in notices_for(record(old, new)) if n.event]

    assert len(details) >= 7
    assert all("@" not in json.dumps(d) for d in details)
    assert all(d["version"] == "1" and d["occurred_at"] and d["id"] for d in details)


# ---- subscription entitlements ---------------------------------------------------------------------------


def subscription(**fields) -> m.Entitlement:
    values: dict[str, Any] = {
        "sub": "rcpt-sub",
        "sub_plan": "team",
        "sub_status": "active",
        "sub_term_end": "2027-04-01T00:00:00Z",
        "sub_term_end_ts": 1806537600,
        "auto_renew": True,
        "subscription_id": "sub_1",
        "event_ts": 1772400000,
        "updated_at": "2026-03-01T12:00:00Z",
    }
    values.update(fields)
    return m.Entitlement(k.account_pk(values["sub"]), k.ENTITLEMENT_SK, **values)


def test_given_subscription_started_when_entitlement_written_then_entitlement_granted():
    notices = notices_for(record(None, subscription()))

    detail = event(notices, "entitlement.granted")
    assert (detail["source"], detail["auto_renew"]) == ("subscription", True)
    assert detail["recipient_sub"] == "rcpt-sub"


def test_given_subscription_when_it_ends_then_entitlement_ended_once():
    old = subscription()
    ended = subscription(sub_status="ended", event_ts=1772500000)

    assert event(notices_for(record(old, ended)), "entitlement.ended")["reason"] == "subscription_ended"
    assert notices_for(record(ended, subscription(sub_status="ended", event_ts=1772600000))) == []


def test_given_gift_entitlement_when_written_then_nothing_because_the_seat_announces_it():
    gift = {"plan": "pro", "source": "gift", "term_end": "2027-03-01T12:00:00Z", "term_end_ts": 1803902400}
    assert notices_for(record(None, subscription(sub_plan=None, sub_status=None, **gift))) == []


# ---- SPEC 8.5: a gift accepted as a credit ------------------------------------------------------------


def test_given_accept_as_credit_pending_when_streamed_then_event_only_nobody_told_yet():
    notices = notices_for(record(invited(), change(accepted(), credited=10849, credit_status="pending")))

    assert kinds(notices) == ["seat.accepted"]
    assert event(notices, "seat.accepted")["credited"] == 10849


def test_given_credit_settled_when_streamed_then_recipient_and_buyer_told_the_amount():
    pending = change(accepted(), credited=10849, credit_status="pending")
    done = change(pending, credit_status="done", credit_txn="cbtxn_1", last_action="credit", actor="stripe")

    notices = notices_for(record(pending, done))

    assert kinds(notices) == ["gift_credited", "invitation_accepted", "seat.credited"]
    mails = {n.email.to: n.email.params for n in notices if n.email}
    assert mails[RECIPIENT]["credited"] == 10849 and mails["buyer@example.com"]["credited"] == 10849
    assert event(notices, "seat.credited")["credited"] == 10849
    assert notices_for(record(done, change(done, reminders={"30"}, last_action="credit"))) == []


def test_given_nothing_to_credit_when_accepted_then_told_at_once():
    notices = notices_for(record(invited(), change(accepted(), credited=0, credit_status="done")))
    assert kinds(notices) == ["seat.accepted", "gift_credited", "invitation_accepted", "seat.credited"]


def test_given_seat_refund_done_when_streamed_then_buyer_told_the_amount():
    cancelled = change(seat(), state="cancelled", refund_status="pending", last_action="cancel")
    done = change(cancelled, refund_status="done", refund_id="re_1", last_action="seat_refund")

    notices = notices_for(record(cancelled, done))

    assert kinds(notices) == ["seat_refunded", "seat.refunded"]
    mail = one_email(notices).email
    assert mail is not None and mail.to == "buyer@example.com"
    assert mail.params["amount_refunded"] == int(seat().seat_value)


# ---- issue 16 and SPEC 8.1: invitations never accepted, scheduled invitations ------------------------------


def test_given_only_invitations_waiting_when_purchase_reminded_then_buyer_told_how_many_never_accepted():
    old = purchase(seat_counts=m.SeatCounts(invited=2, accepted=1))
    notices = notices_for(record(old, change(old, reminders={"7"}, last_action="remind_7", actor="sweep")))

    email = mail(notices)
    assert (email.template, email.params["unassigned"], email.params["never_accepted"]) == (
        "buyer_reminder",
        0,
        2,
    )


def test_given_a_scheduled_invite_when_committed_then_no_mail_and_seat_scheduled():
    old = seat()
    new = change(
        old,
        state="invited",
        recipient_email=RECIPIENT,
        nonce="n" * 32,
        last_action="invite",
        due_kind="deliver",
        send_at="2026-03-05T09:00:00Z",
    )
    notices = notices_for(record(old, new))

    assert kinds(notices) == ["seat.scheduled"]
    assert event(notices, "seat.scheduled")["send_at"] == "2026-03-05T09:00:00Z"


def test_given_a_scheduled_invite_when_delivered_then_the_invitation_goes_and_seat_delivered():
    old = invited_due("deliver")
    new = change(old, last_action="deliver", due_kind="nudge")
    notices = notices_for(record(old, new))

    assert sorted(kinds(notices)) == ["invitation", "seat.delivered"]
    assert mail(notices).to == RECIPIENT


@pytest.mark.parametrize("action", ["revoke", "cancel"])
def test_given_a_scheduled_invite_when_ended_before_send_at_then_the_recipient_is_told_nothing(action):
    old = invited_due("deliver")
    new = change(
        old,
        state="available" if action == "revoke" else "cancelled",
        recipient_email=None,
        last_action=action,
        due_kind=None,
    )
    notices = notices_for(record(old, new))

    assert [n for n in notices if n.email] == []
    assert kinds(notices) == [f"seat.{'revoked' if action == 'revoke' else 'cancelled'}"]


def test_given_an_invite_delivered_when_revoked_then_the_recipient_is_told_as_before():
    old = invited_due("nudge")
    new = change(old, state="available", recipient_email=None, last_action="revoke", due_kind=None)

    assert mail(notices_for(record(old, new))).template == "invitation_revoked"


def test_given_a_nudge_when_committed_then_the_recipient_gets_one_reminder_with_the_link():
    old = invited_due("nudge")
    new = change(old, last_action="nudge", due_kind=None, nudged_at="2026-03-08T12:00:00Z")
    notices = notices_for(record(old, new))

    assert sorted(kinds(notices)) == ["invitation_reminder", "seat.nudged"]
    assert mail(notices).params["nonce"] == "n" * 32
