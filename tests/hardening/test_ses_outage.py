"""Fault: SES in trouble for a day, then back; every notice is sent exactly once, none lost (issue 14, 3).

The mailer runs in process (moto DynamoDB, the real handler, batches of 10 as the stream
hands them out, each batch delivered twice). SES is the real `SesSender` whose client
raises what SES raises in an outage: throttling, an exhausted quota, a paused account or
configuration set, 5xx and timeouts, mixed. The outage spans midnight, so the redrive
reads two `UNSENT#<day>` partitions. Redrives run during the outage (each stops at its
first refusal), then SES recovers but still throttles now and then, and redrives run,
two at a time, until nothing is left.
Figures: tests/hardening/FINDINGS.md ("SES outage").
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from giftplans.outbox import redrive, sending
from giftplans.store import keys as k
from giftplans.store import models as m

from tests.support.apigw import FakeContext, load_handler
from tests.support.streams import change, purchase, record, seat, stream_event

NOTICES = 1000
INVITED = 200  # invitations (seats); the rest are receipts (purchases)
BATCH = 10  # the mailer's BatchSize in template.yaml
START = datetime(2026, 3, 1, 23, 0, tzinfo=UTC)  # the outage crosses midnight
TROUBLE = [  # (code, HTTP status) as SES v2 answers them; None: a read timeout
    ("TooManyRequestsException", 429),
    ("LimitExceededException", 400),
    ("AccountSuspendedException", 400),
    ("SendingPausedException", 400),
    ("InternalFailure", 500),
    ("ServiceUnavailable", 503),
    None,
]


class FlakySes:
    """The SES v2 client's `send_email`: refuses while `down`, then throttles every `every`-th call."""

    def __init__(self) -> None:
        self.down = True
        self.every = 0
        self.calls = 0
        self.faults: Counter[str] = Counter()
        self.sent: Counter[tuple[str, str]] = Counter()  # (recipient, subject) -> times
        self._ids = itertools.count(1)
        self._kinds = itertools.cycle(TROUBLE)

    def send_email(self, **request: Any) -> dict[str, Any]:
        self.calls += 1
        if self.down or (self.every and self.calls % self.every == 0):
            kind = next(self._kinds)
            if kind is None:
                self.faults["ReadTimeoutError"] += 1
                raise ReadTimeoutError(endpoint_url="https://email.us-east-1.amazonaws.com")
            self.faults[kind[0]] += 1
            error: dict[str, Any] = {
                "Error": {"Code": kind[0], "Message": "SES trouble"},
                "ResponseMetadata": {"HTTPStatusCode": kind[1]},
            }
            raise ClientError(error, "SendEmail")  # type: ignore[arg-type]
        to = request["Destination"]["ToAddresses"][0]
        self.sent[(to, request["EmailTags"][0]["Value"] if request["EmailTags"] else "")] += 1
        return {"MessageId": f"msg-{next(self._ids)}"}


def _records() -> list[dict[str, Any]]:
    """INVITED invitations and NOTICES - INVITED receipts, each a stream record with one email."""
    out = []
    for n in range(INVITED):
        old = seat(seat_id=k.seat_id_of(n + 1))
        new = change(
            old,
            state="invited",
            recipient_email=f"r{n}@example.com",
            nonce=f"{n:032x}",
            token_hash="h" * 16,
            invited_at="2026-03-01T12:00:00Z",
            last_action="invite",
            actor="buyer",
        )
        new.save()  # an accepted invitation marks its seat sent
        out.append(record(old, new))
    for n in range(NOTICES - INVITED):
        pid = f"pur_{n:026d}"
        out.append(record(None, purchase(purchase_id=pid, buyer_email=f"b{n}@example.com")))
    return out


@pytest.fixture
def mailer(aws: None, clock: Any) -> Any:
    sender = sending.SesSender()
    flaky = FlakySes()
    sender._client = flaky
    clock.set(START)
    return load_handler("mailer").build(sender), flaky, sender


def _parked() -> int:
    """Markers still on the sparse key, both days of the outage (Select=COUNT: no items read back)."""
    return sum(m.Item.due_index.count(k.unsent_gsi(day)) for day in ("2026-03-01", "2026-03-02"))


def test_given_ses_down_for_1000_notices_when_it_recovers_then_each_is_sent_exactly_once(mailer, clock):
    handler, ses, sender = mailer
    records = _records()
    window = {"from": "2026-03-01T00:00:00Z", "to": "2026-03-03T00:00:00Z"}

    # The outage: every batch (each delivered twice, as a retried shard would) parks its notices.
    for at in range(0, len(records), BATCH):
        batch = stream_event(*records[at : at + BATCH])
        assert handler(batch, FakeContext()) == {"batchItemFailures": []}, "SES trouble spent a retry"
        assert handler(batch, FakeContext()) == {"batchItemFailures": []}
        clock.advance(seconds=30)
    assert sum(ses.sent.values()) == 0 and _parked() == NOTICES
    for _ in range(3):  # the schedule runs on: a few refused calls each, nothing sent
        before = ses.calls
        done = handler({"redrive": window}, FakeContext())
        assert (done["stopped"], done["sent"]) == ("ses_trouble", 0)
        assert ses.calls - before == redrive.STOP_AFTER
        clock.advance(minutes=15)

    # SES is back, throttling one call in 9: redrives, two at a time, until nothing is parked.
    ses.down, ses.every = False, 9
    runs = 0
    while _parked() and runs < 10:
        first = handler({"redrive": window}, FakeContext())
        second = redrive.redrive(*redrive.window(window, clock.now), sender)
        assert first["stopped"] is None and second.stopped is None, "a throttle now and then goes on"
        runs += 1
        clock.advance(minutes=15)

    recipients = Counter(to for to, _ in ses.sent.elements())
    assert len(recipients) == NOTICES, "a notice was lost"
    assert set(recipients.values()) == {1}, "a notice was sent twice"
    assert _parked() == 0
    faults = sum(ses.faults.values())
    assert faults >= NOTICES and len(ses.faults) == len(TROUBLE)
    markers = [m.MailMarker.get(k.mail_pk(key), k.MAIL_SK) for key in _keys(records)]
    assert {mk.status for mk in markers} == {"sent"}
    print(
        f"\nSES outage: notices {NOTICES}, faults injected {faults} {dict(ses.faults)}, "
        f"sent {sum(ses.sent.values())}, lost 0, redrive rounds {runs}"
    )


def _keys(records: list[dict[str, Any]]) -> list[str]:
    from giftplans.outbox.notices import notices_for

    return [n.key for r in records for n in notices_for(r) if n.email is not None]
