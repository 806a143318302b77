"""A committed table change -> the emails and domain events it calls for.

The table is the outbox: every transition writes the seat, purchase or profile with a
new `version` and a `last_action` (docs/design.md, "What each transition writes").
DynamoDB Streams hands each committed change, with its old and new images, to the
`mailer` and `events_publisher` functions; both ask `notices_for(record)` what to do.
A change that did not commit is not in the stream, so it produces nothing.

Pure: no I/O, no secrets. An invitation notice carries the seat's nonce, not a link; the
mailer rebuilds the link with the token key when it renders the email.

Each notice has an idempotency key `<PK>|<SK>|<new version>|<kind>`: the mailer sends a
key at most once, and the events publisher puts it in the event's detail as `id`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from giftplans import clock
from giftplans.outbox import notices_sharing, scheduled
from giftplans.seats import IN_USE, Action, SeatState, Touch
from giftplans.store.models import Entitlement, Item, Profile, Purchase, Seat

S = SeatState
EVENT_VERSION = "1"

# last_action values written by the transitions (docs/design.md): seats.Action and seats.Touch
INVITE, REVOKE, DECLINE = Action.INVITE, Action.REVOKE, Action.DECLINE
ACCEPT, CLAIM = Action.ACCEPT, Action.CLAIM
EXPIRE, REFUND, CANCEL, UPGRADE = Action.EXPIRE, Action.REFUND, Action.CANCEL, Action.UPGRADE
RESEND, UPGRADE_OFFER, CREDIT = Touch.RESEND, Touch.UPGRADE_OFFER, Touch.CREDIT
SEAT_REFUND = Touch.SEAT_REFUND
CREDIT_DONE = "done"  # credits.DONE; SPEC 8.5: people are told once Stripe has the credit (the credit touch)
REMIND_30, REMIND_7 = Touch.REMIND_30, Touch.REMIND_7  # also the purchase's, for the buyer's reminder
VERIFY = "verify"  # a profile's (giftplans.verification)
REMIND_DAYS: dict[str, int] = {REMIND_30.value: 30, REMIND_7.value: 7}


@dataclass(frozen=True)
class Email:
    to: str
    template: str  # a name in giftplans.outbox.templates.TEMPLATES
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DomainEvent:
    detail_type: str  # "seat.accepted", ...
    detail: dict[str, Any]


@dataclass(frozen=True)
class Notice:
    kind: str  # the email template or the event's detail type
    key: str  # idempotency key "<PK>|<SK>|<version>|<kind>"
    email: Email | None = None
    event: DomainEvent | None = None

    # Tags for SES, so that a bounce finds the seat and the exact link it bounced.
    def mail_tags(self) -> dict[str, str]:
        params = self.email.params if self.email else {}
        if not params.get("seat_id"):
            return {"purchase_id": str(params["purchase_id"])} if params.get("purchase_id") else {}
        return {name: str(params[name]) for name in ("purchase_id", "seat_id", "nonce") if params.get(name)}


# ---- entry point --------------------------------------------------------------------------------------


def notices_for(record: dict[str, Any]) -> list[Notice]:
    """What one DynamoDB Streams record (INSERT/MODIFY with NEW_AND_OLD_IMAGES) calls for."""
    if record.get("eventName") not in ("INSERT", "MODIFY"):
        return []  # REMOVE: TTL of markers and counters; nothing to tell anyone
    stream = record.get("dynamodb") or {}
    new = _item(stream.get("NewImage"))
    if new is None:
        return []
    old = _item(stream.get("OldImage"))
    if old is not None and type(old) is not type(new):
        return []
    at = _occurred_at(stream)
    if isinstance(new, Seat):
        return _seat(old if isinstance(old, Seat) else None, new, at)
    if isinstance(new, Purchase):
        return _purchase(old if isinstance(old, Purchase) else None, new, at)
    if isinstance(new, Profile):
        return _profile(old if isinstance(old, Profile) else None, new)
    if isinstance(new, Entitlement):
        return _subscription(old if isinstance(old, Entitlement) else None, new, at)
    return []  # audit events, counters, mail markers: written alongside, not announced


def _item(image: dict[str, Any] | None) -> Item | None:
    if not image or "type" not in image:
        return None
    try:
        return Item.from_raw_data(image)
    except (ValueError, KeyError, TypeError):
        return None  # an item type this code does not know: not ours to announce


def _occurred_at(stream: dict[str, Any]) -> str:
    approx = stream.get("ApproximateCreationDateTime")
    if isinstance(approx, int | float):
        seconds = approx / 1_000_000 if approx > 10**14 else approx  # microseconds when asked for them
        return clock.iso(datetime.fromtimestamp(seconds, UTC))
    return clock.iso(clock.now())


def _key(item: Item, version: int, kind: str) -> str:
    return f"{item.PK}|{item.SK}|{version}|{kind}"


# ---- seats ----------------------------------------------------------------------------------------------


def _seat(old: Seat | None, new: Seat, at: str) -> list[Notice]:
    if old is None:
        return []  # created available at fulfilment: the purchase announces itself
    if int(new.version or 0) <= int(old.version or 0):
        return []  # not a transition (a replayed or bookkeeping write)
    action = new.last_action
    out = _Out(new, at)
    if (owned := scheduled.seat_notices(old, new, out)) is not None:
        return owned  # SPEC 8.1: a scheduled invite, its delivery, the recipient's reminder
    before, after = old.state, new.state
    if action == INVITE and after == S.INVITED and new.nonce and new.recipient_email:
        out.email("invitation", new.recipient_email, **_invitation(new))
        out.event("seat.invited", buyer_sub=new.buyer_id, invited_at=new.invited_at)
    elif (
        action == RESEND
        and after == S.INVITED
        and new.nonce
        and new.nonce != old.nonce
        and new.recipient_email
    ):
        out.email("invitation", new.recipient_email, **_invitation(new), resend=True)
    elif action == REVOKE and before == S.INVITED and after == S.AVAILABLE and old.recipient_email:
        out.email("invitation_revoked", old.recipient_email, **_gift(old))
        out.event("seat.revoked", buyer_sub=new.buyer_id)
    elif action == DECLINE and before == S.INVITED and after == S.AVAILABLE:
        out.email(
            "invitation_declined", new.buyer_email, **_to_buyer(old), recipient=old.recipient_email or ""
        )
        out.event("seat.declined", buyer_sub=new.buyer_id)
    elif action == ACCEPT and before == S.INVITED and after == S.ACCEPTED and new.credited is not None:
        accepted = {"recipient_sub": new.recipient_sub, "accepted_at": new.accepted_at}
        out.event("seat.accepted", buyer_sub=new.buyer_id, credited=int(new.credited), **accepted)
        if new.credit_status == CREDIT_DONE:
            _credited(out, new)
    elif action == SEAT_REFUND and old.refund_status != CREDIT_DONE and new.refund_status == CREDIT_DONE:
        refunded = {"amount_refunded": int(new.seat_value), "currency": new.currency}
        out.email("seat_refunded", new.buyer_email, **_gift(new), **refunded)
        out.event("seat.refunded", **refunded)
    elif action == CREDIT and old.credit_status != CREDIT_DONE and new.credit_status == CREDIT_DONE:
        _credited(out, new)
    elif action == ACCEPT and before == S.INVITED and after == S.ACCEPTED:
        out.email(
            "invitation_accepted", new.buyer_email, **_to_buyer(new), recipient=new.recipient_email or ""
        )
        out.event(
            "seat.accepted",
            buyer_sub=new.buyer_id,
            recipient_sub=new.recipient_sub,
            accepted_at=new.accepted_at,
        )
        out.granted("gift")
    elif action == CLAIM and before == S.AVAILABLE and after == S.CLAIMED:
        out.event(
            "seat.claimed",
            buyer_sub=new.buyer_id,
            recipient_sub=new.recipient_sub,
            accepted_at=new.accepted_at,
        )
        out.granted("claim")
    elif action in REMIND_DAYS and after in IN_USE and new.recipient_email:
        out.email("recipient_reminder", new.recipient_email, **_gift(new), days=REMIND_DAYS[action])
    elif action == EXPIRE and after == S.EXPIRED and before != S.EXPIRED:
        if before in IN_USE and old.recipient_email:
            out.email("plan_ended", old.recipient_email, **_gift(old), claimed=before == S.CLAIMED)
        out.event("seat.expired", previous_state=before, recipient_sub=old.recipient_sub)
        if before in IN_USE:
            out.ended("expired", old)
    elif action in (REFUND, CANCEL) and after == S.CANCELLED and before != S.CANCELLED:
        told = before == S.INVITED or (action == REFUND and before in IN_USE)
        if told and old.recipient_email and before != S.CLAIMED:  # a claimer is the buyer: refund mail
            out.email(
                "seat_cancelled",
                old.recipient_email,
                **_gift(old),
                reason="refund" if action == REFUND else "cancel",
                was_active=before in IN_USE,
            )
        out.event(
            "seat.cancelled",
            previous_state=before,
            reason="refund" if action == REFUND else "cancel",
            recipient_sub=old.recipient_sub,
        )
        if before in IN_USE:
            out.ended("refunded" if action == REFUND else "cancelled", old)
    elif action == UPGRADE and before in IN_USE and after == S.UPGRADED:
        if new.recipient_email:
            out.email("upgrade_done", new.recipient_email, **_gift(new), upgrade_plan=new.upgrade_plan or "")
        out.event(
            "seat.upgraded",
            recipient_sub=new.recipient_sub,
            upgrade_plan=new.upgrade_plan,
            subscription_id=new.subscription_id,
        )
    elif action == UPGRADE_OFFER and new.upgrade_offer_url and new.recipient_email:
        offer = {"offer_url": new.upgrade_offer_url, "offer_until": new.upgrade_offer_until or ""}
        offer["upgrade_plan"] = new.upgrade_plan or ""  # the link works until `offer_until` (7 days)
        out.email("upgrade_offer", new.recipient_email, **_gift(new), **offer)
    for kind, fields in notices_sharing.shared_events(old, new):  # SPEC 8.2: share, reshare, revoke
        out.event(kind, **fields)
    return scheduled.unsent(old, new, out.notices)


def _credited(out: _Out, seat: Seat) -> None:
    """The recipient and the buyer are told, in words, that the gift became a credit (SPEC 8.5)."""
    amount = {"credited": int(seat.credited or 0), "currency": seat.currency}
    if seat.recipient_email:
        out.email("gift_credited", seat.recipient_email, **_gift(seat), **amount)
    to_buyer = {**_gift(seat), "recipient": seat.recipient_email or "", **amount}
    out.email("invitation_accepted", seat.buyer_email, **to_buyer)
    out.event("seat.credited", recipient_sub=seat.recipient_sub, **amount)


def _gift(seat: Seat) -> dict[str, Any]:
    """What every seat email may show: plan, term, who gave it (`from_name`, buyer name, else address)."""
    return {
        "purchase_id": seat.purchase_id,
        "seat_id": seat.seat_id,
        "plan": seat.plan,
        "term_start": seat.term_start,
        "term_end": seat.term_end,
        "sender": seat.from_name or seat.buyer_name or seat.buyer_email,
        **_locale(seat.recipient_locale or seat.buyer_locale),  # the reader's: the recipient's language
    }


def _to_buyer(seat: Seat) -> dict[str, Any]:
    """A seat email the buyer reads (accepted, declined): in the buyer's language."""
    gift = {name: value for name, value in _gift(seat).items() if name != "locale"}
    return {**gift, **_locale(seat.buyer_locale)}


