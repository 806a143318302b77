"""Every email the service sends (SPEC section 5), as small `string.Template` layouts, in English and German.

A template function takes the notice's params and the reader's `Language` and returns a `Layout`
and the values it substitutes. The words are gettext catalog entries (`outbox/locales/*.po`, keys
such as `receipt.subject`), looked up through `lang.t(key)` or, where a count decides the form,
`lang.n(key, count)`; placeholders are `$name`. Dates and money are formatted by Babel for the
reader's locale (`lang.day`, `lang.moment`, `lang.money`). The renderer escapes every value for
HTML; the catalogs' text is trusted. Links are built here, from settings and, for the accept and
verification links, from the token key (the table never stores a link).
"""

from __future__ import annotations

from collections.abc import Callable
from string import Template
from typing import TYPE_CHECKING, Any, NamedTuple

from giftplans import settings, tokens

if TYPE_CHECKING:
    from giftplans.outbox.language import Language


class Layout(NamedTuple):
    subject: str
    paragraphs: tuple[str, ...]
    link: tuple[str, str] | None = None  # (label, name of the value holding the URL)
    quote: str | None = None  # name of a value shown as a quoted block (a personal message)
    after: tuple[str, ...] = ()  # paragraphs below the link


Values = dict[str, Any]
TemplateFn = Callable[[Values, "Language"], tuple[Layout, Values]]


# ---- formatting (English; for words outside email, e.g. an error's sentence) -----------------------------


def plan_name(plan: str | None) -> str:
    """A plan's name is a name: 'pro' -> 'Pro' in every language."""
    return (plan or "").replace("_", " ").title()


def _english() -> Language:
    from giftplans.outbox.language import Language

    return Language("en")


def day(iso_instant: str | None) -> str:
    """'2027-03-01T12:00:00Z' -> '1 March 2027' (the UTC date)."""
    return _english().day(iso_instant)


def moment(iso_instant: str | None) -> str:
    """'2027-03-01T12:00:00Z' -> '1 March 2027 at 12:00 UTC': a term ends at that minute, not at midnight."""
    return _english().moment(iso_instant)


def money(amount: int | None, currency: str | None) -> str:
    """Minor units -> '720.00 USD' (the currency's own exponent)."""
    return _english().money(amount, currency)


def _common(p: Values, lang: Language) -> Values:
    return {
        "plan_name": plan_name(p.get("plan")),
        "term_start_date": lang.moment(p.get("term_start")),
        "term_end_date": lang.moment(p.get("term_end")),
        "sender": p.get("sender") or lang.t("common.someone"),
        "purchase_id": p.get("purchase_id", ""),
        "billing_url": settings.get().billing_url(),
        "renew_url": settings.get().renew_url(),
    }


def _billing_link(lang: Language) -> tuple[str, str]:
    return (lang.t("common.open_billing"), "billing_url")


# ---- buyer: purchases ------------------------------------------------------------------------------------


def receipt(p: Values, lang: Language) -> tuple[Layout, Values]:
    n = int(p["quantity"])
    v = {
        **_common(p, lang),
        "quantity": lang.number(n),
        "amount": lang.money(p.get("amount_total"), p.get("currency")),
        "tax": lang.money(p.get("amount_tax"), p.get("currency")),
        "invoice_url": p.get("invoice_url") or "",
    }
    # SPEC 8.6: the tax, and a link to the invoice.
    taxed = (lang.t("receipt.tax"),) if int(p.get("amount_tax") or 0) else ()
    invoice = (lang.t("receipt.invoice"),) if v["invoice_url"] else ()
    return Layout(
        subject=lang.n("receipt.subject", n),
        paragraphs=(
            lang.n("receipt.thanks", n),
            lang.t("receipt.amount"),
            *taxed,
            *invoice,
            lang.t("receipt.term"),
            lang.t("receipt.next"),
        ),
        link=_billing_link(lang),
    ), v


def payment_failed(p: Values, lang: Language) -> tuple[Layout, Values]:
    n = int(p["quantity"])
    v = {**_common(p, lang), "quantity": lang.number(n)}
    return Layout(
        subject=lang.n("payment_failed.subject", n),
        paragraphs=(lang.n("payment_failed.failed", n), lang.t("payment_failed.not_charged")),
        link=_billing_link(lang),
    ), v


def purchase_refunded(p: Values, lang: Language) -> tuple[Layout, Values]:
    n = int(p["quantity"])
    v = {
        **_common(p, lang),
        "quantity": lang.number(n),
        "amount": lang.money(p.get("amount_refunded"), p.get("currency")),
    }
    return Layout(
        subject=lang.n("purchase_refunded.subject", n),
        paragraphs=(lang.t("purchase_refunded.refunded"), lang.n("purchase_refunded.cancelled", n)),
        link=_billing_link(lang),
    ), v


