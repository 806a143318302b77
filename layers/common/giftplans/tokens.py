"""Accept-link and verification tokens, and keyed email hashes.

An invitation token names its seat and carries the plan and term end in clear, then a
MAC: `<purchase_id>.<seat_id>.<plan>.<term_end epoch>.<mac>`. The MAC is
HMAC-SHA256(token key, "<purchase_id>.<seat_id>.<nonce>") cut to 22 base64url
characters (132 bits). The table stores the random nonce and `sha256(mac)`; a copy of
the table without the key cannot rebuild a link. The mailer, which holds the key,
rebuilds the link from the seat's nonce.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets as _random
import unicodedata
from dataclasses import dataclass

from giftplans import secrets

MAC_CHARS = 22
_TOKEN = re.compile(r"^(pur_[a-z2-7]{26})\.(\d{4})\.([a-z]{1,20})\.(\d{1,12})\.([A-Za-z0-9_-]{22})$")


def _key() -> bytes:
    return secrets.get("TOKEN_KEY").encode()


def new_nonce() -> str:
    """A fresh random nonce (128 bits)."""
    return _random.token_hex(16)


def _mac(message: str) -> str:
    digest = hmac.new(_key(), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:MAC_CHARS]


def hash_secret(mac: str) -> str:
    return hashlib.sha256(mac.encode()).hexdigest()


@dataclass(frozen=True)
class InviteToken:
    purchase_id: str
    seat_id: str
    plan: str
    term_end_ts: int
    mac: str

    def __str__(self) -> str:
        return f"{self.purchase_id}.{self.seat_id}.{self.plan}.{self.term_end_ts}.{self.mac}"

    @property
    def mac_hash(self) -> str:
        return hash_secret(self.mac)


def invite_token(purchase_id: str, seat_id: str, plan: str, term_end_ts: int, nonce: str) -> InviteToken:
    return InviteToken(purchase_id, seat_id, plan, term_end_ts, _mac(f"{purchase_id}.{seat_id}.{nonce}"))


def parse_invite_token(text: str) -> InviteToken | None:
    """The token's parts, or None when it is not even shaped like one of ours."""
    match = _TOKEN.match(text.strip()) if isinstance(text, str) else None
    if not match:
        return None
    pid, seat, plan, ts, mac = match.groups()
    return InviteToken(pid, seat, plan, int(ts), mac)


def verification_token(sub: str, nonce: str) -> str:
    """Email-verification token: the account is known from the caller's JWT, so only the MAC travels."""
    return _mac(f"verify.{sub}.{nonce}")


def email_key(email: str) -> str:
    """A keyed hash of a normalised address: for lookups and duplicate checks without storing it twice."""
    return _mac(f"email.{normalise_email(email)}")


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


def sign(purpose: str, message: str) -> str:
    """A MAC of `message` for one `purpose` (22 base64url characters); `verify` checks it."""
    return _mac(f"{purpose}.{message}")


def verify(purpose: str, message: str, tag: str) -> bool:
    """True when `tag` is `sign(purpose, message)`; compared in constant time."""
    return hmac.compare_digest(sign(purpose, message), tag or "")
