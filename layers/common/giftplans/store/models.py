"""Every item on the one table, as PynamoDB models, with their key builders.

All models share one table and one discriminator (`type`), so a Query over a purchase's
partition returns typed `Purchase`, `Seat` and `AuditEvent` objects together. The key
design is documented in docs/design.md and spelt in `giftplans.store.keys`; the table
itself is defined in template.yaml (the local server and the tests build it from there).
"""

from __future__ import annotations

import os
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    DiscriminatorAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection
from pynamodb.models import Model

from giftplans.seats import SeatState

SEAT_STATES = tuple(s.value for s in SeatState)


def _table_name() -> str:
    return os.environ.get("TABLE_NAME", "gift-plans")


def _region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


# ---- indexes ----------------------------------------------------------------------------------------

PURCHASE_LIST_FIELDS = [
    "type",
    "purchase_id",
    "plan",
    "quantity",
    "status",
    "currency",
    "amount_total",
    "amount_subtotal",
    "term_start",
    "term_end",
    "term_end_ts",
    "created_at",
    "seat_counts",
    "frozen",
    "buyer_id",
    "amount_tax",  # SPEC 8.6 and 8.7: the list shows what the detail shows
    "amount_refunded",
    "invoice_id",
    "invoice_url",
]


class BuyerIndex(GlobalSecondaryIndex["Item"]):
    """A buyer's purchases, newest first."""

    class Meta:
        index_name = "GSI1"
        projection = IncludeProjection(PURCHASE_LIST_FIELDS)

    GSI1PK = UnicodeAttribute(hash_key=True)
    GSI1SK = UnicodeAttribute(range_key=True)


class DueIndex(GlobalSecondaryIndex["Item"]):
    """Sparse: purchases with a reminder or the expiry due on a day, sharded per day."""

    class Meta:
        index_name = "GSI2"
        projection = IncludeProjection(
            [
                "type",
                "purchase_id",
                "quantity",
                "term_end",
                "term_end_ts",
                "plan",
                "due_kind",
                "status",
                "seat_counts",
            ]
        )

    GSI2PK = UnicodeAttribute(hash_key=True)
    GSI2SK = UnicodeAttribute(range_key=True)


class EmailIndex(GlobalSecondaryIndex["Item"]):
    """Support: purchases by buyer address key, seats by recipient address key."""

    class Meta:
        index_name = "GSI3"
        projection = KeysOnlyProjection()

    GSI3PK = UnicodeAttribute(hash_key=True)
    GSI3SK = UnicodeAttribute(range_key=True)


# ---- items ------------------------------------------------------------------------------------------


class Item(Model):
    class Meta:
        table_name = _table_name()
        region = _region()

    PK = UnicodeAttribute(hash_key=True)
    SK = UnicodeAttribute(range_key=True)
    type = DiscriminatorAttribute()
    GSI1PK = UnicodeAttribute(null=True)
    GSI1SK = UnicodeAttribute(null=True)
    GSI2PK = UnicodeAttribute(null=True)
    GSI2SK = UnicodeAttribute(null=True)
    GSI3PK = UnicodeAttribute(null=True)
    GSI3SK = UnicodeAttribute(null=True)
    expires_at = NumberAttribute(null=True)  # TTL

    buyer_index = BuyerIndex()
    due_index = DueIndex()
    email_index = EmailIndex()


class SeatCounts(MapAttribute[str, Any]):
    available = NumberAttribute(default=0)
    invited = NumberAttribute(default=0)
    accepted = NumberAttribute(default=0)
    claimed = NumberAttribute(default=0)
    upgraded = NumberAttribute(default=0)
    expired = NumberAttribute(default=0)
    cancelled = NumberAttribute(default=0)

    def as_dict(self) -> dict[str, int]:
        return {state: int(getattr(self, state) or 0) for state in SEAT_STATES}


