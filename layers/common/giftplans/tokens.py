"""Accept-link and verification tokens, keyed email hashes, and MACs for other links, on a key ring.

The token secret (`TOKEN_KEY`) is a key ring, JSON `{"current": "<kid>", "keys": {"<kid>":
"<secret>"}, "retired": ["<kid>"]}` (`retired` optional); a plain string is the ring
`{"current": "k0", "keys": {"k0": <it>}}`, so a stack deployed before rotation keeps its links.
Every use gets its own key, HMAC-SHA256(secret, "giftplans/<purpose>"), and everything made
carries the kid of the key that made it: new things always by `current`, and every kid in the
ring verifies (the rotation window, docs/runbook.md). A retired kid, or one removed from the
ring, makes what it signed dead: such a link is not shaped like one of ours (404). A retired
kid still finds the email keys it made (support's search, erasure) until it is removed.

An invitation token names its seat and carries the plan and term end in clear, then the kid and a
MAC: `<purchase_id>.<seat_id>.<plan>.<term_end epoch>.<kid>.<mac>`. The MAC is HMAC(invite key,
"<purchase_id>.<seat_id>.<nonce>") cut to 22 base64url characters (132 bits); the seat's nonce is
`<kid>.<random>`, so the mailer rebuilds the link with the key it was made with. The table stores
the nonce and `sha256("<kid>.<mac>")`; a copy of the table without the key cannot rebuild a link.
Email keys are `<kid>.<hash>`; a lookup tries every kid of the ring (`email_keys`).

Before the ring (kid "k0" only): nonces without a kid, tokens without a kid, MACs and email keys
straight from the secret. While "k0" is in the ring those are still verified and looked up.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import re
import secrets as _random
import unicodedata
from typing import NamedTuple

from giftplans import secrets

MAC_CHARS = 22
LEGACY = "k0"  # the kid a plain-string secret is; the only one with the pre-ring formats
_KID = r"[A-Za-z0-9_-]{1,16}"
_KID_RE = re.compile(rf"^{_KID}$")
_TOKEN = re.compile(
    rf"^(pur_[a-z2-7]{{26}})\.(\d{{4}})\.([a-z]{{1,20}})\.(\d{{1,12}})\.(?:({_KID})\.)?([A-Za-z0-9_-]{{22}})$"
)


class KeyRing(NamedTuple):
    current: str
    keys: dict[str, bytes]
    retired: frozenset[str] = frozenset()  # find email keys, verify nothing

    def secret(self, kid: str) -> bytes:
        if kid not in self.keys:
            raise LookupError(f"token key {kid!r} is not in the key ring (retired?)")
        return self.keys[kid]


@functools.lru_cache(maxsize=4)
def _parse_ring(raw: str) -> KeyRing:
    if not raw.lstrip().startswith("{"):
        return KeyRing(LEGACY, {LEGACY: raw.encode()})
    data = json.loads(raw)
    keys = {str(kid): str(value).encode() for kid, value in dict(data["keys"]).items()}
    current, retired = str(data["current"]), frozenset(map(str, data.get("retired", ())))
    if current not in keys or current in retired or not all(_KID_RE.match(kid) and keys[kid] for kid in keys):
        raise RuntimeError("TOKEN_KEY: `current` must name a live key; kids are 1-16 of [A-Za-z0-9_-]")
    return KeyRing(current, keys, retired)


def ring() -> KeyRing:
    return _parse_ring(secrets.get("TOKEN_KEY"))


def current_kid() -> str:
    return ring().current


def known_kid(kid: str | None) -> bool:
    """Whether things signed by `kid` (None: the pre-ring format, kid "k0") still verify."""
    keys = ring()
    return (kid or LEGACY) in keys.keys and (kid or LEGACY) not in keys.retired


def _purpose_key(kid: str, purpose: str) -> bytes:
    return hmac.new(ring().secret(kid), f"giftplans/{purpose}".encode(), hashlib.sha256).digest()


def _cut(key: bytes, message: str) -> str:
    digest = hmac.new(key, message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:MAC_CHARS]


def _mac(kid: str, purpose: str, message: str) -> str:
    return _cut(_purpose_key(kid, purpose), message)


def _legacy_mac(message: str) -> str:
    return _cut(ring().secret(LEGACY), message)


def new_nonce() -> str:
    """A fresh random nonce (128 bits), for ids and keys."""
    return _random.token_hex(16)


def link_nonce() -> str:
    """A fresh nonce for a link (invitation, verification): `<current kid>.<random>`."""
    return f"{current_kid()}.{new_nonce()}"


def _kid_of(nonce: str) -> str | None:
    kid, dot, _ = nonce.partition(".")
    return kid if dot else None


def hash_secret(mac: str) -> str:
    return hashlib.sha256(mac.encode()).hexdigest()


def sign(purpose: str, message: str) -> str:
    """A tag for `message` by the current key of `purpose`: `<kid>.<mac>`."""
    kid = current_kid()
    return f"{kid}.{_mac(kid, purpose, message)}"


def verify(purpose: str, message: str, tag: str) -> bool:
    """Whether `tag` is `sign(purpose, message)` by a key still in the ring (constant-time)."""
    kid, dot, mac = tag.partition(".") if isinstance(tag, str) else ("", "", "")
    if not dot or not known_kid(kid) or not _KID_RE.match(kid):
        return False
    return hmac.compare_digest(_mac(kid, purpose, message), mac)


class InviteToken(NamedTuple):
    purchase_id: str
    seat_id: str
    plan: str
    term_end_ts: int
    mac: str
    kid: str | None = None  # None: a pre-ring link (kid "k0")

    def __str__(self) -> str:
        signed = f"{self.kid}.{self.mac}" if self.kid else self.mac
        return f"{self.purchase_id}.{self.seat_id}.{self.plan}.{self.term_end_ts}.{signed}"

    @property
    def mac_hash(self) -> str:
        return hash_secret(f"{self.kid}.{self.mac}" if self.kid else self.mac)


def invite_token(purchase_id: str, seat_id: str, plan: str, term_end_ts: int, nonce: str) -> InviteToken:
    """The seat's link for `nonce`, by the key the nonce names (a pre-ring nonce: the old format)."""
    message = f"{purchase_id}.{seat_id}.{nonce}"
    kid = _kid_of(nonce)
    mac = _mac(kid, "invite", message) if kid else _legacy_mac(message)
    return InviteToken(purchase_id, seat_id, plan, term_end_ts, mac, kid)


