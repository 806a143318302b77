"""Send the email a committed change calls for, exactly once per notice.

For each stream record, `notices_for` says which emails are due. Each one is sent at
most once per idempotency key, guarded by a `MailMarker` item (`MAIL#<key>`, `MAIL`):

1. claim: put the marker `status=sending` only if it does not exist;
   an existing `sent` (or `failed`) marker means the work is done: skip;
   an existing `sending` marker younger than `STALE_AFTER` means another delivery of the
   record is at it right now: fail the record so the stream retries it later; an older one
   is the trace of a crashed attempt: take it over (SES may have accepted that attempt:
   after a crash we prefer a rare duplicate to a lost invitation);
2. send through SES v2 (`Sender`), then set the marker `status=sent` with the message id;
3. if SES refuses for a reason that may pass ("SES trouble": throttling, an exhausted quota,
   a paused account or configuration set, a 5xx, a timeout), the notice is *parked*: the
   marker becomes `status=unsent` with the email it would have sent and a sparse GSI2 key
   `UNSENT#<day>`, `EmailsParked` is counted, and the stream moves on without spending its
   retries; `giftplans.outbox.redrive` sends the parked notices once SES is back (every 15
   minutes by the mailer's schedule, or by hand: docs/runbook.md "SES outage");
   if it refuses this message for good (bad address, rejected content), the marker is
   set `failed` and the stream moves on (a poison message must not block the shard).

An invitation that SES accepted also marks its seat `delivery=sent` (see
`giftplans.outbox.feedback.mark_sent`): a bookkeeping write that does not change the seat's
version, so it produces no notice.
"""

from __future__ import annotations

import json
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from giftplans import clock, settings, tokens
from giftplans.errors import DomainError
from giftplans.observability import Metric, count, logger
from giftplans.outbox import feedback, pending, rendering
from giftplans.outbox.notices import Email, Notice, notices_for
from giftplans.outbox.parked import put_mentions
from giftplans.store import get_store
from giftplans.store import keys as k
from giftplans.store import models as m
from giftplans.store.writes import Refused, Steps

MARKER_TTL = timedelta(days=30)
STALE_AFTER = timedelta(minutes=2)  # must exceed the mailer's Lambda timeout (60 s in template.yaml)
SENDING, SENT, FAILED, UNSENT = "sending", "sent", "failed", "unsent"
# SES v2 error codes that will not pass by retrying the same message
PERMANENT = frozenset({"BadRequestException", "MessageRejected", "NotFoundException"})
# Every other refusal is "SES trouble" and parks the notice: TooManyRequestsException and
# Throttling (rate), LimitExceededException (daily quota), SendingPausedException and
# AccountSuspendedException (a paused configuration set or account), MailFromDomainNotVerifiedException,
# InternalFailure / ServiceUnavailable and any 5xx, and botocore's timeouts and connection errors.


class MailNotSent(Exception):
    """SES did not take the message; `permanent` says whether retrying the same message can help."""

    def __init__(self, code: str, permanent: bool) -> None:
        super().__init__(code)
        self.code = code
        self.permanent = permanent


class InFlight(Exception):
    """Another delivery of this record is sending the same email right now; retry later."""


@dataclass(frozen=True)
class OutgoingMail:
    key: str
    to: str
    subject: str
    text: str
    html: str
    tags: dict[str, str]


class Sender(Protocol):
    def send(self, mail: OutgoingMail) -> str:
        """Hand the message to the provider; return its message id or raise MailNotSent."""
        ...


class SesSender:
    """SES v2 `SendEmail` with simple (subject, text, HTML) content; one client per container."""

    def __init__(self, configuration_set: str | None = None) -> None:
        import os

        self.configuration_set = configuration_set or os.environ.get("SES_CONFIGURATION_SET") or None
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("sesv2")
        return self._client

    def send(self, mail: OutgoingMail) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        request: dict[str, Any] = {
            "FromEmailAddress": settings.get().mail_from,
            "Destination": {"ToAddresses": [ascii_domain(mail.to)]},
            "Content": {
                "Simple": {
                    "Subject": {"Data": mail.subject, "Charset": "UTF-8"},
                    "Body": {
                        "Text": {"Data": mail.text, "Charset": "UTF-8"},
                        "Html": {"Data": mail.html, "Charset": "UTF-8"},
                    },
                }
            },
            "EmailTags": [
                {"Name": name, "Value": feedback.tag_value(value)} for name, value in mail.tags.items()
            ],
        }
        if self.configuration_set:
            request["ConfigurationSetName"] = self.configuration_set
        try:
            return str(self.client.send_email(**request)["MessageId"])
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", "ClientError"))
            raise MailNotSent(code, permanent=code in PERMANENT) from error
        except BotoCoreError as error:  # timeouts, connection errors: the message may pass next time
            raise MailNotSent(type(error).__name__, permanent=False) from error


