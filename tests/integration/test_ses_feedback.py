"""SES bounce and complaint notifications (SNS) mark the current invitation; anything else changes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from giftplans import clock as real_clock
from giftplans import tokens
from giftplans.outbox import feedback, sending
from giftplans.store import models as m

from tests.support.apigw import FakeContext, load_handler
from tests.support.streams import PURCHASE_ID, TERM_END_TS, change, record, seat, sent_mail

NONCE = "0123456789abcdef0123456789abcdef"


def ses_event(kind: str, tags: dict[str, str], *, style: str = "eventType") -> dict[str, Any]:
    mail = {"messageId": "m-1", "tags": {k: [v] for k, v in tags.items()}}
    body: dict[str, Any] = {style: kind, "mail": mail}
    if kind == "Bounce":
        body["bounce"] = {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": "x@example.com"}]}
    if kind == "Complaint":
        body["complaint"] = {"complaintFeedbackType": "abuse"}
    return body


def sns(*messages: Any) -> dict[str, Any]:
    texts = [m if isinstance(m, str) else json.dumps(m) for m in messages]
    return {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": text}} for text in texts]}


def run(event: dict[str, Any]) -> dict[str, Any]:
    return load_handler("ses_feedback").handler(event, FakeContext())


@pytest.fixture
def invited(aws: None, clock: Any) -> m.Seat:
    token = tokens.invite_token(PURCHASE_ID, "0001", "pro", TERM_END_TS, NONCE)
    item = change(
        seat(),
        state="invited",
        recipient_email="zoë+gift@example.com",
        nonce=NONCE,
        token_hash=token.mac_hash,
        last_action="invite",
    )
    item.save()
    return item


LINK = tokens.invite_token(PURCHASE_ID, "0001", "pro", TERM_END_TS, NONCE).mac_hash[: feedback.LINK_TAG_CHARS]
TAGS = {"kind": "invitation", "purchase_id": PURCHASE_ID, "seat_id": "0001", "link": LINK}


def stored(item: m.Seat) -> m.Seat:
    return m.Seat.get(item.PK, item.SK, consistent_read=True)


@pytest.mark.parametrize(
    ("kind", "outcome", "style"),
    [
        ("Bounce", "bounced", "eventType"),
        ("Complaint", "complained", "eventType"),
        ("Bounce", "bounced", "notificationType"),
    ],
)
def test_given_current_invitation_when_ses_reports_feedback_then_seat_marked(invited, kind, outcome, style):
    assert run(sns(ses_event(kind, TAGS, style=style))) == {"marked": 1}

    after = stored(invited)
    assert (after.delivery, after.last_action, after.version) == (outcome, "bounce", invited.version + 1)
    assert after.state == "invited" and after.nonce == NONCE


def test_given_resent_invitation_when_old_link_bounces_then_nothing_changes(invited):
    new_hash = tokens.invite_token(PURCHASE_ID, "0001", "pro", TERM_END_TS, "f" * 32).mac_hash
    resent = change(invited, nonce="f" * 32, token_hash=new_hash, last_action="resend")
    resent.save()

    assert run(sns(ses_event("Bounce", TAGS))) == {"marked": 0}
    assert stored(invited).delivery is None and stored(invited).version == resent.version


def test_given_accepted_seat_when_late_bounce_arrives_then_nothing_changes(invited):
    change(invited, state="accepted", last_action="accept").save()

    assert run(sns(ses_event("Bounce", TAGS))) == {"marked": 0}
    assert stored(invited).delivery is None


@pytest.mark.parametrize(
    "message",
    [
        "not json",
        json.dumps([1, 2]),
        json.dumps({"eventType": "Delivery", "mail": {"tags": {}}}),
        json.dumps({"eventType": "Bounce", "mail": {}}),
        json.dumps(ses_event("Bounce", {"purchase_id": PURCHASE_ID})),
        json.dumps({"Type": "SubscriptionConfirmation"}),
    ],
)
def test_given_irrelevant_message_when_received_then_ignored_without_error(invited, message):
    assert run(sns(message)) == {"marked": 0}
    assert stored(invited).version == invited.version


def test_given_missing_seat_when_bounce_arrives_then_ignored(aws, clock):
    assert run(sns(ses_event("Bounce", {**TAGS, "seat_id": "0999"}))) == {"marked": 0}


def test_given_tags_outside_ses_alphabet_when_encoded_then_they_round_trip():
    for value in (PURCHASE_ID, "0001", NONCE, "a.b@c|d", "x-literal"):
        encoded = feedback.tag_value(value)
        assert set(encoded) <= feedback.TAG_CHARS
        assert feedback.tag_text(encoded) == value


def test_given_mailed_invitation_when_its_tags_bounce_then_the_seat_is_marked(invited):
    sender = sending.SesSender()
    seen: list[dict[str, Any]] = []
    client = sender.client
    real = client.send_email

    def send_email(**r: Any) -> Any:
        seen.append(r)
        return real(**r)

    client.send_email = send_email
    sending.handle_record(record(seat(), invited), sender)
    assert len(sent_mail()) == 1
    tags = {t["Name"]: t["Value"] for t in seen[0]["EmailTags"]}

    assert run(sns(ses_event("Bounce", tags))) == {"marked": 1}
    assert stored(invited).delivery == "bounced"


def test_given_a_bounce_when_recorded_then_the_audit_trail_names_it_with_its_time(invited, clock):
    run(sns(ses_event("Bounce", TAGS)))
    events = [e for e in m.AuditEvent.query(invited.PK) if isinstance(e, m.AuditEvent)]
    assert [(e.kind, e.actor, e.seat_ids, e.at) for e in events] == [
        ("seat.bounced", "ses", ["0001"], real_clock.iso(real_clock.now()))
    ]


def test_given_a_message_sent_with_the_older_nonce_tag_when_it_bounces_then_the_seat_is_still_marked(
    invited,
):
    """Messages sent before `link` replaced the nonce in the tags (issue 14) are still understood."""
    assert run(sns(ses_event("Bounce", {"purchase_id": PURCHASE_ID, "seat_id": "0001", "nonce": NONCE}))) == {
        "marked": 1
    }
    assert stored(invited).delivery == "bounced"


def test_given_a_link_tag_of_another_length_when_it_bounces_then_ignored(invited):
    assert run(sns(ses_event("Bounce", {**TAGS, "link": LINK[:4]}))) == {"marked": 0}
    assert stored(invited).delivery is None