class Purchase(Item, discriminator="purchase"):
    purchase_id = UnicodeAttribute()
    checkout_session_id = UnicodeAttribute()
    payment_intent = UnicodeAttribute(null=True)
    buyer_id = UnicodeAttribute()
    buyer_email = UnicodeAttribute()
    buyer_name = UnicodeAttribute(null=True)
    buyer_locale = UnicodeAttribute(null=True)  # en | de: the buyer's mail language (giftplans.locales)
    plan = UnicodeAttribute()
    quantity = NumberAttribute()
    status = UnicodeAttribute()  # pending_payment | paid | payment_failed | refunded
    currency = UnicodeAttribute()
    amount_subtotal = NumberAttribute()  # after discounts, before tax: what the seats are worth
    amount_total = NumberAttribute()
    amount_refunded = NumberAttribute(default=0)
    amount_tax = NumberAttribute(null=True)  # SPEC 8.6: Stripe's tax on the checkout (not in seat values)
    invoice_id = UnicodeAttribute(null=True)  # SPEC 8.6: the checkout's Stripe invoice
    invoice_url = UnicodeAttribute(null=True)  # its hosted page, once Stripe has one
    term_start = UnicodeAttribute()
    term_end = UnicodeAttribute()
    term_end_ts = NumberAttribute()
    created_at = UnicodeAttribute()
    # Map constructors here and in AuditEvent run MapAttribute's unannotated __init__ (PynamoDB
    # 6.1) through a subclass or a subscripted generic, which untyped_calls_exclude cannot name.
    seat_counts = SeatCounts(default=SeatCounts)  # type: ignore[no-untyped-call]
    # No field grows with the quantity (docs/design.md, "The one table"): seats numbered from
    # `fresh_from` up were never handed out and are available unless counted in `holes`
    # (support cancelled them); available seats below it each have a `FreeSeat` marker.
    fresh_from = NumberAttribute(default=1)
    holes = NumberAttribute(default=0)
    seats_written = NumberAttribute(default=0)
    frozen = BooleanAttribute(default=False)  # dispute open: no new invitations or claims
    closing = BooleanAttribute(null=True)  # a full refund's close job is running: nothing is handed out
    disputes_open = UnicodeSetAttribute(null=True)  # disputes created and not closed yet
    disputes_closed = UnicodeSetAttribute(null=True)  # disputes closed in our favour (no refreeze)
    due_kind = UnicodeAttribute(null=True)  # remind_30 | remind_7 | expire (with GSI2)
    reminders = UnicodeSetAttribute(null=True)
    expired_at = UnicodeAttribute(null=True)
    last_action = UnicodeAttribute(null=True)  # the action that made the current version
    actor = UnicodeAttribute(null=True)
    buyer_erased_at = UnicodeAttribute(null=True)  # the buyer's address was erased (privacy)
    version = NumberAttribute(default=0)  # +1 on every write
    invite_version = NumberAttribute(default=0)  # +1 on every invite: serialises invites (rule 11)
    batch_lock = UnicodeAttribute(null=True)  # a list of invitations being written (its batch SK)
    batch_lease_until = NumberAttribute(null=True)  # until when the list holds the purchase alone (epoch s)


class Seat(Item, discriminator="seat"):
    purchase_id = UnicodeAttribute()
    seat_id = UnicodeAttribute()
    state = UnicodeAttribute()
    version = NumberAttribute(default=0)
    plan = UnicodeAttribute()
    currency = UnicodeAttribute()
    seat_value = NumberAttribute()
    term_start = UnicodeAttribute()
    term_end = UnicodeAttribute()
    term_end_ts = NumberAttribute()
    buyer_id = UnicodeAttribute()
    buyer_email = UnicodeAttribute()
    buyer_name = UnicodeAttribute(null=True)
    buyer_locale = UnicodeAttribute(
        null=True
    )  # the buyer's mail language (checkout, then their latest invite)
    recipient_locale = UnicodeAttribute(null=True)  # the recipient's: the invitation row's, else the buyer's
    recipient_email = UnicodeAttribute(null=True)
    recipient_lc = UnicodeAttribute(
        null=True
    )  # the address normalised (tokens.normalise_email): the buyer's search
    recipient_sub = UnicodeAttribute(null=True)
    message = UnicodeAttribute(null=True)
    invited_at = UnicodeAttribute(null=True)
    accepted_at = UnicodeAttribute(null=True)
    ended_at = UnicodeAttribute(null=True)
    nonce = UnicodeAttribute(null=True)
    token_hash = UnicodeAttribute(null=True)
    resend_count = NumberAttribute(default=0)
    last_sent_ts = NumberAttribute(null=True)
    delivery = UnicodeAttribute(null=True)  # sent | bounced | complained
    last_action = UnicodeAttribute(null=True)  # the action that made the current version
    actor = UnicodeAttribute(null=True)  # who did it: buyer | recipient | support:<arn> | stripe | sweep
    reminders = UnicodeSetAttribute(null=True)  # "30", "7": recipient reminders sent for this holder
    upgrade_plan = UnicodeAttribute(null=True)
    upgrade_offer_url = UnicodeAttribute(null=True)
    upgrade_offer_until = UnicodeAttribute(null=True)  # the offer link works until then (7 days; issue 14)
    subscription_id = UnicodeAttribute(null=True)
    from_name = UnicodeAttribute(null=True)  # SPEC 8.4: who the buyer says the gift is from (1-80 chars)
    link_hashes = UnicodeSetAttribute(
        null=True
    )  # sha256 of every link issued for the seat (preview's MAC check)
    # SPEC 8.5: accepted by an account that already had a plan; the value went to its Stripe balance.
    credited = NumberAttribute(null=True)  # minor units (rule 8's credit at the accept date)
    credit_status = UnicodeAttribute(null=True)  # pending (accepted, Stripe not yet told) | done
    credit_txn = UnicodeAttribute(null=True)  # the Stripe customer balance transaction
    # SPEC 8.7: support cancelled the never-used seat with a refund of its value.
    refund_status = UnicodeAttribute(null=True)  # pending (cancelled, Stripe not yet told) | done
    refund_id = UnicodeAttribute(null=True)  # the Stripe refund
    erased_at = UnicodeAttribute(null=True)  # the recipient's address was erased (privacy)
    # SPEC 8.2: invited by a link the buyer shares (no address until someone accepts it).
    shared = BooleanAttribute(null=True)
    shared_at = UnicodeAttribute(null=True)  # when its current link was made
    # SPEC 8.1: a scheduled invitation and the recipient's reminder ride on GSI2 (`SEND#<shard>`).
    send_at = UnicodeAttribute(null=True)  # when the buyer asked the invitation to be mailed
    sent_at = UnicodeAttribute(null=True)  # when SES accepted the invitation's mail
    due_kind = UnicodeAttribute(null=True)  # deliver | nudge: what the seat's GSI2 key is due for
    nudged_at = UnicodeAttribute(null=True)  # the recipient's one reminder went (giftplans.deliveries)


