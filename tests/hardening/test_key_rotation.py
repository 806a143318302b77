"""Issue 14 item 6: the token key rotates without breaking open links or email lookups.

The ring is `TOKEN_KEY` (SSM when deployed): `{"current": kid, "keys": {kid: secret}}`. The scenario
rotates mid-way: links and lookups made under the old kid keep working while it stays in the ring,
new ones carry the new kid, and once the old kid leaves the ring its links are dead (404).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from giftplans import admin, privacy, tokens

from tests.integration.test_verification import ask, confirm, link_token, profile
from tests.support import gifts as g
from tests.support.apigw import claims
from tests.support.factories import paid_purchase

pytestmark = pytest.mark.usefixtures("aws", "clock")

OLD, NEW = "local-old-secret-for-tests", "local-new-secret-for-tests"


def use_ring(
    monkeypatch: pytest.MonkeyPatch, current: str, retired: tuple[str, ...] = (), **keys: str
) -> None:
    ring = {"current": current, "keys": keys, "retired": list(retired)}
    monkeypatch.setenv("TOKEN_KEY", json.dumps(ring))


def kid_of(link: str) -> str | None:
    token = tokens.parse_invite_token(link)
    assert token is not None, link
    return token.kid


def test_given_links_made_by_k1_when_rotated_to_k2_then_old_links_work_new_carry_k2_and_k1_retired_404(
    monkeypatch: pytest.MonkeyPatch, clock: Any
) -> None:
    use_ring(monkeypatch, "k1", k1=OLD)
    pid = paid_purchase(quantity=4)
    assert g.invite(pid, "ann@example.com", "bob@example.com", "cat@example.com")[0] == 201
    ann_old, bob_old, cat_old = (g.link(pid, s) for s in ("0001", "0002", "0003"))
    assert {kid_of(x) for x in (ann_old, bob_old, cat_old)} == {"k1"}
    assert ask()[0] == 202
    verify_old = link_token()
    assert verify_old.startswith("k1.")

    use_ring(monkeypatch, "k2", k1=OLD, k2=NEW)  # the window: k2 signs, k1 still verifies

    assert g.preview(ann_old)[0] == 200
    assert g.accept(ann_old, claims("sub-ann", "ann@example.com"))[0] == 200
    assert confirm(verify_old)[0] == 200 and profile().verified_email == g.BUYER_EMAIL
    # Lookups by address find what k1 indexed: support's search, the privacy record, rule 11.
    assert [s.seat.seat_id for _, s in admin.find(None, "bob@example.com").seats] == ["0002"]
    assert [s.seat.seat_id for _, s in privacy.kept("ann@example.com").seats] == ["0001"]
    assert [p.as_json()["purchase_id"] for p in admin.find(g.BUYER_EMAIL, None).purchases] == [pid]
    status, body = g.invite(pid, "bob@example.com")
    assert (status, body["error"]["code"]) == (409, "already_invited")  # bob's k1 holder still counts
    # New links carry the new kid; they and a resent old seat work under k2.
    assert g.invite(pid, "dan@example.com")[0] == 201
    dan_new = g.link(pid, "0004")
    assert kid_of(dan_new) == "k2" and g.preview(dan_new)[0] == 200
    clock.advance(hours=2)  # past the resend interval
    assert g.seat_action(pid, "0003", "resend")[0] == 202
    cat_new = g.link(pid, "0003")
    assert kid_of(cat_new) == "k2" and g.preview(cat_old)[1]["error"]["code"] == "invitation_revoked"

    use_ring(monkeypatch, "k2", ("k1",), k1=OLD, k2=NEW)  # the window is over: k1 retires

    status, body = g.preview(bob_old)
    assert (status, body["error"]["code"]) == (404, "invitation_not_found")
    assert g.accept(bob_old, claims("sub-bob", "bob@example.com"))[0] == 404
    assert g.decline(bob_old)[0] == 404
    assert g.preview(ann_old)[0] == 404  # even an accepted seat's old link is only "not found" now
    assert g.preview(dan_new)[0] == 200 and g.preview(cat_new)[0] == 200
    assert g.accept(dan_new, claims("sub-dan", "dan@example.com"))[0] == 200
    # A retired kid still finds what it indexed (support, erasure) ...
    assert [s.seat.seat_id for _, s in admin.find(None, "bob@example.com").seats] == ["0002"]
    use_ring(monkeypatch, "k2", k2=NEW)  # ... until it leaves the ring (docs/runbook.md: when)
    assert g.preview(bob_old)[0] == 404
    assert admin.find(None, "bob@example.com").seats == []
    assert [s.seat.seat_id for _, s in admin.find(None, "dan@example.com").seats] == ["0004"]


def test_given_a_verification_link_by_a_retired_kid_then_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    use_ring(monkeypatch, "k1", k1=OLD)
    assert ask()[0] == 202
    old = link_token()
    use_ring(monkeypatch, "k2", k2=NEW)
    status, body = confirm(old)
    assert (status, body["error"]["code"]) == (422, "invalid_token")


def test_given_a_plain_string_secret_then_it_is_kid_k0_and_links_made_before_the_ring_still_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TOKEN_KEY", OLD)
    pid = paid_purchase(quantity=2)
    assert g.invite(pid, "ann@example.com")[0] == 201
    assert kid_of(g.link(pid, "0001")) == "k0"
    seat = g.seat(pid, "0001")
    # A link mailed before the ring: the nonce had no kid, the MAC came straight from the secret.
    legacy_nonce = "0" * 32
    legacy = tokens.invite_token(pid, "0001", seat.plan, int(seat.term_end_ts), legacy_nonce)
    assert legacy.kid is None and str(legacy).count(".") == 4
    seat.update(actions=[type(seat).nonce.set(legacy_nonce), type(seat).token_hash.set(legacy.mac_hash)])
    assert g.preview(str(legacy))[0] == 200
    use_ring(monkeypatch, "k1", k0=OLD, k1=NEW)  # rotated from the plain secret: k0 stays a while
    assert g.preview(str(legacy))[0] == 200
    assert [s.seat.seat_id for _, s in admin.find(None, "ann@example.com").seats] == ["0001"]
    use_ring(monkeypatch, "k1", k1=NEW)
    assert g.preview(str(legacy))[0] == 404


def test_sign_and_verify_carry_the_kid_and_keys_differ_per_purpose(monkeypatch: pytest.MonkeyPatch) -> None:
    use_ring(monkeypatch, "k1", k1=OLD)
    tag = tokens.sign("share", "pur_x.0001")
    assert tag.startswith("k1.") and tokens.verify("share", "pur_x.0001", tag)
    assert not tokens.verify("upgrade", "pur_x.0001", tag)  # another purpose, another key
    assert not tokens.verify("share", "pur_x.0002", tag)
    use_ring(monkeypatch, "k2", k1=OLD, k2=NEW)
    assert tokens.verify("share", "pur_x.0001", tag) and tokens.sign("share", "m").startswith("k2.")
    use_ring(monkeypatch, "k2", k2=NEW)
    assert not tokens.verify("share", "pur_x.0001", tag)
    assert not tokens.verify("share", "m", "nodot") and not tokens.verify("share", "m", "k9.x")
    emails = tokens.email_keys("Ann@Example.com")
    assert emails[0] == tokens.email_key("ann@example.com") and emails[0].startswith("k2.")


@pytest.mark.parametrize(
    "raw",
    [
        '{"current": "k3", "keys": {"k1": "x"}}',
        '{"current": "a.b", "keys": {"a.b": "x"}}',
        '{"current": "k1", "keys": {"k1": "x"}, "retired": ["k1"]}',
    ],
)
def test_given_a_ring_naming_no_current_key_or_a_bad_kid_then_it_fails_loudly(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv("TOKEN_KEY", raw)
    with pytest.raises(RuntimeError, match="TOKEN_KEY"):
        tokens.current_kid()


def test_given_an_invitation_made_by_k1_when_mailed_after_the_switch_then_the_email_carries_its_k1_link(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.integration.test_link_secrecy import _invitation_email

    use_ring(monkeypatch, "k1", k1=OLD)
    pid = paid_purchase(quantity=2)
    assert g.invite(pid, "ann@example.com")[0] == 201
    use_ring(monkeypatch, "k2", k1=OLD, k2=NEW)  # the stream record reaches the mailer after the switch

    email = _invitation_email(g.seat(pid, "0001"))

    link = g.link(pid, "0001")
    assert kid_of(link) == "k1" and link in email.text
    assert g.preview(link)[0] == 200


def test_given_an_address_keyed_by_k1_when_erased_after_the_switch_then_everything_is_found_and_erased(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_ring(monkeypatch, "k1", k1=OLD)
    pid = paid_purchase(quantity=3)
    assert g.invite(pid, "ann@example.com")[0] == 201
    use_ring(monkeypatch, "k2", ("k1",), k1=OLD, k2=NEW)  # k1 retired: it still finds addresses

    erased = privacy.erase("ann@example.com", "support:test").as_json()

    assert erased["changed"]["seats"] == 1, erased
    assert g.seat(pid, "0001").recipient_email != "ann@example.com"
    assert privacy.kept("ann@example.com").seats == []
    assert g.invite(pid, "ann@example.com")[0] == 201  # her k1 Holder went with her (rule 11 is free)


def test_given_a_shared_link_made_by_k1_when_rotated_then_it_is_accepted_and_retiring_k1_kills_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.integration.test_sharing import shared_link

    use_ring(monkeypatch, "k1", k1=OLD)
    pid = paid_purchase(quantity=2)
    first, second = shared_link(pid, "0001"), shared_link(pid, "0002")
    assert kid_of(first) == kid_of(second) == "k1"
    use_ring(monkeypatch, "k2", k1=OLD, k2=NEW)
    assert g.accept(first, claims("sub-ann", "ann@example.com"))[0] == 200
    use_ring(monkeypatch, "k2", ("k1",), k1=OLD, k2=NEW)
    assert g.preview(second)[0] == 404
