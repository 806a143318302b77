"""Every email the service sends (SPEC section 5), as small `string.Template` layouts.

A template function takes the notice's params and returns a `Layout` and the values it
substitutes. Placeholders are `$name`. The renderer escapes every value for HTML; the
layouts themselves are trusted text. Links are built here, from settings and, for the
accept and verification links, from the token key (the table never stores a link).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from giftplans import clock, settings, tokens

ZERO_DECIMAL = frozenset(
    {
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    }
)


@dataclass(frozen=True)
class Layout:
    subject: str
    paragraphs: tuple[str, ...]
    link: tuple[str, str] | None = None  # (label, name of the value holding the URL)
    quote: str | None = None  # name of a value shown as a quoted block (a personal message)
    after: tuple[str, ...] = ()  # paragraphs below the link


Values = dict[str, Any]
TemplateFn = Callable[[Values], tuple[Layout, Values]]


# ---- formatting ------------------------------------------------------------------------------------------


def plan_name(plan: str | None) -> str:
    return (plan or "").replace("_", " ").title()


def day(iso_instant: str | None) -> str:
    """'2027-03-01T12:00:00Z' -> '1 March 2027' (the UTC date)."""
    if not iso_instant:
        return ""
    instant = clock.parse_iso(iso_instant)
    return f"{instant.day} {instant.strftime('%B %Y')}"


def moment(iso_instant: str | None) -> str:
    """'2027-03-01T12:00:00Z' -> '1 March 2027 at 12:00 UTC': a term ends at that minute, not at midnight."""
    if not iso_instant:
        return ""
    instant = clock.parse_iso(iso_instant)
    return f"{day(iso_instant)} at {instant.strftime('%H:%M')} UTC"


def money(amount: int | None, currency: str | None) -> str:
    code = (currency or "").lower()
    units = int(amount or 0)
    if code in ZERO_DECIMAL:
        return f"{units:,} {code.upper()}"
    return f"{units // 100:,}.{units % 100:02d} {code.upper()}"


def plural(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


def _common(p: Values) -> Values:
    return {
        "plan_name": plan_name(p.get("plan")),
        "term_start_date": moment(p.get("term_start")),
        "term_end_date": moment(p.get("term_end")),
        "sender": p.get("sender") or "Someone",
        "purchase_id": p.get("purchase_id", ""),
        "billing_url": settings.get().billing_url(),
        "renew_url": settings.get().renew_url(),
    }


# ---- buyer: purchases ------------------------------------------------------------------------------------


def receipt(p: Values) -> tuple[Layout, Values]:
    n = int(p["quantity"])
    v = {
        **_common(p),
        "quantity": n,
        "plans": plural(n, "plan", "plans"),
        "amount": money(p.get("amount_total"), p.get("currency")),
        "tax": money(p.get("amount_tax"), p.get("currency")),
        "invoice_url": p.get("invoice_url") or "",
    }
    paid = "Amount paid: $amount" + (", of which tax $tax" if int(p.get("amount_tax") or 0) else "")
    invoice = ("Your invoice: $invoice_url",) if v["invoice_url"] else ()  # SPEC 8.6
    return Layout(
        subject="Your receipt: $quantity $plan_name $plans for others",
        paragraphs=(
            "Thank you for your purchase of $quantity $plan_name $plans for others.",
            paid + ". Purchase reference: $purchase_id.",
            *invoice,
            "Every plan in this purchase runs from $term_start_date to $term_end_date, whenever it "
            "is accepted.",
            "Invite the people you bought them for, or claim one for yourself, from your Billing page.",
        ),
        link=("Open your Billing page", "billing_url"),
    ), v


def payment_failed(p: Values) -> tuple[Layout, Values]:
    n = int(p["quantity"])
    v = {**_common(p), "quantity": n, "plans": plural(n, "plan", "plans")}
    return Layout(
        subject="Your payment for $quantity $plan_name $plans did not go through",
        paragraphs=(
            "Your payment for $quantity $plan_name $plans (purchase $purchase_id) failed, so the "
            "plans cannot be used.",
            "You were not charged. You can buy again from your Billing page.",
        ),
        link=("Open your Billing page", "billing_url"),
    ), v


def purchase_refunded(p: Values) -> tuple[Layout, Values]:
    n = int(p["quantity"])
    v = {
        **_common(p),
        "quantity": n,
        "plans": plural(n, "plan", "plans"),
        "amount": money(p.get("amount_refunded"), p.get("currency")),
    }
    return Layout(
        subject="Your purchase of $quantity $plan_name $plans was refunded",
        paragraphs=(
            "We refunded $amount for purchase $purchase_id.",
            "Its $quantity $plan_name $plans are cancelled: open invitations no longer work, and "
            "anyone who was using one of them has been told.",
        ),
        link=("Open your Billing page", "billing_url"),
    ), v


def verification(p: Values) -> tuple[Layout, Values]:
    token = tokens.verification_token(str(p["sub"]), str(p["nonce"]))
    v = {"verify_url": settings.get().verify_url(token)}
    return Layout(
        subject="Confirm your email address",
        paragraphs=("Confirm this address to invite people to the plans you bought.",),
        link=("Confirm my email address", "verify_url"),
        after=("If you did not ask for this, ignore this email.",),
    ), v


# ---- recipient: invitations ------------------------------------------------------------------------------


def invitation(p: Values) -> tuple[Layout, Values]:
    token = tokens.invite_token(
        str(p["purchase_id"]), str(p["seat_id"]), str(p["plan"]), int(p["term_end_ts"]), str(p["nonce"])
    )
    v = {**_common(p), "accept_url": settings.get().accept_url(str(token)), "message": p.get("message") or ""}
    return Layout(
        subject="$sender gave you a $plan_name plan",
        paragraphs=("$sender has given you a $plan_name plan, until $term_end_date.",),
        quote="message" if v["message"] else None,
        link=("Accept your plan", "accept_url"),
        after=(
            "The plan's year started when it was bought, on $term_start_date, and ends on $term_end_date, "
            "whatever day you accept it: accepting later does not extend it, so the sooner you accept, "
            "the more of the year you get.",
            "If you do not want it, you can decline it from the same page. This link is personal: do not "
            "forward it.",
        ),
    ), v


def invitation_revoked(p: Values) -> tuple[Layout, Values]:
    return Layout(
        subject="Your $plan_name invitation from $sender was withdrawn",
        paragraphs=(
            "$sender withdrew the $plan_name plan they invited you to. The link in their invitation "
            "no longer works.",
            "If you think this is a mistake, ask $sender to invite you again.",
        ),
    ), _common(p)


def invitation_accepted(p: Values) -> tuple[Layout, Values]:
    v = {**_common(p), "recipient": p.get("recipient") or "Your recipient"}
    if p.get("credited") is not None:  # SPEC 8.5: they already had a plan
        v["amount"] = money(p.get("credited"), p.get("currency"))
        return Layout(
            subject="$recipient accepted your $plan_name plan as a credit",
            paragraphs=(
                "$recipient accepted the $plan_name plan you gave them. They already had a plan, so "
                "your gift of $plan_name was added as a credit of $amount to their account, taken off "
                "their next invoices.",
            ),
            link=("Open your Billing page", "billing_url"),
        ), v
    return Layout(
        subject="$recipient accepted your $plan_name plan",
        paragraphs=("$recipient accepted the $plan_name plan you gave them. It runs until $term_end_date.",),
        link=("Open your Billing page", "billing_url"),
    ), v


def gift_credited(p: Values) -> tuple[Layout, Values]:
    """SPEC 8.5: the recipient already had a plan; the gift's remaining value is a credit."""
    v = {**_common(p), "amount": money(p.get("credited"), p.get("currency"))}
    if not int(p.get("credited") or 0):
        return Layout(
            subject="Your gift of $plan_name from $sender",
            paragraphs=(
                "You already have a plan, and your gift of $plan_name from $sender ends on $term_end_date, "
                "so there was nothing left of it to add as a credit to your account.",
            ),
            link=("Open My plan", "renew_url"),
        ), v
    return Layout(
        subject="Your gift of $plan_name was added as a credit of $amount",
        paragraphs=(
            "You already have a plan, so your gift of $plan_name from $sender was added as a credit of "
            "$amount to your account.",
            "The credit is taken off your next invoices; your current plan stays as it is.",
        ),
        link=("Open My plan", "renew_url"),
    ), v


