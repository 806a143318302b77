"""Issue 16: the buyer's 30- and 7-day reminders name the invitations never accepted.

The reminder's notice (`outbox.notices`, pure) carries how many seats are still `invited`
(`never_accepted`, from the purchase's counts). When that is at most `LISTED`, the mailer
adds their addresses (`never_accepted_emails`) with one Query of the purchase's seats just
before rendering; more than that, and the email gives the count. Seats without an address
(shared links) and erased addresses are left out. The addresses are the buyer's own
invitations, read at sending time and never stored anywhere else.
"""

from __future__ import annotations

from typing import Any

from giftplans.store import get_store

LISTED = 20  # at most this many addresses in the email; more are counted


def with_addresses(template: str, params: dict[str, Any]) -> dict[str, Any]:
    """`params` of a buyer reminder with the never-accepted addresses, when they are few; else as given."""
    if template != "buyer_reminder" or not params.get("purchase_id"):
        return params
    pending = int(params.get("never_accepted") or 0)
    if not 0 < pending <= LISTED:
        return params
    found = get_store().invited_addresses(str(params["purchase_id"]))
    return {**params, "never_accepted_emails": sorted(a for a in found if "@" in a)[:LISTED]}