def _locale(locale: str | None) -> dict[str, str]:
    """The `locale` param of an email (en | de), absent when the reader's is not known (English)."""
    return {"locale": locale} if locale else {}


def _invitation(seat: Seat) -> dict[str, Any]:
    return {
        **_gift(seat),
        "term_end_ts": int(seat.term_end_ts),
        "nonce": seat.nonce,
        "message": seat.message or "",
    }


class _Out:
    """Collects a seat's notices with its keys and the detail fields every seat event shares."""

    def __init__(self, seat: Seat, at: str) -> None:
        self.seat, self.at = seat, at
        self.notices: list[Notice] = []

    def email(self, template: str, to: str, **params: Any) -> None:
        key = _key(self.seat, int(self.seat.version), template)
        self.notices.append(Notice(template, key, email=Email(to, template, params)))

    def event(self, detail_type: str, **fields: Any) -> None:
        seat = self.seat
        detail = {
            "purchase_id": seat.purchase_id,
            "seat_id": seat.seat_id,
            "plan": seat.plan,
            "term_end": seat.term_end,
            "state": seat.state,
            **fields,
        }
        self.notices.append(_event(seat, detail_type, self.at, detail))

    def granted(self, source: str) -> None:
        seat = self.seat
        self.notices.append(
            _event(
                seat,
                "entitlement.granted",
                self.at,
                {
                    "recipient_sub": seat.recipient_sub,
                    "plan": seat.plan,
                    "source": source,
                    "auto_renew": False,
                    "term_end": seat.term_end,
                    "purchase_id": seat.purchase_id,
                    "seat_id": seat.seat_id,
                },
            )
        )

    def ended(self, reason: str, old: Seat) -> None:
        seat = self.seat
        self.notices.append(
            _event(
                seat,
                "entitlement.ended",
                self.at,
                {
                    "recipient_sub": old.recipient_sub,
                    "plan": seat.plan,
                    "reason": reason,
                    "source": "claim" if old.state == S.CLAIMED else "gift",
                    "term_end": seat.term_end,
                    "ended_at": seat.ended_at or self.at,
                    "purchase_id": seat.purchase_id,
                    "seat_id": seat.seat_id,
                },
            )
        )