def invitation_declined(p: Values) -> tuple[Layout, Values]:
    v = {**_common(p), "recipient": p.get("recipient") or "Your recipient"}
    return Layout(
        subject="$recipient declined your $plan_name plan",
        paragraphs=(
            "$recipient declined the $plan_name plan you invited them to.",
            "The plan is available again: invite someone else or claim it for yourself.",
        ),
        link=("Open your Billing page", "billing_url"),
    ), v


# ---- reminders and the end of the term -------------------------------------------------------------------


def recipient_reminder(p: Values) -> tuple[Layout, Values]:
    v = {**_common(p), "days": int(p["days"])}
    return Layout(
        subject="Your $plan_name plan ends in $days days",
        paragraphs=(
            "Your $plan_name plan ends on $term_end_date. Gifted plans do not renew automatically.",
            "Renew it, or upgrade to a higher plan: the rest of your gift counts towards the price.",
        ),
        link=("Renew or upgrade", "renew_url"),
    ), v


def buyer_reminder(p: Values) -> tuple[Layout, Values]:
    n = int(p["unassigned"])
    quantity = int(p.get("quantity") or n)
    v = {
        **_common(p),
        "days": int(p["days"]),
        "unassigned": n,
        "quantity": quantity,
        "plans": plural(n, "plan is", "plans are"),
        "bought": plural(quantity, "plan", "plans"),
        "is_are": plural(n, "is", "are"),
    }
    return Layout(
        subject="$unassigned $plan_name $plans still unassigned",
        paragraphs=(
            "$unassigned of the $quantity $plan_name $bought you bought (purchase $purchase_id) $is_are "
            "still unassigned, and the term ends in $days days, on $term_end_date.",
            "Invite someone or claim one for yourself from your Billing page before then: unassigned "
            "plans end with the term.",
        ),
        link=("Open your Billing page", "billing_url"),
    ), v


