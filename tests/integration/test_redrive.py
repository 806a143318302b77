"""The redrive (giftplans.outbox.redrive): parked mail of a window is sent once, however often it runs."""

from __future__ import annotations

import json
import threading
from collections import Counter
from typing import Any

import pytest
from botocore.exceptions import ClientError
from giftplans import clock as real_clock
from giftplans import privacy
from giftplans.errors import Invalid
from giftplans.outbox import redrive, sending
from giftplans.store import keys as k
from giftplans.store import models as m

from tests.support.apigw import FakeContext, load_handler
from tests.support.streams import change, invite, purchase, record, seat, stream_event


class Ses:
    """A sender that refuses while `down` (throttling) and counts what it sent per recipient."""

    def __init__(self) -> None:
        self.down = True
        self.sent: Counter[str] = Counter()
        self.mails: list[sending.OutgoingMail] = []
        self.lock = threading.Lock()

    def send(self, mail: sending.OutgoingMail) -> str:
        if self.down:
            raise sending.MailNotSent("TooManyRequestsException", permanent=False)
        with self.lock:
            self.sent[mail.to] += 1
            self.mails.append(mail)
            return f"msg-{sum(self.sent.values())}"


@pytest.fixture
def ses(aws: None, clock: Any) -> Ses:
    return Ses()


def park(ses: Ses, count: int, first: int = 0) -> list[str]:
    """`count` receipts parked by the mailer while SES is down; their buyers' addresses."""
    handler = load_handler("mailer").build(ses)
    records = [
        record(None, purchase(purchase_id=f"pur_{n:026d}", buyer_email=f"b{n}@example.com"))
        for n in range(first, first + count)
    ]
    for at in range(0, len(records), 10):
        assert handler(stream_event(*records[at : at + 10]), FakeContext()) == {"batchItemFailures": []}
    return [f"b{n}@example.com" for n in range(first, first + count)]


def marker(n: int) -> m.MailMarker:
    return m.MailMarker.get(k.mail_pk(f"PURCHASE#pur_{n:026d}|PURCHASE|1|receipt"), k.MAIL_SK)


def test_given_parked_mail_when_two_redrives_run_at_once_then_each_notice_is_sent_once(ses, clock):
    addresses = park(ses, 40)
    ses.down = False
    start, end = redrive.window({}, clock.now)
    reports: list[redrive.Redriven] = []

    def run() -> None:
        reports.append(redrive.redrive(start, end, ses))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert ses.sent == Counter(addresses)
    assert sum(r.sent for r in reports) == 40 and {r.stopped for r in reports} == {None}
    assert redrive.redrive(start, end, ses).found == 0  # sent markers leave the sparse key


def test_given_parked_mail_when_redrive_runs_twice_then_the_second_sends_nothing(ses, clock):
    park(ses, 5)
    ses.down = False
    handler = load_handler("mailer").build(ses)

    assert handler({"redrive": {}}, FakeContext())["sent"] == 5
    assert handler({"redrive": {}}, FakeContext())["sent"] == 0
    assert sum(ses.sent.values()) == 5
    assert {marker(n).status for n in range(5)} == {"sent"}


def test_given_ses_still_down_when_redrive_runs_then_it_stops_after_three_refusals(ses, clock):
    park(ses, 10)
    report = redrive.redrive(*redrive.window({}, clock.now), ses)

    assert (report.stopped, report.parked, report.sent) == ("ses_trouble", redrive.STOP_AFTER, 0)
    assert max(marker(n).tries for n in range(10)) == 2  # refused again: parked again, same day


def test_given_mail_parked_on_two_days_when_redrive_covers_one_then_only_that_one_is_sent(ses, clock):
    park(ses, 3)
    clock.advance(days=2)
    later = park(ses, 2, first=10)
    ses.down = False

    report = redrive.redrive(*redrive.window({"from": "2026-03-03T00:00:00Z"}, clock.now), ses)

    assert report.sent == 2 and ses.sent == Counter(later)
    assert marker(0).status == "unsent"