def verification(p: Values, lang: Language) -> tuple[Layout, Values]:
    token = tokens.verification_token(str(p["sub"]), str(p["nonce"]))
    v = {"verify_url": settings.get().verify_url(token)}
    return Layout(
        subject=lang.t("verification.subject"),
        paragraphs=(lang.t("verification.body"),),
        link=(lang.t("verification.link"), "verify_url"),
        after=(lang.t("verification.ignore"),),
    ), v


# ---- recipient: invitations ------------------------------------------------------------------------------


def invitation(p: Values, lang: Language) -> tuple[Layout, Values]:
    token = tokens.invite_token(
        str(p["purchase_id"]), str(p["seat_id"]), str(p["plan"]), int(p["term_end_ts"]), str(p["nonce"])
    )
    v = {
        **_common(p, lang),
        "accept_url": settings.get().accept_url(str(token)),
        "message": p.get("message") or "",
    }
    return Layout(
        subject=lang.t("invitation.subject"),
        paragraphs=(lang.t("invitation.body"),),
        quote="message" if v["message"] else None,
        link=(lang.t("invitation.link"), "accept_url"),
        after=(lang.t("invitation.term"), lang.t("invitation.decline")),
    ), v


def invitation_reminder(p: Values, lang: Language) -> tuple[Layout, Values]:
    """Issue 16: the recipient's one reminder of an invitation not accepted a week after it went."""
    layout, v = invitation(p, lang)
    return Layout(
        subject=lang.t("invitation_reminder.subject"),
        paragraphs=(lang.t("invitation_reminder.body"),),
        link=layout.link,
        after=layout.after,
    ), v


def invitation_revoked(p: Values, lang: Language) -> tuple[Layout, Values]:
    return Layout(
        subject=lang.t("invitation_revoked.subject"),
        paragraphs=(lang.t("invitation_revoked.body"), lang.t("invitation_revoked.mistake")),
    ), _common(p, lang)


def invitation_accepted(p: Values, lang: Language) -> tuple[Layout, Values]:
    v = {**_common(p, lang), "recipient": p.get("recipient") or lang.t("common.your_recipient")}
    if p.get("credited") is not None:  # SPEC 8.5: they already had a plan
        v["amount"] = lang.money(p.get("credited"), p.get("currency"))
        return Layout(
            subject=lang.t("invitation_accepted.credit_subject"),
            paragraphs=(lang.t("invitation_accepted.credit_body"),),
            link=_billing_link(lang),
        ), v
    return Layout(
        subject=lang.t("invitation_accepted.subject"),
        paragraphs=(lang.t("invitation_accepted.body"),),
        link=_billing_link(lang),
    ), v


def gift_credited(p: Values, lang: Language) -> tuple[Layout, Values]:
    """SPEC 8.5: the recipient already had a plan; the gift's remaining value is a credit ."""
    v = {**_common(p, lang), "amount": lang.money(p.get("credited"), p.get("currency"))}
    if not int(p.get("credited") or 0):
        return Layout(
            subject=lang.t("gift_credited.none_subject"),
            paragraphs=(lang.t("gift_credited.none_body"),),
            link=(lang.t("gift_credited.link"), "renew_url"),
        ), v
    return Layout(
        subject=lang.t("gift_credited.subject"),
        paragraphs=(lang.t("gift_credited.body"), lang.t("gift_credited.next")),
        link=(lang.t("gift_credited.link"), "renew_url"),
    ), v


def invitation_declined(p: Values, lang: Language) -> tuple[Layout, Values]:
    v = {**_common(p, lang), "recipient": p.get("recipient") or lang.t("common.your_recipient")}
    return Layout(
        subject=lang.t("invitation_declined.subject"),
        paragraphs=(lang.t("invitation_declined.body"), lang.t("invitation_declined.available")),
        link=_billing_link(lang),
    ), v


# ---- reminders and the end of the term -------------------------------------------------------------------


def recipient_reminder(p: Values, lang: Language) -> tuple[Layout, Values]:
    days = int(p["days"])
    v = {**_common(p, lang), "days": lang.number(days)}
    return Layout(
        subject=lang.n("recipient_reminder.subject", days),
        paragraphs=(lang.t("recipient_reminder.ends"), lang.t("recipient_reminder.renew")),
        link=(lang.t("recipient_reminder.link"), "renew_url"),
    ), v