class AuditEvent(Item, discriminator="event"):
    purchase_id = UnicodeAttribute()
    at = UnicodeAttribute()
    kind = UnicodeAttribute()  # purchase.paid, seat.invited, ...
    actor = UnicodeAttribute()
    seat_ids = ListAttribute[str](null=True)
    detail = MapAttribute[str, Any](null=True)  # type: ignore[no-untyped-call]  # see Purchase.seat_counts


class Profile(Item, discriminator="profile"):
    sub = UnicodeAttribute()
    plans_bought = NumberAttribute(default=0)  # paid quantity across all purchases (rule 4)
    verified_email = UnicodeAttribute(null=True)
    verify_email = UnicodeAttribute(null=True)
    verify_nonce = UnicodeAttribute(null=True)
    verify_hash = UnicodeAttribute(null=True)
    verify_sent_ts = NumberAttribute(null=True)
    locale = UnicodeAttribute(null=True)  # the account's mail language, from its latest verification request
    stripe_customer = UnicodeAttribute(null=True)
    erased_at = UnicodeAttribute(null=True)  # its addresses were erased (privacy)
    last_action = UnicodeAttribute(null=True)  # verify | ... : the action that made the current version
    actor = UnicodeAttribute(null=True)
    version = NumberAttribute(default=0)


class Entitlement(Item, discriminator="entitlement"):
    """Two parts, each written only by its own transitions; `entitlements.answer` combines them."""

    sub = UnicodeAttribute()
    # The gift part: an accepted (`gift`) or claimed (`claim`) seat.
    plan = UnicodeAttribute(null=True)
    source = UnicodeAttribute(null=True)  # gift | claim
    term_end = UnicodeAttribute(null=True)
    term_end_ts = NumberAttribute(null=True)
    ended = BooleanAttribute(default=False)
    purchase_id = UnicodeAttribute(null=True)
    seat_id = UnicodeAttribute(null=True)
    gift_from = UnicodeAttribute(null=True)  # a gift's sender as the recipient sees it (givers.sender)
    # The subscription part: the account's own Stripe subscription.
    sub_plan = UnicodeAttribute(null=True)
    sub_term_end = UnicodeAttribute(null=True)
    sub_term_end_ts = NumberAttribute(null=True)
    sub_status = UnicodeAttribute(null=True)  # active | ended
    subscription_id = UnicodeAttribute(null=True)
    auto_renew = BooleanAttribute(default=False)
    event_ts = NumberAttribute(null=True)  # created time of the Stripe event that last wrote the part
    sub_provisional = BooleanAttribute(null=True)  # written by upgrade completion, before any event
    # The subscription's next charge (`first_charge`): when, how much, in which currency; none if it ends.
    sub_charge_ts = NumberAttribute(null=True)
    sub_charge_amount = NumberAttribute(null=True)
    sub_charge_currency = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute()


class InviteCounter(Item, discriminator="invite_counter"):
    # Invitation emails sent that day. Stored as `count`; named `sent` here because
    # Model.count (a Query count) would be shadowed.
    sent = NumberAttribute(attr_name="count", default=0)
    cap = NumberAttribute(null=True)  # the day's limit an invite computed (rule 13): a resend is held to it