def test_given_a_redrive_that_crashed_mid_send_when_the_next_runs_then_it_takes_the_claim_over(ses, clock):
    park(ses, 1)
    ses.down = False
    parked = marker(0)
    parked.update(actions=[m.MailMarker.status.set("sending")])  # the crashed run's claim
    start, end = redrive.window({}, clock.now)

    assert redrive.redrive(start, end, ses).sent == 0  # fresh: someone may be sending it
    clock.advance(minutes=5)
    assert redrive.redrive(start, end, ses).sent == 1
    assert ses.sent == Counter(["b0@example.com"])


def test_given_a_parked_mail_when_its_address_is_erased_then_it_is_never_sent(ses, clock):
    park(ses, 1)
    ses.down = False

    privacy.erase("b0@example.com", "support:arn:aws:iam::123456789012:user/ops")
    report = redrive.redrive(*redrive.window({}, clock.now), ses)

    assert report.sent == 0 and not ses.sent
    erased = marker(0)
    assert erased.notice is None and erased.GSI2PK is None


def test_given_a_bad_redrive_window_when_asked_then_invalid():
    for payload in ({"from": "yesterday"}, {"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"}):
        with pytest.raises(Invalid):
            redrive.window(payload, real_clock.now())
    with pytest.raises(Invalid):
        redrive.window({"from": "2026-01-01T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, real_clock.now())


def test_given_ses_refuses_for_good_when_redriven_then_failed_and_not_retried(ses, clock, monkeypatch):
    park(ses, 1)
    ses.down = False

    def refuse(mail: sending.OutgoingMail) -> str:
        raise sending.MailNotSent("MessageRejected", permanent=True)

    monkeypatch.setattr(ses, "send", refuse)
    report = redrive.redrive(*redrive.window({}, clock.now), ses)

    assert report.failed == 1 and marker(0).status == "failed"
    assert redrive.redrive(*redrive.window({}, clock.now), ses).found == 0


def test_given_ses_errors_when_classified_then_only_per_message_refusals_are_permanent(monkeypatch):
    sender = sending.SesSender()

    class Client:
        code = ""

        def send_email(self, **request: Any) -> Any:
            raise ClientError({"Error": {"Code": self.code, "Message": "x"}}, "SendEmail")

    sender._client = client = Client()
    mail = sending.OutgoingMail("key", "a@example.com", "s", "t", "<p>h</p>", {})
    trouble = [
        "TooManyRequestsException",
        "LimitExceededException",
        "AccountSuspendedException",
        "SendingPausedException",
        "InternalFailure",
        "ServiceUnavailable",
        "Throttling",
    ]
    for code in [*trouble, "MessageRejected", "BadRequestException", "NotFoundException"]:
        client.code = code
        with pytest.raises(sending.MailNotSent) as refused:
            sender.send(mail)
        assert refused.value.permanent is (code not in trouble), code


def test_given_parked_mail_when_the_redrive_tool_runs_direct_then_ses_sends_it_once(ses, clock, capsys):
    from tests.support.streams import sent_mail
    from tools import redrive as tool

    park(ses, 3)

    assert tool.main(["--direct"]) == 0
    assert tool.main(["--direct", "--from", "2026-02-28T00:00:00Z"]) == 0

    assert sorted(a for msg in sent_mail() for a in msg.destinations["ToAddresses"]) == [
        "b0@example.com",
        "b1@example.com",
        "b2@example.com",
    ]
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    reports = [line for line in printed if "level" not in line and "found" in line]
    assert [(r["sent"], r["found"]) for r in reports] == [(3, 3), (0, 0)]


def test_given_an_outage_of_five_days_when_ses_recovers_then_the_scheduled_redrive_sends_it_all(ses, clock):
    addresses = park(ses, 2)  # parked on day 0; the scheduled window is the last WINDOW_DAYS (3)
    for _ in range(5):  # SES down for 5 days: each day's scheduled run is refused again
        clock.advance(days=1)
        report = redrive.redrive(*redrive.window({}, clock.now), ses)
        assert (report.found, report.parked, report.sent) == (2, 2, 0)  # a run meets a notice once
    assert {marker(n).GSI2PK for n in range(2)} == {k.unsent_gsi(clock.now.date().isoformat())}
    assert {marker(n).tries for n in range(2)} == {6}

    clock.advance(hours=1)
    ses.down = False
    report = redrive.redrive(*redrive.window({}, clock.now), ses)

    assert report.sent == 2 and ses.sent == Counter(addresses)


BUYER, RECIPIENT, NONCE = "ana.buyer@example.com", "zoe@example.com", "0123456789abcdef0123456789abcdef"


def park_invitation(ses: Ses) -> tuple[m.Seat, m.MailMarker]:
    """An invitation from a buyer who gave no name (its `sender` is the buyer's address), parked."""
    old = seat(buyer_email=BUYER)
    new = invite(old, RECIPIENT, NONCE)
    handler = load_handler("mailer").build(ses)
    assert handler(stream_event(record(old, new)), FakeContext()) == {"batchItemFailures": []}
    parked = m.MailMarker.get(k.mail_pk(f"{new.PK}|{new.SK}|{new.version}|invitation"), k.MAIL_SK)
    assert parked.status == "unsent" and BUYER in (parked.notice or "")
    return new, parked


def test_given_a_parked_invitation_when_its_sender_is_erased_then_the_email_no_longer_names_them(ses, clock):
    _, parked = park_invitation(ses)

    erased = privacy.erase(BUYER, "support:arn:aws:iam::123456789012:user/ops")

    assert erased.changed["mail_markers"] == 1 and erased.changed["mentions"] == 1
    kept = m.MailMarker.get(parked.PK, parked.SK)
    assert BUYER not in (kept.notice or "") and kept.status == "unsent"  # still parked for its recipient
    assert privacy.erase(BUYER, "support:x").changed["mail_markers"] == 0  # twice changes nothing
    ses.down = False
    assert redrive.redrive(*redrive.window({}, clock.now), ses).sent == 1
    mail = ses.mails[0]
    assert mail.to == RECIPIENT and BUYER not in mail.text + mail.html + mail.subject


def test_given_a_parked_invitation_when_its_seat_was_revoked_since_then_it_is_skipped_not_sent(ses, clock):
    invited, parked = park_invitation(ses)
    revoked = change(invited, state="available", recipient_email=None, nonce=None, last_action="revoke")
    revoked.save()
    ses.down = False

    report = redrive.redrive(*redrive.window({}, clock.now), ses)

    assert (report.sent, report.skipped) == (0, 1) and not ses.sent
    stale = m.MailMarker.get(parked.PK, parked.SK)
    assert stale.status == "skipped" and stale.notice is None and stale.GSI2PK is None
    assert redrive.redrive(*redrive.window({}, clock.now), ses).found == 0


def test_given_a_parked_invitation_when_it_was_re_sent_with_a_new_link_then_the_old_one_is_skipped(
    ses, clock
):
    invited, _ = park_invitation(ses)
    change(invited, nonce="f" * 32, last_action="resend").save()
    ses.down = False

    report = redrive.redrive(*redrive.window({}, clock.now), ses)

    assert (report.sent, report.skipped) == (0, 1) and not ses.sent


def test_given_a_parked_decline_to_the_buyer_when_the_recipient_is_erased_then_it_no_longer_names_them(
    ses, clock
):
    invited, _ = park_invitation(ses)
    declined = change(invited, state="available", recipient_email=None, nonce=None, last_action="decline")
    declined.save()
    handler = load_handler("mailer").build(ses)
    assert handler(stream_event(record(invited, declined)), FakeContext()) == {"batchItemFailures": []}
    key = f"{declined.PK}|{declined.SK}|{declined.version}|invitation_declined"
    assert RECIPIENT in (m.MailMarker.get(k.mail_pk(key), k.MAIL_SK).notice or "")

    assert privacy.erase(RECIPIENT, "support:x").changed["mail_markers"] >= 1

    parked = m.MailMarker.get(k.mail_pk(key), k.MAIL_SK)
    assert RECIPIENT not in (parked.notice or "") and parked.status == "unsent"
    ses.down = False
    redrive.redrive(*redrive.window({}, clock.now), ses)
    mail = next(mail for mail in ses.mails if mail.to == BUYER)
    assert RECIPIENT not in mail.text + mail.html + mail.subject
