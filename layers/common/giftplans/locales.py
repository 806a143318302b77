"""Which language a reader reads: English or German (SPEC 8.9).

Pure and cheap (no Babel here: the API functions import this at cold start). A reader's locale
comes from the JWT's `locale` claim, else the request's `Accept-Language`; an invitation row may
set its recipient's. Anything but a supported language reads English. The emails' words and
formats are `giftplans.outbox.language`'s (the mailer's, with Babel).
"""

from __future__ import annotations

SUPPORTED = ("en", "de")
DEFAULT = "en"


def supported(tag: object) -> str | None:
    """'de-AT' -> 'de', 'EN_gb' -> 'en'; None for a language not offered (or no tag)."""
    if not isinstance(tag, str):
        return None
    base = tag.strip().replace("_", "-").split("-")[0].lower()
    return base if base in SUPPORTED else None


def or_default(tag: object) -> str:
    return supported(tag) or DEFAULT


def from_accept_language(header: str | None) -> str | None:
    """The best supported language of an `Accept-Language` header (RFC 9110 q-values), or None."""
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        found = supported(tag)
        if found and quality > 0:
            ranked.append((-quality, index, found))
    return min(ranked)[2] if ranked else None


def of_request(claim: object, accept_language: str | None) -> str | None:
    """The reader's locale: the JWT claim when it names a supported language, else Accept-Language."""
    return supported(claim) or from_accept_language(accept_language)
