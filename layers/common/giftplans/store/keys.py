"""Every key of the one table, and every index key, built here and nowhere else.

docs/design.md ("The one table") lists the items; this module is how their keys are
spelt. A purchase's partition holds the purchase, its seats and its audit events; an
account's partition holds its profile, entitlement and daily invite counters.
"""

from __future__ import annotations

# ---- table keys (PK, SK) --------------------------------------------------------------------------------

PURCHASE_SK = "PURCHASE"
PROFILE_SK = "PROFILE"
ENTITLEMENT_SK = "ENTITLEMENT"
PAYMENT_SK = "PAYMENT"
CUSTOMER_SK = "CUSTOMER"
MAIL_SK = "MAIL"
SWEEP_PK, CURSOR_SK = "SWEEP", "CURSOR"
ATTENTION_PK = "ATTENTION"  # what support must look at: unfulfillable paid checkouts (issue 14)
SEAT_PREFIX = "SEAT#"
CLOSE_SK = "PURCHASE#CLOSE"  # a purchase's close job: sorts after the purchase, before its seats
EVENT_PREFIX = "EVENT#"


def purchase_pk(purchase_id: str) -> str:
    return f"PURCHASE#{purchase_id}"


def seat_sk(seat_id: str) -> str:
    return f"{SEAT_PREFIX}{seat_id}"


def seat_id_of(seat_no: int) -> str:
    """Seat numbers 1..1000 as the 4-digit ids the API shows (`0001`)."""
    return f"{seat_no:04d}"


def event_sk(stamp: str, suffix: str) -> str:
    """An audit event sorts by time within its purchase: `EVENT#<iso time>#<suffix>`."""
    return f"{EVENT_PREFIX}{stamp}#{suffix}"


BATCH_PREFIX = "BATCH#"
FREE_PREFIX = "FREE#"
HOLDER_PREFIX = "HOLDER#"


def free_sk(seat_id: str) -> str:
    """A free seat's marker: an available seat below the purchase's `fresh_from` (given back)."""
    return f"{FREE_PREFIX}{seat_id}"


def holder_sk(email_key: str) -> str:
    """Who holds a seat of the purchase, by address key (rule 11); may outlive it (models.Holder)."""
    return f"{HOLDER_PREFIX}{email_key}"


def batch_sk(idempotency_key_hash: str) -> str:
    """A list of invitations within its purchase, by the hash of its Idempotency-Key."""
    return f"{BATCH_PREFIX}{idempotency_key_hash}"


def account_pk(sub: str) -> str:
    return f"ACCOUNT#{sub}"


def invites_sk(day: str) -> str:
    return f"INVITES#{day}"


def payment_pk(payment_intent: str) -> str:
    return f"PAYMENT#{payment_intent}"


def customer_pk(customer: str) -> str:
    return f"CUSTOMER#{customer}"


def mail_pk(key: str) -> str:
    return f"MAIL#{key}"


# ---- index keys -----------------------------------------------------------------------------------------


def buyer_gsi(sub: str) -> str:
    """GSI1PK: a buyer's purchases."""
    return f"BUYER#{sub}"


def buyer_gsi_sk(created_at: str, purchase_id: str) -> str:
    """GSI1SK: newest first when read backwards."""
    return f"{created_at}#{purchase_id}"


def due_gsi(day: str, shard: int) -> str:
    """GSI2PK: the sparse due index, one partition per day and shard."""
    return f"DUE#{day}#{shard}"


def due_gsi_sk(purchase_id: str) -> str:
    return purchase_pk(purchase_id)


def send_gsi(shard: int) -> str:
    """GSI2PK of a seat with a delivery or a recipient reminder due (SPEC 8.1): `SEND#<shard>`."""
    return f"SEND#{shard}"


def send_gsi_sk(instant: str) -> str:
    """GSI2SK of a due seat: the instant it falls due (ISO-8601 UTC, which sorts as time)."""
    return instant


def unsent_gsi(day: str) -> str:
    """GSI2PK: the sparse index of mail parked while SES was in trouble, one partition per day (redrive)."""
    return f"UNSENT#{day}"


def unsent_gsi_sk(parked_at: str, key: str) -> str:
    """GSI2SK of a parked mail marker: in the order it was parked, then by its notice key."""
    return f"{parked_at}#{key}"


def email_gsi(key: str) -> str:
    """GSI3PK: purchases by buyer address key, seats by recipient address key."""
    return f"EMAIL#{key}"


def purchase_email_sk(purchase_id: str) -> str:
    """GSI3SK of a purchase (by its buyer's address)."""
    return purchase_pk(purchase_id)


def seat_email_sk(purchase_id: str, seat_id: str) -> str:
    """GSI3SK of a seat (by its recipient's address)."""
    return f"{SEAT_PREFIX}{purchase_id}#{seat_id}"


# ---- privacy: what ties an address to the items that keep it (docs/privacy.md) -------------------------

MENTION_PREFIX = "MENTION#"


def mention_sk(event_sk: str, email_key: str) -> str:
    """SK of a mention: an audit event (`EVENT#...`) of the purchase names this address key."""
    return f"{MENTION_PREFIX}{event_sk}#{email_key}"


def mention_email_sk(purchase_id: str, event_sk: str) -> str:
    """GSI3SK of a mention (by the address it names)."""
    return f"{MENTION_PREFIX}{purchase_id}#{event_sk}"


def profile_email_sk(sub: str) -> str:
    """GSI3SK of a profile (by the address it verifies)."""
    return f"{PROFILE_SK}#{sub}"


def mail_email_sk(key: str) -> str:
    """GSI3SK of a mail marker (by the address the mail went to)."""
    return f"{MAIL_SK}#{key}"


def attention_sk(session_id: str) -> str:
    """An unfulfillable checkout in the `ATTENTION` partition: `CHECKOUT#<session_id>`."""
    return f"CHECKOUT#{session_id}"
