"""Support's upgrade offer (issue 14 item 8): a link to the service that stays usable for 7 days.

`POST /admin/upgrades` no longer mails a Stripe Checkout Session (it dies after ~31 minutes).
It checks the upgrade can be quoted now (rule 8: `upgrades.quote_seat`), then mails the
recipient a link to the service, `<WebBaseUrl>/upgrade?offer=<token>`, valid `VALID_FOR`
(7 days) or until the gift's term ends if that is sooner; the email says until when. The page
posts the token to `POST /upgrade-offers/checkout` (no sign-in: the link is the capability);
each click makes a fresh quote (rule 8 at that moment) and a fresh Checkout Session
(`upgrades.start_checkout`, the self-serve one), and the page goes on to Stripe.

The token is `<purchase_id>.<seat_id>.<plan>.<until epoch>.<tag>`, where
`tag = tokens.sign("upgrade-offer", "<purchase_id>.<seat_id>.<plan>.<until>.<recipient sub>")`:
the seat's holder is in the MAC but not in the link. Nothing is stored but the link itself
on the seat (`upgrade_offer_url`, `upgrade_offer_until`), as before.

Answers: a link that is not ours, or whose MAC does not match the seat's holder -> 404
`offer_not_found`; past its end -> 410 `offer_expired`; the seat already upgraded (paid) ->
410 `offer_used`; the seat no longer held (revoked, refunded, ended) -> 410 `offer_unavailable`.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import NamedTuple

from giftplans import clock, settings, tokens, upgrades
from giftplans.errors import Gone, NotFound
from giftplans.outbox.templates import moment
from giftplans.seats import IN_USE, SeatState
from giftplans.store import get_store
from giftplans.store import models as m
from giftplans.views_checkout import Quote, UpgradeCheckout

PURPOSE = "upgrade-offer"
VALID_FOR = timedelta(days=7)
# the tag is `tokens.sign`'s `<kid>.<mac>` (the key ring: docs/runbook.md, "Rotating the token key")
_TOKEN = re.compile(
    r"^(pur_[a-z2-7]{26})\.(\d{4})\.([a-z_]{1,40})\.(\d{1,12})\.([A-Za-z0-9_-]{1,16}\.[A-Za-z0-9_-]{22})$"
)
NOT_FOUND = "This upgrade link is not one of ours; check that it was copied whole, or ask support."


class Offer(NamedTuple):
    """What support's offer answers: the quote as of now, the link mailed, and until when it works."""

    quote: Quote
    offer_url: str
    offer_until: str


def _message(purchase_id: str, seat_id: str, plan: str, until: int, holder: str) -> str:
    return f"{purchase_id}.{seat_id}.{plan}.{until}.{holder}"


def offer_url(token: str) -> str:
    """The link the email carries: the web page that redeems it (web/upgrade.html)."""
    return f"{settings.get().web_base_url}/upgrade?offer={token}"


def make(seat: m.Seat, plan: str, now: datetime) -> Offer:
    """An offer for `seat`'s holder to move to `plan`: quoted now (refusals as rule 8's), valid 7 days."""
    quote = upgrades.quote_seat(seat, plan, now)
    until = min(now + VALID_FOR, clock.parse_iso(seat.term_end))
    epoch = clock.epoch(until)
    message = _message(seat.purchase_id, seat.seat_id, quote.plan, epoch, seat.recipient_sub or "")
    token = f"{seat.purchase_id}.{seat.seat_id}.{quote.plan}.{epoch}.{tokens.sign(PURPOSE, message)}"
    return Offer(quote, offer_url(token), clock.iso(clock.from_epoch(epoch)))


def redeem(token: str) -> UpgradeCheckout:
    """A click on the link: a fresh quote and Checkout Session for the seat's holder, or why not."""
    match = _TOKEN.match(token.strip()) if isinstance(token, str) else None
    if not match:
        raise NotFound(NOT_FOUND, code="offer_not_found")
    purchase_id, seat_id, plan, until, tag = match.groups()
    seat = get_store().seat(purchase_id, seat_id)
    holder = seat.recipient_sub if seat is not None else None
    if (
        seat is None
        or not holder
        or not tokens.verify(PURPOSE, _message(purchase_id, seat_id, plan, int(until), holder), tag)
    ):
        raise NotFound(NOT_FOUND, code="offer_not_found")
    now = clock.now()
    ends = clock.from_epoch(int(until))
    if SeatState(seat.state) == SeatState.UPGRADED:
        raise Gone(
            f"This upgrade is done already: your {seat.upgrade_plan or plan} plan is active, "
            "so there is nothing left to pay.",
            code="offer_used",
        )
    if SeatState(seat.state) not in IN_USE:
        raise Gone(
            "This upgrade offer no longer applies: the gifted plan it was for is not yours any more.",
            code="offer_unavailable",
        )
    if now >= ends:
        raise Gone(
            f"This upgrade offer ended on {moment(clock.iso(ends))}; ask support for a new link, "
            "or upgrade from your My plan page.",
            code="offer_expired",
            details={"offer_until": clock.iso(ends)},
        )
    return upgrades.start_checkout(seat, holder, seat.recipient_email, plan)
