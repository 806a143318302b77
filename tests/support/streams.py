"""Given-steps for stream readers: DynamoDB Streams records, in-memory items, what SES was asked to send."""

from __future__ import annotations

import itertools
from typing import Any

from giftplans import tokens
from giftplans.store import keys as k
from giftplans.store import models as m

_sequence = itertools.count(1000)

PURCHASE_ID = "pur_" + "a" * 26
TERM_START = "2026-03-01T12:00:00Z"
TERM_END = "2027-03-01T12:00:00Z"
TERM_END_TS = 1803902400


def record(
    old: m.Item | None, new: m.Item | None, *, event_name: str | None = None, approx: float = 1772366400.0
) -> dict[str, Any]:
    """A DynamoDB Streams record (NEW_AND_OLD_IMAGES) for the change old -> new, as Lambda receives it."""
    name = event_name or ("INSERT" if old is None else "REMOVE" if new is None else "MODIFY")
    some = new or old
    assert some is not None
    stream: dict[str, Any] = {
        "ApproximateCreationDateTime": approx,
        "Keys": {"PK": {"S": some.PK}, "SK": {"S": some.SK}},
        "SequenceNumber": str(next(_sequence)),
        "SizeBytes": 100,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new is not None:
        stream["NewImage"] = new.serialize()
    if old is not None:
        stream["OldImage"] = old.serialize()
    return {
        "eventID": stream["SequenceNumber"],
        "eventName": name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": stream,
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/gift-plans-test/stream/x",
    }


def stream_event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


def seat(**fields: Any) -> m.Seat:
    """An available seat of a paid pro purchase, version 1; override any field."""
    values: dict[str, Any] = {
        "purchase_id": PURCHASE_ID,
        "seat_id": "0001",
        "state": "available",
        "version": 1,
        "plan": "pro",
        "currency": "usd",
        "seat_value": 24000,
        "term_start": TERM_START,
        "term_end": TERM_END,
        "term_end_ts": TERM_END_TS,
        "buyer_id": "buyer-sub",
        "buyer_email": "buyer@example.com",
        "last_action": "create",
        "actor": "stripe",
    }
    values.update(fields)
    return m.Seat(k.purchase_pk(values["purchase_id"]), k.seat_sk(values["seat_id"]), **values)


def change[ItemT: m.Item](item: ItemT, **fields: Any) -> ItemT:
    """A copy of `item` one version later with `fields` set (None removes an attribute)."""
    raw = item.serialize()
    copy = type(item).from_raw_data(raw)
    for name, value in fields.items():
        setattr(copy, name, value)
    copy.version = int(item.version or 0) + 1  # type: ignore[attr-defined]
    return copy


def invite(old: m.Seat, recipient: str, nonce: str, **fields: Any) -> m.Seat:
    """`old` invited by its buyer to `recipient` (link of `nonce`), saved as the table holds it;
    its record is `record(old, new)`. `fields` set more (e.g. `buyer_name`)."""
    token = tokens.invite_token(old.purchase_id, old.seat_id, old.plan, int(old.term_end_ts), nonce)
    new = change(
        old,
        state="invited",
        recipient_email=recipient,
        nonce=nonce,
        token_hash=token.mac_hash,
        invited_at="2026-03-01T12:00:00Z",
        last_action="invite",
        actor="buyer",
        **fields,
    )
    new.save()
    return new


def purchase(**fields: Any) -> m.Purchase:
    values: dict[str, Any] = {
        "purchase_id": PURCHASE_ID,
        "checkout_session_id": "cs_test_1",
        "buyer_id": "buyer-sub",
        "buyer_email": "buyer@example.com",
        "plan": "pro",
        "quantity": 3,
        "status": "paid",
        "currency": "usd",
        "amount_subtotal": 72000,
        "amount_total": 72000,
        "term_start": TERM_START,
        "term_end": TERM_END,
        "term_end_ts": TERM_END_TS,
        "created_at": TERM_START,
        "version": 1,
        "last_action": "create",
        "seat_counts": m.SeatCounts(available=3),
    }
    values.update(fields)
    return m.Purchase(k.purchase_pk(values["purchase_id"]), k.PURCHASE_SK, **values)


def profile(**fields: Any) -> m.Profile:
    values: dict[str, Any] = {"sub": "buyer-sub", "version": 1}
    values.update(fields)
    return m.Profile(k.account_pk(values["sub"]), k.PROFILE_SK, **values)


def sent_mail(region: str = "us-east-1") -> list[Any]:
    """What moto's SES (v1 and v2 share one backend) was asked to send: Message objects with `.id`,
    `.source`, `.destinations` ({"ToAddresses": [...]}), `.subject`, `.body` (the HTML part if any)."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return list(ses_backends[DEFAULT_ACCOUNT_ID][region].sent_messages)