def _event(item: Item, detail_type: str, at: str, fields: dict[str, Any]) -> Notice:
    key = _key(item, int(getattr(item, "version", 0) or 0), detail_type)
    detail = {
        "version": EVENT_VERSION,
        "id": key,
        "occurred_at": at,
        **{k: v for k, v in fields.items() if v is not None},
    }
    return Notice(detail_type, key, event=DomainEvent(detail_type, detail))


# ---- purchases ------------------------------------------------------------------------------------------


def _purchase(old: Purchase | None, new: Purchase, at: str) -> list[Notice]:
    if old is not None and int(new.version or 0) <= int(old.version or 0):
        return []
    out: list[Notice] = []
    version = int(new.version or 0)
    was = old.status if old else None
    common = {
        "purchase_id": new.purchase_id,
        "plan": new.plan,
        "quantity": int(new.quantity),
        "currency": new.currency,
        "term_start": new.term_start,
        "term_end": new.term_end,
    }
    to_buyer = _locale(new.buyer_locale)

    def email(template: str, **params: Any) -> None:
        out.append(
            Notice(
                template,
                _key(new, version, template),
                email=Email(new.buyer_email, template, {**common, **to_buyer, **params}),
            )
        )

    def event(detail_type: str, **fields: Any) -> None:
        out.append(_event(new, detail_type, at, {**common, "buyer_sub": new.buyer_id, **fields}))

    if new.status != was:
        if new.status == "paid":
            totals = {"amount_total": int(new.amount_total), "amount_subtotal": int(new.amount_subtotal)}
            email("receipt", **totals, amount_tax=int(new.amount_tax or 0), invoice_url=new.invoice_url or "")
            event("purchase.paid", amount_total=int(new.amount_total), term_start=new.term_start)
        elif new.status == "payment_failed":
            email("payment_failed")
            event("purchase.payment_failed")
        elif new.status == "refunded" and was is not None:
            email("purchase_refunded", amount_refunded=int(new.amount_refunded or new.amount_total))
            event("purchase.refunded", amount_refunded=int(new.amount_refunded or new.amount_total))
    if old is None:
        return out
    action = new.last_action
    if action in REMIND_DAYS and new.status == "paid":
        counts = new.seat_counts.as_dict() if new.seat_counts else {}
        unassigned, pending = counts.get("available", 0), counts.get("invited", 0)  # issue 16: never accepted
        if unassigned > 0 or pending > 0:
            email("buyer_reminder", days=REMIND_DAYS[action], unassigned=unassigned, never_accepted=pending)
    elif action == EXPIRE and old.expired_at is None and new.expired_at is not None:
        counts = old.seat_counts.as_dict() if old.seat_counts else {}
        unused = counts.get("available", 0) + counts.get("invited", 0)
        if unused > 0 and new.status == "paid":
            email("unused_seats", unused=unused, never_accepted=counts.get("invited", 0))
    return out


