"""The mailer under moto: stream batches in, SES v2 messages out, exactly once per notice."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from botocore.exceptions import ClientError
from giftplans import observability, tokens
from giftplans.outbox import sending
from giftplans.store import keys as k
from giftplans.store import models as m

from tests.support.apigw import FakeContext, load_handler
from tests.support.streams import (
    PURCHASE_ID,
    TERM_END_TS,
    change,
    invite,
    purchase,
    record,
    seat,
    sent_mail,
    stream_event,
)

RECIPIENT = "zoë+gift@example.com"
NONCE = "0123456789abcdef0123456789abcdef"


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, item: logging.LogRecord) -> None:
        self.lines.append(f"{item.getMessage()} {item.__dict__}")


@pytest.fixture
def logs() -> Iterator[Collect]:
    collect = Collect()
    target = logging.getLogger(observability.logger.name)
    target.addHandler(collect)
    yield collect
    target.removeHandler(collect)


_handler: Any = None  # the mail function wired to the test's sender (the `ses` fixture)


@pytest.fixture
def ses(aws: None, clock: Any) -> Iterator[sending.SesSender]:
    global _handler
    sender = sending.SesSender()
    _handler = load_handler("mailer").build(sender)
    yield sender
    _handler = None


def run(*records: dict[str, Any]) -> dict[str, Any]:
    return _handler(stream_event(*records), FakeContext())


def invited_seat() -> tuple[m.Seat, m.Seat]:
    """A seat invited to RECIPIENT, saved as the table holds it, and the record of that change."""
    old = seat()
    return old, invite(old, RECIPIENT, NONCE, buyer_name="Ana Buyer")


def marker(key: str) -> m.MailMarker | None:
    try:
        return m.MailMarker.get(k.mail_pk(key), "MAIL", consistent_read=True)
    except m.MailMarker.DoesNotExist:
        return None


def to_addresses() -> list[str]:
    return [address for message in sent_mail() for address in message.destinations["ToAddresses"]]


def test_given_invite_record_when_batch_delivered_twice_then_invitation_sent_once(ses, logs):
    old, new = invited_seat()
    rec = record(old, new)

    assert run(rec) == {"batchItemFailures": []}
    assert run(rec) == {"batchItemFailures": []}

    assert to_addresses() == [RECIPIENT]
    key = f"PURCHASE#{PURCHASE_ID}|SEAT#0001|2|invitation"
    stored = marker(key)
    assert stored is not None and stored.status == "sent" and stored.message_id == sent_mail()[0].id
    assert stored.expires_at > 0


def test_given_invitation_when_sent_then_link_works_and_names_plan_sender_and_term_end(ses, logs):
    old, new = invited_seat()
    run(record(old, new))

    message = sent_mail()[0]
    assert message.subject == "Ana Buyer gave you a Pro plan"
    assert "1 March 2027" in message.body and "Ana Buyer" in message.body
    url = next(part for part in message.body.split('"') if "/accept?token=" in part)
    token = tokens.parse_invite_token(parse_qs(urlparse(url).query)["token"][0])
    assert token is not None and token.mac_hash == new.token_hash
    assert (token.purchase_id, token.seat_id, token.plan, token.term_end_ts) == (
        PURCHASE_ID,
        "0001",
        "pro",
        TERM_END_TS,
    )


def test_given_invitation_when_sent_then_seat_marked_sent_without_a_new_version(ses, logs):
    old, new = invited_seat()
    run(record(old, new))

    stored = m.Seat.get(new.PK, new.SK, consistent_read=True)
    assert stored.delivery == "sent" and stored.version == new.version and stored.last_action == "invite"


def test_given_invitation_when_sent_then_logs_hold_no_raw_address(ses, logs):
    old, new = invited_seat()
    run(record(old, new))

    text = "\n".join(logs.lines)
    assert "email sent" in text and tokens.mask_email(RECIPIENT) in text
    assert RECIPIENT not in text and "gift@example.com" not in text
    assert NONCE not in text


def test_given_text_and_html_when_sent_then_ses_gets_both_parts(ses, monkeypatch):
    seen: list[dict[str, Any]] = []
    real = ses.client.send_email

    def spy(**request: Any) -> Any:
        seen.append(request)
        return real(**request)

    monkeypatch.setattr(ses.client, "send_email", spy)
    old, new = invited_seat()
    run(record(old, new))

    body = seen[0]["Content"]["Simple"]["Body"]
    assert "/accept?token=" in body["Text"]["Data"] and "<a href=" in body["Html"]["Data"]
    assert seen[0]["Destination"] == {"ToAddresses": [RECIPIENT]}
    tags = {t["Name"]: t["Value"] for t in seen[0]["EmailTags"]}
    # Issue 14: the tags reach an unencrypted topic, so the nonce is not among them; `link` names the
    # link by a prefix of its stored hash (a hash of its MAC).
    link = tokens.invite_token(PURCHASE_ID, "0001", "pro", TERM_END_TS, NONCE).mac_hash[:24]
    assert tags == {"kind": "invitation", "purchase_id": PURCHASE_ID, "seat_id": "0001", "link": link}
    assert not any(NONCE in value for value in tags.values())
    assert "ConfigurationSetName" not in seen[0]


def throttled_once(ses: sending.SesSender, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls = [0]
    real = ses.client.send_email

    def flaky(**request: Any) -> Any:
        calls[0] += 1
        if calls[0] == 1:
            error = {"Error": {"Code": "TooManyRequestsException", "Message": "slow down"}}
            raise ClientError(error, "SendEmail")  # type: ignore[arg-type]
        return real(**request)

    monkeypatch.setattr(ses.client, "send_email", flaky)
    return calls


def test_given_ses_throttles_when_batch_runs_then_notice_parked_and_batch_ok(ses, monkeypatch):
    throttled_once(ses, monkeypatch)
    old, new = invited_seat()
    rec = record(old, new)

    answer = run(rec)

    assert answer == {"batchItemFailures": []}  # SES trouble does not spend the stream's retries
    assert sent_mail() == []
    parked = marker(f"PURCHASE#{PURCHASE_ID}|SEAT#0001|2|invitation")
    assert parked is not None and parked.status == "unsent" and parked.tries == 1
    assert parked.GSI2PK == "UNSENT#2026-03-01" and parked.notice and RECIPIENT in parked.notice


def test_given_ses_throttled_once_when_stream_retries_and_redrive_runs_then_sent_exactly_once(
    ses, monkeypatch
):
    throttled_once(ses, monkeypatch)
    old, new = invited_seat()
    rec = record(old, new)
    receipt = record(None, purchase())

    run(receipt, rec)
    run(receipt)  # a replay finds the receipt parked: the redrive owns it
    assert to_addresses() == [RECIPIENT]
    assert _handler({"redrive": {}}, FakeContext())["sent"] == 1
    assert _handler({"redrive": {}}, FakeContext())["sent"] == 0
    run(receipt, rec)

    assert sorted(to_addresses()) == sorted([RECIPIENT, "buyer@example.com"])
    sent = marker(f"PURCHASE#{PURCHASE_ID}|PURCHASE|1|receipt")
    assert sent is not None and sent.status == "sent" and sent.GSI2PK is None and sent.notice is None


def test_given_ses_refuses_address_for_good_when_sent_then_marker_failed_and_batch_ok(ses, monkeypatch):
    def refuse(**request: Any) -> Any:
        raise ClientError({"Error": {"Code": "BadRequestException", "Message": "bad address"}}, "SendEmail")

    monkeypatch.setattr(ses.client, "send_email", refuse)
    old, new = invited_seat()

    assert run(record(old, new)) == {"batchItemFailures": []}
    stored = marker(f"PURCHASE#{PURCHASE_ID}|SEAT#0001|2|invitation")
    assert stored is not None and stored.status == "failed"


def test_given_a_fresh_sending_claim_when_record_arrives_then_it_waits(ses):
    old, new = invited_seat()
    rec = record(old, new)
    key = f"PURCHASE#{PURCHASE_ID}|SEAT#0001|2|invitation"
    sending._marker(key, "sending").save()

    assert run(rec)["batchItemFailures"] != []
    assert sent_mail() == []


def test_given_a_stale_sending_claim_when_record_arrives_then_it_is_taken_over(ses, clock):
    old, new = invited_seat()
    key = f"PURCHASE#{PURCHASE_ID}|SEAT#0001|2|invitation"
    sending._marker(key, "sending").save()
    clock.advance(minutes=5)

    assert run(record(old, new)) == {"batchItemFailures": []}
    assert to_addresses() == [RECIPIENT]
    sent = marker(key)
    assert sent is not None and sent.status == "sent"


def test_given_configuration_set_when_sent_then_request_names_it(aws, clock, monkeypatch):
    monkeypatch.setenv("SES_CONFIGURATION_SET", "gift-plans-mail")
    sender = sending.SesSender()
    seen: list[dict[str, Any]] = []

    def send_email(**r: Any) -> dict[str, str]:
        seen.append(r)
        return {"MessageId": "m-1"}

    monkeypatch.setattr(sender.client, "send_email", send_email)
    old, new = invited_seat()

    assert sending.handle_record(record(old, new), via=sender) == 1
    assert seen[0]["ConfigurationSetName"] == "gift-plans-mail"


def test_given_idn_domain_when_sent_then_domain_goes_as_punycode_and_local_part_stays():
    assert sending.ascii_domain("zoë+gift@bücher.de") == "zoë+gift@xn--bcher-kva.de"
    assert sending.ascii_domain("a+b@example.com") == "a+b@example.com"


def test_given_bookkeeping_writes_when_streamed_then_nothing_is_sent(ses):
    old, new = invited_seat()
    bounced = change(new, delivery="bounced", last_action="bounce", actor="ses")
    marker_item = sending._marker("k", "sent")

    run(record(new, bounced), record(None, marker_item), record(old, new, event_name="REMOVE"))

    assert sent_mail() == []


@pytest.mark.parametrize("fault", ["ProvisionedThroughputExceededException", "ReadTimeout"])
def test_given_dynamodb_fails_the_claim_when_batch_runs_then_record_retried_and_later_sent_once(
    ses, monkeypatch, fault
):
    from tests.hardening.faults import failing_writes

    old, new = invited_seat()
    rec = record(old, new)

    with failing_writes(monkeypatch, fault) as refused:
        answer = run(rec)

    assert refused, "the marker write must have been attempted"
    assert answer == {"batchItemFailures": [{"itemIdentifier": rec["dynamodb"]["SequenceNumber"]}]}
    assert sent_mail() == []
    run(rec)
    run(rec)
    assert to_addresses() == [RECIPIENT]


def test_given_one_record_of_a_batch_raises_when_run_then_only_it_is_retried_and_the_rest_are_handled(
    ses, monkeypatch, logs
):
    old, new = invited_seat()
    first, broken, last = (record(old, new) for _ in range(3))
    for number, rec in enumerate((first, broken, last), start=1):
        rec["dynamodb"]["SequenceNumber"] = f"10{number}"
    real = sending.handle_record
    tried: list[str] = []

    def flaky(rec: dict[str, Any], via: sending.Sender) -> int:
        tried.append(rec["dynamodb"]["SequenceNumber"])
        if rec is broken:
            raise RuntimeError("a bug in one record")
        return real(rec, via)

    monkeypatch.setattr(sending, "handle_record", flaky)

    answer = run(first, broken, last)

    assert answer == {"batchItemFailures": [{"itemIdentifier": "102"}]}
    assert tried == ["101", "102", "103"]  # the records after the failure are still tried
    assert to_addresses() == [RECIPIENT]  # sent once (first); the last is the same notice, skipped
    assert any("mail record failed" in line and "102" in line for line in logs.lines)