def buyer_reminder(p: Values, lang: Language) -> tuple[Layout, Values]:
    n = int(p["unassigned"])
    quantity = int(p.get("quantity") or n)
    days = int(p["days"])
    pending = int(p.get("never_accepted") or 0)  # issue 16: invitations sent and never accepted
    addresses = [str(a) for a in p.get("never_accepted_emails") or ()]
    v = {
        **_common(p, lang),
        "days": lang.number(days),
        "unassigned": lang.number(n),
        "quantity": lang.number(quantity),
        "bought": lang.n("buyer_reminder.bought", quantity),
        "in_days": Template(lang.n("buyer_reminder.in_days", days)).substitute(days=lang.number(days)),
        "pending": lang.number(pending),
        "pending_emails": ", ".join(addresses),
    }
    said: tuple[str, ...] = ()
    if pending and addresses:
        said = (lang.n("buyer_reminder.pending_list", len(addresses)),)
    elif pending:
        said = (lang.n("buyer_reminder.pending_count", pending),)
    if n == 0:  # only invitations left waiting: the reminder is about them
        return Layout(
            subject=lang.n("buyer_reminder.pending_subject", pending),
            paragraphs=(*said, lang.t("buyer_reminder.pending_next")),
            link=_billing_link(lang),
        ), v
    return Layout(
        subject=lang.n("buyer_reminder.subject", n),
        paragraphs=(lang.n("buyer_reminder.body", n), *said, lang.t("buyer_reminder.next")),
        link=_billing_link(lang),
    ), v


def plan_ended(p: Values, lang: Language) -> tuple[Layout, Values]:
    # A claimed seat's holder is the buyer: "received from" would name the reader.
    ended = lang.t("plan_ended.claimed") if p.get("claimed") else lang.t("plan_ended.received")
    return Layout(
        subject=lang.t("plan_ended.subject"),
        paragraphs=(ended, lang.t("plan_ended.renew")),
        link=(lang.t("plan_ended.link"), "renew_url"),
    ), _common(p, lang)


def unused_seats(p: Values, lang: Language) -> tuple[Layout, Values]:
    n = int(p["unused"])
    v = {**_common(p, lang), "unused": lang.number(n), "quantity": lang.number(int(p["quantity"]))}
    return Layout(
        subject=lang.n("unused_seats.subject", n),
        paragraphs=(lang.t("unused_seats.ended"), lang.n("unused_seats.unused", n)),
        link=_billing_link(lang),
    ), v


# ---- cancellations and upgrades --------------------------------------------------------------------------


def seat_cancelled(p: Values, lang: Language) -> tuple[Layout, Values]:
    active = bool(p.get("was_active"))
    why = (
        lang.t("seat_cancelled.why_refund")
        if p.get("reason") == "refund"
        else lang.t("seat_cancelled.why_cancel")
    )
    v = {**_common(p, lang), "why": why}
    if active:
        return Layout(
            subject=lang.t("seat_cancelled.active_subject"),
            paragraphs=(lang.t("seat_cancelled.active_body"), lang.t("seat_cancelled.active_ended")),
            link=(lang.t("seat_cancelled.see_plans"), "renew_url"),
        ), v
    return Layout(
        subject=lang.t("seat_cancelled.invited_subject"),
        paragraphs=(lang.t("seat_cancelled.invited_body"), lang.t("seat_cancelled.invited_link")),
    ), v


def seat_refunded(p: Values, lang: Language) -> tuple[Layout, Values]:
    """SPEC 8.7: support cancelled one never-used seat and refunded its value ."""
    v = {**_common(p, lang), "amount": lang.money(p.get("amount_refunded"), p.get("currency"))}
    return Layout(
        subject=lang.t("seat_refunded.subject"),
        paragraphs=(lang.t("seat_refunded.body"), lang.t("seat_refunded.rest")),
        link=_billing_link(lang),
    ), v


def upgrade_done(p: Values, lang: Language) -> tuple[Layout, Values]:
    v = {**_common(p, lang), "upgrade_plan_name": plan_name(p.get("upgrade_plan"))}
    return Layout(
        subject=lang.t("upgrade_done.subject"),
        paragraphs=(lang.t("upgrade_done.body"), lang.t("upgrade_done.renews")),
        link=_billing_link(lang),
    ), v


def upgrade_offer(p: Values, lang: Language) -> tuple[Layout, Values]:
    v = {
        **_common(p, lang),
        "upgrade_plan_name": plan_name(p.get("upgrade_plan")),
        "offer_url": p["offer_url"],
        "offer_until_date": lang.moment(p.get("offer_until")),
    }
    until = (lang.t("upgrade_offer.until"),) if p.get("offer_until") else ()
    return Layout(
        subject=lang.t("upgrade_offer.subject"),
        paragraphs=(lang.t("upgrade_offer.body"), lang.t("upgrade_offer.credit"), *until),
        link=(lang.t("upgrade_offer.link"), "offer_url"),
    ), v


TEMPLATES: dict[str, TemplateFn] = {
    fn.__name__: fn
    for fn in (
        receipt,
        payment_failed,
        purchase_refunded,
        verification,
        invitation,
        invitation_reminder,
        invitation_revoked,
        invitation_accepted,
        gift_credited,
        invitation_declined,
        recipient_reminder,
        buyer_reminder,
        plan_ended,
        unused_seats,
        seat_cancelled,
        seat_refunded,
        upgrade_done,
        upgrade_offer,
    )
}