def plan_ended(p: Values) -> tuple[Layout, Values]:
    # A claimed seat's holder is the buyer: "received from" would name the reader.
    whose = (
        "The $plan_name plan you claimed"
        if p.get("claimed")
        else "The $plan_name plan you received from $sender"
    )
    return Layout(
        subject="Your $plan_name plan has ended",
        paragraphs=(
            f"{whose} ended on $term_end_date.",
            "Gifted plans do not renew by themselves. You can renew it, or choose another plan, whenever "
            "you like.",
        ),
        link=("Renew your plan", "renew_url"),
    ), _common(p)


def unused_seats(p: Values) -> tuple[Layout, Values]:
    n = int(p["unused"])
    v = {
        **_common(p),
        "unused": n,
        "quantity": int(p["quantity"]),
        "were": plural(n, "plan was", "plans were"),
    }
    return Layout(
        subject="Your $plan_name plans have ended: $unused never used",
        paragraphs=(
            "The term of purchase $purchase_id ended on $term_end_date.",
            "$unused of its $quantity $plan_name $were never accepted or claimed.",
        ),
        link=("Open your Billing page", "billing_url"),
    ), v


# ---- cancellations and upgrades --------------------------------------------------------------------------


def seat_cancelled(p: Values) -> tuple[Layout, Values]:
    active = bool(p.get("was_active"))
    why = "the purchase was refunded" if p.get("reason") == "refund" else "support cancelled it"
    v = {**_common(p), "why": why}
    if active:
        return Layout(
            subject="Your $plan_name plan has been cancelled",
            paragraphs=(
                "The $plan_name plan you received from $sender has been cancelled because $why.",
                "It has ended now. You can choose a plan of your own at any time.",
            ),
            link=("See plans", "renew_url"),
        ), v
    return Layout(
        subject="Your $plan_name invitation from $sender was cancelled",
        paragraphs=(
            "The $plan_name plan $sender invited you to has been cancelled because $why.",
            "The link in the invitation no longer works.",
        ),
    ), v


def seat_refunded(p: Values) -> tuple[Layout, Values]:
    """SPEC 8.7: support cancelled one never-used seat and refunded its value."""
    v = {**_common(p), "amount": money(p.get("amount_refunded"), p.get("currency"))}
    return Layout(
        subject="We refunded $amount for one $plan_name plan",
        paragraphs=(
            "One unused $plan_name plan of purchase $purchase_id was cancelled, and we refunded its value, "
            "$amount, to your payment method.",
            "The other plans of the purchase are unchanged.",
        ),
        link=("Open your Billing page", "billing_url"),
    ), v


def upgrade_done(p: Values) -> tuple[Layout, Values]:
    v = {**_common(p), "upgrade_plan_name": plan_name(p.get("upgrade_plan"))}
    return Layout(
        subject="You are now on $upgrade_plan_name",
        paragraphs=(
            "Your upgrade from $plan_name to $upgrade_plan_name is done.",
            "Your new plan is a yearly subscription that renews automatically; you can manage or "
            "cancel it from your Billing page.",
        ),
        link=("Open your Billing page", "billing_url"),
    ), v


def upgrade_offer(p: Values) -> tuple[Layout, Values]:
    v = {**_common(p), "upgrade_plan_name": plan_name(p.get("upgrade_plan")), "offer_url": p["offer_url"]}
    return Layout(
        subject="Your upgrade to $upgrade_plan_name",
        paragraphs=(
            "Here is the link to upgrade your $plan_name plan to $upgrade_plan_name, as you asked "
            "our support team.",
            "What is left of your gift counts towards the price.",
        ),
        link=("Upgrade now", "offer_url"),
    ), v


TEMPLATES: dict[str, TemplateFn] = {
    fn.__name__: fn
    for fn in (
        receipt,
        payment_failed,
        purchase_refunded,
        verification,
        invitation,
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