def parse_invite_token(text: str) -> InviteToken | None:
    """The token's parts, or None when it is not shaped like one of ours (its kid retired included)."""
    match = _TOKEN.match(text.strip()) if isinstance(text, str) else None
    if not match or not known_kid(match.group(5)):
        return None
    pid, seat, plan, ts, kid, mac = match.groups()
    return InviteToken(pid, seat, plan, int(ts), mac, kid)


def verification_token(sub: str, nonce: str) -> str:
    """Email-verification token (the account is known from the caller's JWT): `<kid>.<mac>`."""
    kid = _kid_of(nonce)
    if kid is None:
        return _legacy_mac(f"verify.{sub}.{nonce}")
    return f"{kid}.{_mac(kid, 'verify', f'{sub}.{nonce}')}"


def live_verification_token(token: str) -> bool:
    """Whether a verification token's kid is still in the ring (the hash check is the caller's)."""
    return known_kid(_kid_of(token.strip()))


def email_key(email: str) -> str:
    """The keyed hash of a normalised address by the current key, `<kid>.<hash>`: what is written."""
    return _email_key(current_kid(), normalise_email(email))


def _email_key(kid: str, normalised: str) -> str:
    return f"{kid}.{_mac(kid, 'email', normalised)}"


def email_keys(email: str) -> list[str]:
    """Every key the address may be stored under: the current kid's first, then the ring's others
    (and the pre-ring key while "k0" is in the ring). Lookups and duplicate checks try them all."""
    normalised, keys = normalise_email(email), ring()
    found = [_email_key(keys.current, normalised)]
    found += [_email_key(kid, normalised) for kid in sorted(keys.keys) if kid != keys.current]
    if LEGACY in keys.keys:
        found.append(_legacy_mac(f"email.{normalised}"))
    return found


def normalise_email(email: str) -> str:
    """Addresses compare case-insensitively on the domain and, in practice, on the local part too;
    non-ASCII ones in Unicode NFC (RFC 6532), so a composed and a decomposed "é" are one address."""
    return unicodedata.normalize("NFC", email.strip().lower())


def mask_email(email: str | None) -> str:
    """For logs: 'a***@e***.com'."""
    if not email or "@" not in email:
        return "***"
    local, _, domain = email.partition("@")
    host, dot, tld = domain.rpartition(".")
    return f"{local[:1]}***@{(host or tld)[:1]}***{dot}{tld if host else ''}"
