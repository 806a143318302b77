"""Send the mail that was parked while SES was in trouble (issue 14; docs/runbook.md "SES outage").

When SES cannot take a message for a reason that may pass (throttling, quota, a paused
account, a 5xx, a timeout), `giftplans.outbox.sending` parks the notice on its own mail
marker (`MAIL#<key>`): `status=unsent`, the email it would have sent (`notice`, JSON) and a
sparse GSI2 key `UNSENT#<day>` / `<parked at>#<key>`. Nothing else keeps it: the stream
has moved on, so the redrive is how it goes out.

`redrive(start, end, via)` reads the parked notices of a time window, day partition by day
partition (a Query on the sparse key, never a Scan), and sends each once:

1. take it: a conditional update `unsent -> sending` that only one caller wins (a second
   redrive, run at the same time or again, finds it taken or sent and skips it); a
   `sending` marker older than `sending.STALE_AFTER` that still keeps its notice is the
   trace of a redrive that crashed mid-send: taken over the same way;
2. send it through `sending.send_claimed`, exactly as the stream would have: `sent` (the
   notice and the GSI2 key are dropped with it), `failed` for a permanent refusal, or parked
   again (moved to today's day, `tries + 1`) if SES is still in trouble, so an outage longer
   than `WINDOW_DAYS` loses nothing that the runs keep retrying (a run meets a notice once,
   even when it moved to a day the run reads later). `STOP_AFTER` refusals in a row
   stop the run (SES is still down): the next one (every 15 minutes, the mailer's schedule)
   tries again, so an outage costs a few SES calls per run, not one per parked notice,
   while a throttled call now and then (a recovering SES) does not stop the run.

The mailer runs it on its schedule (`{"redrive": {}}`: the last `WINDOW_DAYS` days);
`python -m tools.redrive --from ... --to ...` runs it by hand (`make redrive`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from giftplans import clock, tokens
from giftplans.errors import Invalid
from giftplans.observability import logger
from giftplans.outbox import parked, sending
from giftplans.outbox.notices import Notice
from giftplans.store import get_store
from giftplans.store import keys as k
from giftplans.store import models as m
from giftplans.store.writes import Refused

WINDOW_DAYS = 3  # the scheduled redrive looks this far back (markers live sending.MARKER_TTL)
MAX_WINDOW = sending.MARKER_TTL  # nothing parked longer ago is still there
BATCH = 100  # BatchGetItem's limit
STOP_AFTER = 3  # refusals in a row that end a run: SES is still in trouble


@dataclass
class Redriven:
    """What one redrive did; `stopped` is why it ended early (`ses_trouble`, `out_of_time`), else None."""

    start: str
    end: str
    found: int = 0
    sent: int = 0
    failed: int = 0
    parked: int = 0  # parked again: SES still in trouble
    skipped: int = 0  # sent, taken or erased meanwhile, or a stale invitation (outbox.parked)
    stopped: str | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def window(payload: dict[str, Any] | None, now: datetime) -> tuple[datetime, datetime]:
    """The window a redrive request names (`from`, `to`: ISO instants); by default the last WINDOW_DAYS."""
    payload = payload or {}
    try:
        end = clock.parse_iso(str(payload["to"])) if payload.get("to") else now
        since = payload.get("from")
        start = clock.parse_iso(str(since)) if since else end - timedelta(days=WINDOW_DAYS)
    except ValueError:
        raise Invalid("'from' and 'to' are ISO 8601 instants, e.g. 2026-03-01T00:00:00Z.") from None
    if start > end:
        raise Invalid("'from' must not be later than 'to'.")
    if end - start > MAX_WINDOW:
        raise Invalid(f"A redrive window is at most {MAX_WINDOW.days} days: no marker lives longer.")
    return start, end


def redrive(
    start: datetime,
    end: datetime,
    via: sending.Sender,
    *,
    out_of_time: Callable[[], bool] = lambda: False,
) -> Redriven:
    """Send every notice parked between `start` and `end` (inclusive) once; see the module doc."""
    lo, hi = clock.iso(start), clock.iso(end)
    report = Redriven(lo, hi)
    refused = 0  # in a row
    seen: set[str] = set()  # parked again, a notice moves to today: a run takes it once
    day = start.date()
    while day <= end.date() and report.stopped is None:
        keys = get_store().unsent(day.isoformat(), lo, hi)
        while report.stopped is None and (chunk := list(itertools.islice(keys, BATCH))):
            markers = get_store().many(*[(k.mail_pk(key), k.MAIL_SK) for key in chunk])
            seats = _invited_seats(markers.values())
            for key in chunk:
                if out_of_time():
                    report.stopped = "out_of_time"
                    break
                if key in seen:
                    continue
                seen.add(key)
                report.found += 1
                marker = markers.get((k.mail_pk(key), k.MAIL_SK))
                taken = _one(marker, seats) if isinstance(marker, m.MailMarker) else None
                if taken is None:
                    report.skipped += 1
                    continue
                result = sending.send_claimed(taken[0], via, taken[1], parked=taken[2])
                refused = refused + 1 if result == sending.UNSENT else 0
                report.sent += result == sending.SENT
                report.failed += result == sending.FAILED
                report.parked += result == sending.UNSENT
                if refused >= STOP_AFTER:
                    report.stopped = "ses_trouble"
                    break
        day += timedelta(days=1)
    logger.info("redrive done", extra=report.as_json())
    return report


def _invited_seats(markers: Iterable[m.Item]) -> dict[parked.Key, m.Item]:
    """The seats of a chunk's parked invitations, in one BatchGetItem (none when it holds none)."""
    wanted = {
        key
        for marker in markers
        if isinstance(marker, m.MailMarker) and (key := parked.invitation_seat(marker.notice))
    }
    return get_store().many(*wanted) if wanted else {}


def _one(marker: m.MailMarker, seats: dict[parked.Key, m.Item]) -> tuple[Notice, str, m.MailMarker] | None:
    """Take a parked marker for this call: (its notice, its address key, the marker), or None to skip."""
    notice = sending.parked_notice(marker)
    if notice is None or notice.email is None or "@" not in (notice.email.to or ""):
        return None  # erased, or sent meanwhile
    if marker.status == sending.SENDING:
        if clock.now() - clock.parse_iso(marker.at) < sending.STALE_AFTER:
            return None  # someone is sending it right now
    elif marker.status != sending.UNSENT:
        return None
    seat = parked.invitation_seat(marker.notice)
    if seat is not None and not parked.current_invitation(notice.email.params, seats.get(seat)):
        parked.skip(marker)  # revoked, re-invited or accepted since it was parked: never sent
        return None
    condition = (m.MailMarker.status == marker.status) & (m.MailMarker.at == marker.at)
    actions = [m.MailMarker.status.set(sending.SENDING), m.MailMarker.at.set(clock.iso(clock.now()))]
    try:
        get_store().write(lambda steps: steps.update("marker", marker, actions, condition=condition))
    except Refused:
        return None  # another redrive took it first
    to = marker.GSI3PK.removeprefix("EMAIL#") if marker.GSI3PK else tokens.email_key(notice.email.to)
    return notice, to, marker