# ---- the stream record handler --------------------------------------------------------------------------


def handle_record(record: dict[str, Any], via: Sender) -> int:
    """Send every email one stream record calls for through `via`; how many were sent now. Raises to retry."""
    sent = 0
    for notice in notices_for(record):
        if notice.email is not None and deliver(notice, via):
            sent += 1
    return sent


def deliver(notice: Notice, via: Sender) -> bool:
    """Send one notice's email unless its key was already sent; True when it was sent by this call."""
    email = notice.email
    assert email is not None
    if "@" not in (email.to or ""):
        return False  # an erased address (docs/privacy.md) is never mailed
    to = tokens.email_key(email.to)  # the marker is found by its address (erasure)
    if not _claim(notice.key, to):
        return False
    return send_claimed(notice, via, to) == SENT


def send_claimed(notice: Notice, via: Sender, to: str, parked: m.MailMarker | None = None) -> str:
    """Send a notice whose marker this call holds (`sending`); SENT, FAILED or UNSENT (parked).

    `parked` is the marker of a notice the redrive took back: parked again, it moves to today's
    `UNSENT#<day>` (its `tries` counted on), so the scheduled redrive's window always holds it.
    """
    email = notice.email
    assert email is not None
    try:
        rendered = rendering.render(email.template, pending.with_addresses(email.template, email.params))
        message_id = via.send(
            OutgoingMail(
                notice.key, email.to, rendered.subject, rendered.text, rendered.html, ses_tags(notice)
            )
        )
    except MailNotSent as error:
        extra = {
            "key": notice.key,
            "template": email.template,
            "to": tokens.mask_email(email.to),
            "code": error.code,
        }
        if error.permanent:
            logger.error("email refused for good", extra=extra)
            _finish(notice.key, FAILED, None, to)
            return FAILED
        _park(notice, to, parked)
        count(Metric.EMAILS_PARKED)
        logger.warning("email parked: SES in trouble, the redrive sends it", extra=extra)
        return UNSENT
    except BaseException:
        if parked is None:
            _release(notice.key)  # a bug or a crash in rendering/sending: let the retry send it
        else:
            with suppress(Exception):  # still parked: the next redrive sends it
                _park(notice, to, parked)
        raise
    _finish(notice.key, SENT, message_id, to)
    count(Metric.EMAILS_SENT)
    logger.info(
        "email sent",
        extra={
            "key": notice.key,
            "template": email.template,
            "to": tokens.mask_email(email.to),
            "message_id": message_id,
        },
    )
    tags = ses_tags(notice)
    if email.template == "invitation" and "link" in tags:
        try:
            feedback.mark_sent(tags["purchase_id"], tags["seat_id"], tags["link"])
        except (
            DomainError,
            ClientError,
            BotoCoreError,
        ):  # bookkeeping only: the email is out and its marker says so
            logger.warning("could not mark the invitation sent", extra={"key": notice.key})
    return SENT


# ---- the marker -----------------------------------------------------------------------------------------


def _marker(key: str, status: str, to: str | None = None) -> m.MailMarker:
    """The marker of notice `key`; `to` (the address's key) puts it on GSI3 so erasure finds it."""
    now = clock.now()
    marker = m.MailMarker(
        k.mail_pk(key), k.MAIL_SK, status=status, at=clock.iso(now), expires_at=clock.epoch(now + MARKER_TTL)
    )
    if to is not None:
        marker.GSI3PK, marker.GSI3SK = k.email_gsi(to), k.mail_email_sk(key)
    return marker


def _put_marker(
    key: str, status: str, condition: Any = None, message_id: str | None = None, to: str | None = None
) -> None:
    marker = _marker(key, status, to)
    marker.message_id = message_id
    get_store().write(lambda steps: steps.put("marker", marker, condition=condition))