# ---- profiles -------------------------------------------------------------------------------------------


def _profile(old: Profile | None, new: Profile) -> list[Notice]:
    if new.last_action not in (VERIFY, None) or not new.verify_nonce or not new.verify_email:
        return []
    if old is not None and old.verify_nonce == new.verify_nonce:
        return []
    template = "verification"
    return [
        Notice(
            template,
            _key(new, int(new.version or 0), template),
            email=Email(
                new.verify_email, template, {"sub": new.sub, "nonce": new.verify_nonce, **_locale(new.locale)}
            ),
        )
    ]


# ---- entitlements from subscriptions ---------------------------------------------------------------------


def _subscription(old: Entitlement | None, new: Entitlement, at: str) -> list[Notice]:
    """Gift and claim parts are announced from their seats; the subscription part here."""
    if not new.sub_plan:
        return []
    fields = {
        "recipient_sub": new.sub,
        "plan": new.sub_plan,
        "source": "subscription",
        "term_end": new.sub_term_end,
        "auto_renew": bool(new.auto_renew),
        "subscription_id": new.subscription_id,
    }
    stamp = int(new.event_ts or clock.epoch(clock.parse_iso(new.updated_at)))
    was_active = old is not None and old.sub_status == "active"
    if new.sub_status != "active":
        if not was_active:
            return []
        kind, fields = "entitlement.ended", {**fields, "reason": "subscription_ended", "ended_at": at}
    else:
        same = (
            was_active
            and old is not None
            and (old.sub_plan, old.sub_term_end, bool(old.auto_renew))
            == (new.sub_plan, new.sub_term_end, bool(new.auto_renew))
        )
        if same:
            return []
        kind = "entitlement.granted"
    key = f"{new.PK}|{new.SK}|{stamp}|{kind}"
    detail = {
        "version": EVENT_VERSION,
        "id": key,
        "occurred_at": at,
        **{k: v for k, v in fields.items() if v is not None},
    }
    return [Notice(kind, key, event=DomainEvent(kind, detail))]