class InviteBatch(Item, discriminator="invite_batch"):
    """A list of invitations sent under an `Idempotency-Key` or over one transaction (SPEC 8.3).

    Written with the first chunk of seats, moved on by every chunk, `done` with the last; a
    retry with the same key answers from it (done) or resumes it (pending). It keeps the
    request's hash and the seats it chose, never the addresses or notes (the retry brings them).
    """

    purchase_id = UnicodeAttribute()
    buyer_id = UnicodeAttribute()
    request_hash = UnicodeAttribute()
    seat_ids = ListAttribute[str]()  # row i's seat
    invited_at = UnicodeAttribute()
    chunks = NumberAttribute()  # transactions the list takes
    chunks_done = NumberAttribute(default=0)
    done = BooleanAttribute(default=False)
    locale = UnicodeAttribute(null=True)  # the buyer's locale when the list was sent (a resume keeps it)


class CloseJob(Item, discriminator="close_job"):
    """`PURCHASE#<id>` / `PURCHASE#CLOSE`: a full refund or lost dispute decided, its seats still to cancel.

    Written by the webhook (one write), worked through in the background (`giftplans.closing`),
    deleted by the purchase's final write. Sorts between the purchase and its seats: one Query
    reads all three.
    """

    purchase_id = UnicodeAttribute()
    reason = UnicodeAttribute()  # refund | dispute_lost
    amount_refunded = NumberAttribute()
    at = UnicodeAttribute()  # when Stripe says it happened
    created_at = UnicodeAttribute()


class FreeSeat(Item, discriminator="free_seat"):
    """`PURCHASE#<id>` / `FREE#<seat_id>`: an available seat below the purchase's `fresh_from`."""

    seat_no = NumberAttribute()


class Holder(Item, discriminator="holder"):
    """`PURCHASE#<id>` / `HOLDER#<email key>`: the seat an address was last given in this purchase (rule 11).

    Written by the move into a holding state (invite, claim) and left behind when the seat moves
    on (a revoke is one blind write that does not know the address): it holds only while its seat
    is still in a holding state for that address (`GSI3PK`), which the invite checks before
    replacing it (`version` serialises two invites of one address).
    """

    seat_id = UnicodeAttribute()
    version = NumberAttribute(default=1)


class PaymentLookup(Item, discriminator="payment"):
    purchase_id = UnicodeAttribute()


class CustomerLookup(Item, discriminator="customer"):
    sub = UnicodeAttribute()


class MailMarker(Item, discriminator="mail"):
    status = UnicodeAttribute()  # sending | sent | failed | unsent (parked while SES was in trouble)
    message_id = UnicodeAttribute(null=True)
    at = UnicodeAttribute()
    # An unsent (parked) notice keeps what it takes to send it again (giftplans.outbox.redrive):
    # the email as JSON (to, template, params) and when it was parked (its GSI2 `UNSENT#<day>` key).
    notice = UnicodeAttribute(null=True)
    parked_at = UnicodeAttribute(null=True)
    tries = NumberAttribute(null=True)
    erased_at = UnicodeAttribute(null=True)  # the address it went to was erased: message id dropped


class SweepCursor(Item, discriminator="sweep_cursor"):
    last_done_day = UnicodeAttribute()
    updated_at = UnicodeAttribute()


class Mention(Item, discriminator="mention"):
    """An audit event of the purchase names an address (masked): found by the address (GSI3) to erase it.

    PK `PURCHASE#<id>`, SK `MENTION#<event SK>#<email key>`; GSI3 `EMAIL#<email key>` /
    `MENTION#<purchase id>#<event SK>`. `field` is the detail key that holds the masked
    address, `index` its position when that field is a list (aligned with `seat_ids`).
    """

    purchase_id = UnicodeAttribute()
    event_sk = UnicodeAttribute()
    field = UnicodeAttribute()
    index = NumberAttribute(null=True)
    seat_id = UnicodeAttribute(null=True)


class Attention(Item, discriminator="attention"):
    """A paid gift checkout that could not be fulfilled (`purchases.attention`); support reads them."""

    session_id = UnicodeAttribute()
    reason = UnicodeAttribute()
    payment_intent = UnicodeAttribute(null=True)
    amount_total = NumberAttribute(null=True)
    currency = UnicodeAttribute(null=True)
    buyer_email = UnicodeAttribute(null=True)
    first_seen = UnicodeAttribute()
    last_seen = UnicodeAttribute()
    deliveries = NumberAttribute(default=0)
