"""What a parked notice keeps of other people, and what the redrive checks before it sends one.

A parked marker (`giftplans.outbox.sending`, `status=unsent`) keeps the email as JSON. Its
own addressee is found by the marker's GSI3 key, but the params may name someone else: an
invitation's `sender` is the buyer's address when the buyer gave no name, and the buyer's
`invitation_accepted` / `invitation_declined` / credit mails name the `recipient`. So that the
erasure of that other person finds them too (SPEC 8.10), parking writes a `Mention` per such
address (as `audit.put` does for an audit event): PK the marker's (`MAIL#<key>`), SK
`MENTION#MAIL#<address key>`, GSI3 `EMAIL#<address key>`, dying with the marker (same TTL).
`scrub` puts the tombstone in the parked params in place of the address and drops the mention.

An invitation parked for days may be stale when SES is back: its seat revoked, re-invited or
re-sent (a new nonce), or accepted. `current_invitation` says whether the seat still holds that
link; the redrive marks a stale one `skipped` instead of sending it.
"""

from __future__ import annotations

import json
from typing import Any

from giftplans import clock, tokens
from giftplans.seats import SeatState
from giftplans.store import get_store
from giftplans.store import keys as k
from giftplans.store import models as m
from giftplans.store.writes import Steps, written

ADDRESS_PARAMS = ("sender", "recipient")  # params that may hold someone else's address
ERASED = "erased"  # privacy.ERASED (privacy imports this module)
SKIPPED = "skipped"  # a marker the redrive will not send: its invitation is no longer the seat's
Key = tuple[str, str]


def put_mentions(steps: Steps, marker: m.MailMarker, to: str, params: dict[str, Any]) -> None:
    """Add a mention of every other address in `params` to the write that parks `marker`."""
    seen = {to}
    for name in ADDRESS_PARAMS:
        value = params.get(name)
        if not isinstance(value, str) or "@" not in value or (key := tokens.email_key(value)) in seen:
            continue
        seen.add(key)
        steps.put(
            f"mention {name}",
            m.Mention(
                marker.PK,
                k.mention_sk(k.MAIL_SK, key),
                purchase_id=str(params.get("purchase_id") or ""),
                seat_id=str(params["seat_id"]) if params.get("seat_id") else None,
                event_sk=k.MAIL_SK,
                field=name,
                GSI3PK=k.email_gsi(key),
                GSI3SK=k.MENTION_PREFIX + marker.PK,
                expires_at=marker.expires_at,
            ),
        )


def is_marker_mention(mention: m.Mention) -> bool:
    return mention.PK.startswith(k.mail_pk(""))


def scrub(mention: m.Mention) -> tuple[int, int]:
    """The address out of the parked params its mention points at, then the mention: (markers, mentions)."""
    marker = get_store().mail_marker(mention.PK.removeprefix(k.mail_pk("")))
    scrubbed = 0
    if marker is not None and marker.notice:
        data = json.loads(marker.notice)
        if data.get("params", {}).get(mention.field) not in (None, ERASED):
            data["params"][mention.field] = ERASED
            notice = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            scrubbed = written(
                lambda steps: steps.update(
                    "marker",
                    marker,
                    [m.MailMarker.notice.set(notice), m.MailMarker.erased_at.set(clock.iso(clock.now()))],
                    condition=m.MailMarker.notice == marker.notice,
                )
            )
    deleted = written(lambda steps: steps.delete("mention", mention, condition=m.Mention.PK.exists()))
    return scrubbed, deleted


def invitation_seat(notice_json: str | None) -> Key | None:
    """The seat key of a parked invitation (from its marker's `notice`); None for any other email."""
    data = json.loads(notice_json) if notice_json else {}
    params = data.get("params") or {}
    if data.get("template") != "invitation" or not params.get("purchase_id") or not params.get("seat_id"):
        return None
    return k.purchase_pk(str(params["purchase_id"])), k.seat_sk(str(params["seat_id"]))


def current_invitation(params: dict[str, Any], seat: m.Item | None) -> bool:
    """The seat is still invited with this invitation's link (same nonce): not revoked, re-sent or taken."""
    return (
        isinstance(seat, m.Seat)
        and seat.state == SeatState.INVITED
        and bool(seat.nonce)
        and seat.nonce == params.get("nonce")
    )


def skip(marker: m.MailMarker) -> None:
    """A stale parked invitation: never sent; it leaves the sparse index and drops the email."""
    condition = (m.MailMarker.status == marker.status) & (m.MailMarker.at == marker.at)
    actions = [
        m.MailMarker.status.set(SKIPPED),
        m.MailMarker.at.set(clock.iso(clock.now())),
        m.MailMarker.notice.remove(),
        m.MailMarker.GSI2PK.remove(),
        m.MailMarker.GSI2SK.remove(),
    ]
    written(lambda steps: steps.update("marker", marker, actions, condition=condition))