def _claim(key: str, to: str | None = None) -> bool:
    """True when this call may send `key`; False when it was already sent (or failed for good)."""
    try:
        _put_marker(key, SENDING, condition=m.MailMarker.PK.does_not_exist(), to=to)
        return True
    except Refused as refused:
        existing = refused.old("marker")  # the marker as it stood: no second read
    if not isinstance(existing, m.MailMarker):
        existing = get_store().mail_marker(key)
        if existing is None:
            return _claim(key, to)  # released in between: try once more
    if existing.status != SENDING:
        return False
    if clock.now() - clock.parse_iso(existing.at) < STALE_AFTER:
        raise InFlight(key)
    try:  # a crashed attempt's claim: take it over, unless someone else just did
        _put_marker(
            key, SENDING, condition=(m.MailMarker.status == SENDING) & (m.MailMarker.at == existing.at), to=to
        )
    except Refused as refused:
        raise InFlight(key) from refused
    return True


def _finish(key: str, status: str, message_id: str | None, to: str | None = None) -> None:
    _put_marker(key, status, message_id=message_id, to=to)


def notice_json(notice: Notice) -> str:
    """What a parked marker keeps of its notice: enough to send it again (`parked_notice`)."""
    email = notice.email
    assert email is not None
    payload = {"kind": notice.kind, "to": email.to, "template": email.template, "params": email.params}
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def parked_notice(marker: m.MailMarker) -> Notice | None:
    """The notice a parked marker keeps; None when it keeps none (erased, or sent meanwhile)."""
    if not marker.notice:
        return None
    data = json.loads(marker.notice)
    key = marker.PK.removeprefix("MAIL#")
    return Notice(data["kind"], key, email=Email(data["to"], data["template"], dict(data["params"])))


def _park(notice: Notice, to: str, parked: m.MailMarker | None = None) -> None:
    """The claim becomes `unsent`, keeping the email and a sparse `UNSENT#<day>` key (GSI2).

    Parked again (the redrive was refused too) it moves to today's day: the scheduled redrive
    looks back `redrive.WINDOW_DAYS` only, so a notice that kept its first day would drop out
    of it in an outage longer than that. The move costs nothing: this put rewrites the marker anyway.
    """
    parked_at = clock.iso(clock.now())
    marker = _marker(notice.key, UNSENT, to)
    marker.notice, marker.parked_at = notice_json(notice), parked_at
    marker.tries = int(parked.tries or 0) + 1 if parked is not None else 1
    marker.GSI2PK = k.unsent_gsi(parked_at[:10])
    marker.GSI2SK = k.unsent_gsi_sk(parked_at, notice.key)
    params = notice.email.params if notice.email is not None else {}

    def build(steps: Steps) -> None:
        steps.put("marker", marker)
        put_mentions(steps, marker, to, params)  # erasing another address it names finds it

    get_store().write(build)


def _release(key: str) -> None:
    with suppress(Refused):  # not ours to release any more (taken over, or finished)
        get_store().write(
            lambda steps: steps.delete(
                "marker", m.MailMarker(k.mail_pk(key), k.MAIL_SK), condition=m.MailMarker.status == SENDING
            )
        )


# ---- addresses and tags ---------------------------------------------------------------------------------


def ascii_domain(address: str) -> str:
    """IDN domains go to SES in punycode; the local part (unicode, plus-addressed) is kept as it is."""
    local, at, domain = address.strip().rpartition("@")
    if not at or domain.isascii():
        return address.strip()
    return f"{local}@{domain.encode('idna').decode('ascii')}"


def ses_tags(notice: Notice) -> dict[str, str]:
    """The message's SES tags. They come back with bounces through an unencrypted topic, so they
    name no secret: the notice's kind, the purchase and seat, and for an invitation not its nonce
    but `link`, a prefix of the link's stored hash (`Seat.token_hash`, itself a hash of the MAC)."""
    tags = notice.mail_tags()
    nonce = tags.pop("nonce", None)
    if nonce and "seat_id" in tags:  # the MAC depends on purchase, seat and nonce only
        token = tokens.invite_token(tags["purchase_id"], tags["seat_id"], "x", 0, nonce)
        tags["link"] = token.mac_hash[: feedback.LINK_TAG_CHARS]
    return {"kind": notice.kind, **tags}
