"""The service's own email verification, for buyers whose identity provider has not verified them.

`request(caller)` records a fresh nonce and the hash of its token on the profile
(`last_action=verify`); the mailer sees that change in the stream and mails the link,
rebuilding the token from the nonce with the key. `confirm(caller, token)` compares the
token's hash and records `verified_email`. At most one link a minute and `MAILS_PER_DAY`
a UTC day per account (a counter item written in the same transaction, 429 with
`resets_at` past it); a link is good for a day and only for the address it was sent to.

`is_verified` is the one answer to "may this caller act on their email": the JWT's
`email_verified` claim, or this service's record for the same address.
"""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta
from typing import Any

from giftplans import clock, tokens
from giftplans.errors import Invalid, TooMany
from giftplans.identity import Caller
from giftplans.store import get_store
from giftplans.store import keys as k
from giftplans.store import models as m
from giftplans.store.writes import Refused, stamp
from giftplans.views import Account, VerificationSent, Verified

RESEND_AFTER = timedelta(minutes=1)
MAILS_PER_DAY = 5
VALID_FOR = timedelta(days=1)
VERIFY, VERIFIED = "verify", "verified"
INVALID = "This verification link is not valid (it may be old, or a newer one was sent). Ask for a new one."


def is_verified(caller: Caller, profile: m.Item | None) -> bool:
    if not caller.email:
        return False
    if caller.email_verified:
        return True
    return isinstance(profile, m.Profile) and profile.verified_email == tokens.normalise_email(caller.email)


def account(caller: Caller) -> Account:
    """`GET /me`: the caller, `email_verified` as `is_verified` decides it (the profile read if needed)."""
    if not caller.email or caller.email_verified:
        return Account(caller.sub, caller.email, bool(caller.email))
    return Account(caller.sub, caller.email, is_verified(caller, get_store().profile(caller.sub)))


def _require_email(caller: Caller) -> str:
    if not caller.email:
        raise Invalid("Your sign-in carries no email address to verify.", code="email_missing")
    return caller.email


def _update_profile(
    profile: m.Profile, actions: list[Any], last_action: str, condition: Any, counted: Any = None
) -> None:
    """One conditional write of the buyer's profile (`Refused` when the condition fails), with
    `counted`'s steps in the same transaction."""

    def build(steps: Any) -> None:
        steps.update(
            "profile", profile, [*actions, *stamp(m.Profile, last_action, "buyer")], condition=condition
        )
        if counted is not None:
            counted(steps)

    get_store().write(build)


def _count_mail(steps: Any, sub: str, now: datetime) -> None:
    """One more verification email today, refused (step "verify_mails") past `MAILS_PER_DAY`."""
    from giftplans.invitations.limits import KEPT_AFTER_MIDNIGHT_S, next_midnight

    counter = m.InviteCounter(k.account_pk(sub), k.verify_mails_sk(now.date().isoformat()))
    actions = [
        m.InviteCounter.type.set(m.InviteCounter),
        m.InviteCounter.sent.add(1),
        m.InviteCounter.expires_at.set(clock.epoch(next_midnight(now)) + KEPT_AFTER_MIDNIGHT_S),
    ]
    condition = m.InviteCounter.sent.does_not_exist() | (m.InviteCounter.sent < MAILS_PER_DAY)
    steps.update("verify_mails", counter, actions=actions, condition=condition)


def _mails_limit(now: datetime) -> TooMany:
    from giftplans.invitations.limits import next_midnight

    resets = next_midnight(now)
    wait = max(1, clock.epoch(resets) - clock.epoch(now))
    return TooMany(
        f"At most {MAILS_PER_DAY} verification emails can be sent a day; ask again tomorrow.",
        code="verification_limit_reached",
        details={"resets_at": clock.iso(resets), "limit": MAILS_PER_DAY},
        headers={"Retry-After": str(wait)},
    )


def request(caller: Caller) -> VerificationSent:
    """Record a fresh verification nonce (the mailer sends the link from the stream). One round trip."""
    email = _require_email(caller)
    now = clock.now()
    now_ts = clock.epoch(now)
    nonce = tokens.link_nonce()
    token_hash = tokens.hash_secret(tokens.verification_token(caller.sub, nonce))
    profile = m.Profile(k.account_pk(caller.sub), k.PROFILE_SK)
    wait = int(RESEND_AFTER.total_seconds())
    try:
        _update_profile(
            profile,
            [
                m.Profile.type.set(m.Profile),
                m.Profile.sub.set(caller.sub),
                m.Profile.verify_email.set(email),
                m.Profile.verify_nonce.set(nonce),
                m.Profile.verify_hash.set(token_hash),
                m.Profile.verify_sent_ts.set(now_ts),
                *([m.Profile.locale.set(caller.locale)] if caller.locale else []),
                # found by its address for support and erasure (docs/privacy.md)
                m.Profile.GSI3PK.set(k.email_gsi(tokens.email_key(email))),
                m.Profile.GSI3SK.set(k.profile_email_sk(caller.sub)),
            ],
            VERIFY,
            m.Profile.verify_sent_ts.does_not_exist() | (m.Profile.verify_sent_ts <= now_ts - wait),
            counted=lambda steps: _count_mail(steps, caller.sub, now),
        )
    except Refused as refused:
        if refused.failed("verify_mails"):
            raise _mails_limit(now) from refused
        old = refused.old("profile")
        sent = int(old.verify_sent_ts) if isinstance(old, m.Profile) and old.verify_sent_ts else now_ts
        retry = max(1, sent + wait - now_ts)
        raise TooMany(
            f"A verification email was sent less than a minute ago; try again in {retry} seconds.",
            code="verification_too_soon",
            details={"retry_after": retry},
            headers={"Retry-After": str(retry)},
        ) from refused
    return VerificationSent(tokens.mask_email(email))


def confirm(caller: Caller, token: str) -> Verified:
    """Check the link's token against the profile; record the verified address."""
    email = _require_email(caller)
    now = clock.now()
    profile = get_store().profile(caller.sub)
    if profile is None:
        raise Invalid(INVALID, code="invalid_token")
    given = tokens.hash_secret(str(token).strip())
    if (
        not profile.verify_hash
        or not profile.verify_email
        or not hmac.compare_digest(given, profile.verify_hash)
        or not tokens.live_verification_token(str(token))  # its key still in the ring
        or tokens.normalise_email(profile.verify_email) != tokens.normalise_email(email)
        or clock.epoch(now) > int(profile.verify_sent_ts or 0) + int(VALID_FOR.total_seconds())
    ):
        raise Invalid(INVALID, code="invalid_token")
    try:
        _update_profile(
            profile,
            [
                m.Profile.verified_email.set(tokens.normalise_email(profile.verify_email or email)),
                m.Profile.verify_nonce.remove(),
                m.Profile.verify_hash.remove(),
            ],
            VERIFIED,
            m.Profile.verify_hash == given,
        )
    except Refused as refused:  # a newer link was asked for in between
        raise Invalid(INVALID, code="invalid_token") from refused
    return Verified()
