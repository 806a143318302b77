"""Which addresses may be invited: the rows of one request (rule 3) and rule 11's refusals.

Rows are validated before anything is read (422 `invalid_rows`, with a reason per row);
then, against the purchase as read, the buyer's own address (409 `use_claim_instead`)
and addresses that already hold a seat of the purchase (409 `already_invited`) refuse
the whole request. Addresses compare by `tokens.email_keys` (trimmed, lower-cased, NFC; every kid).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from giftplans import clock, locales, tokens
from giftplans.errors import Conflict, Invalid
from giftplans.identity import Caller
from giftplans.invitations import schedule
from giftplans.seats import HOLDING
from giftplans.store import keys as k
from giftplans.store import models as m

MAX_ROWS = 1000  # SPEC 8.3: a list of up to 1000 rows
MAX_MESSAGE = 1000
MAX_FROM_NAME = 80
# Not RFC 5322 in full: a deliverable address without the characters that would let one
# field become several (",;<>" and quotes split or rewrite headers) or control characters.
_NOT_IN_ADDRESS = r'\s@,;:<>()\[\]\\"\x00-\x1f\x7f'
_LOCAL = rf"[^{_NOT_IN_ADDRESS}]{{1,64}}"
_DOMAIN = rf"[^{_NOT_IN_ADDRESS}.][^{_NOT_IN_ADDRESS}]*\.[^{_NOT_IN_ADDRESS}.]{{2,}}"
_EMAIL = re.compile(rf"^{_LOCAL}@{_DOMAIN}$")
# Issue 14: a buyer's message must not carry control characters (but newline and tab) or the bidi
# controls that make text read in another order than it is written (U+202A-202E, U+2066-2069,
# U+200E/200F, U+061C): refused, so what the buyer sees is what the recipient gets.
_CONTROL_IN_MESSAGE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


UNSENDABLE = "Email cannot be sent to an address with non-ASCII letters before the @."


class Row(NamedTuple):
    """One address to invite, with the buyer's note for it."""

    email: str
    message: str | None = None
    from_name: str | None = None  # SPEC 8.4: 1-80 characters, no control or format (bidi) characters
    locale: str | None = None  # the recipient's mail language (en | de); an unknown one reads English
    send_at: str | None = None  # SPEC 8.1: when to mail it (ISO-8601 UTC, `schedule.canonical`); None: now


def from_name_problem(name: str | None) -> str | None:
    """Why a row's `from_name` cannot be used, or None (absent or fine)."""
    if name is None:
        return None
    if not 1 <= len(name) <= MAX_FROM_NAME:
        return f"The sender's name must be 1 to {MAX_FROM_NAME} characters."
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name):
        return "The sender's name may not contain control or direction characters."
    return None


def _trimmed(name: str | None) -> str | None:
    return name.strip() if isinstance(name, str) else None


def _row_error(index: int, email: str, code: str, message: str) -> dict[str, Any]:
    return {"index": index, "email": email, "code": code, "message": message}


def validate_rows(rows: Sequence[Row], *, at: datetime | None = None) -> list[Row]:
    """1..MAX_ROWS well-formed, distinct addresses, or a 422 that says which rows are wrong and why.

    A `send_at` is checked against `at` (default: now); a keyed list's repeat passes the instant
    its batch was first written (`batches.repeat_rows`).
    """
    if not rows:
        raise Invalid("Add at least one address to invite.", code="no_invitations")
    if len(rows) > MAX_ROWS:
        raise Invalid(
            f"At most {MAX_ROWS} addresses can be invited at once; this request has {len(rows)}.",
            code="too_many_invitations",
        )
    seen: dict[str, int] = {}
    problems: list[dict[str, Any]] = []
    clean: list[Row] = []
    now = clock.now() if at is None else at
    for index, row in enumerate(rows):
        email = (row.email or "").strip()
        message = (row.message or "").strip() or None
        if len(email) > 254 or not _EMAIL.match(email):
            problems.append(_row_error(index, email, "invalid_email", "This is not an email address."))
        elif not email.partition("@")[0].isascii():  # SES has no SMTPUTF8: it cannot send to it
            problems.append(_row_error(index, email, "unsendable_email", UNSENDABLE))
        elif message is not None and _CONTROL_IN_MESSAGE.search(message):
            problems.append(
                _row_error(
                    index,
                    email,
                    "invalid_message",
                    "The message contains control or text-direction characters.",
                )
            )
        elif tokens.normalise_email(email) in seen:
            first = seen[tokens.normalise_email(email)]
            problems.append(
                _row_error(index, email, "duplicate_in_request", f"This address is already in row {first}.")
            )
        elif message is not None and len(message) > MAX_MESSAGE:
            problems.append(
                _row_error(
                    index, email, "message_too_long", f"The message is longer than {MAX_MESSAGE} characters."
                )
            )
        elif (why := from_name_problem(_trimmed(row.from_name))) is not None:
            problems.append(_row_error(index, email, "invalid_from_name", why))
        elif (late := schedule.problem(row.send_at, now)) is not None:
            problems.append(_row_error(index, email, *late))
        seen.setdefault(tokens.normalise_email(email), index)
        locale = locales.or_default(row.locale) if row.locale else None
        clean.append(Row(email, message, _trimmed(row.from_name), locale, row.send_at))
    if problems:
        raise Invalid(
            f"{len(problems)} of the {len(rows)} rows cannot be invited; nothing was sent.",
            code="invalid_rows",
            details={"rows": problems},
        )
    return clean


def check_addresses(purchase: m.Purchase, caller: Caller, rows: list[Row], holders: set[str]) -> None:
    """Rule 11: not the buyer's own address, nor one (`holders`: email keys) that holds a seat of it.

    First (422, per row, nothing sent): no `send_at` at or after the purchase's `term_end` (SPEC 8.1).
    """
    late = [
        _row_error(
            i,
            r.email,
            "send_at_after_term_end",
            f"send_at must be before the term ends ({purchase.term_end}).",
        )
        for i, r in enumerate(rows)
        if schedule.after_term(r.send_at, int(purchase.term_end_ts))
    ]
    if late:
        raise Invalid(
            f"{len(late)} of the {len(rows)} rows cannot be invited; nothing was sent.",
            code="invalid_rows",
            details={"rows": late},
        )
    own = {
        *tokens.email_keys(purchase.buyer_email),
        *(tokens.email_keys(caller.email) if caller.email else []),
    }
    _refuse_rows(
        rows,
        own,
        "use_claim_instead",
        "This is your own address.",
        lambda _: "You cannot invite yourself; claim a seat for yourself instead.",
    )
    _refuse_rows(
        rows,
        holders,
        "already_invited",
        "This address already holds a seat of this purchase.",
        lambda n: f"{n} of these addresses already hold a seat of this purchase; nothing was sent.",
    )


def _refuse_rows(
    rows: list[Row], keys: set[str], code: str, row_message: str, message: Callable[[int], str]
) -> None:
    """409 `code` naming every row whose address (by email key) is in `keys`; nothing when none is."""
    hits = [
        _row_error(i, r.email, code, row_message)
        for i, r in enumerate(rows)
        if keys.intersection(tokens.email_keys(r.email))  # under any kid of the ring
    ]
    if hits:
        raise Conflict(message(len(hits)), code=code, details={"rows": hits})


def holding(seat: m.Item | None, key: str) -> bool:
    """Whether a Holder item's seat still holds that address (the item outlives a revoke)."""
    return isinstance(seat, m.Seat) and seat.state in HOLDING and k.email_gsi(key) == seat.GSI3PK
