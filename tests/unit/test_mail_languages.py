"""Every email in English and German (SPEC 8.9): the words come from the gettext catalogs, the two
catalogs and the templates agree key for key, no English is left in a German email, and dates and
money follow the reader's locale (Babel)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from giftplans.outbox import rendering
from giftplans.outbox.language import CATALOGS, Language
from giftplans.outbox.templates import TEMPLATES

from tests.unit.test_mail_render import PARAMS

LANGUAGES = ("en", "de")
SOURCES = [Path(rendering.__file__), Path(rendering.__file__).with_name("templates.py")]
USED = re.compile(r"""lang\.[tn]\(\s*["']([\w.]+)["']""")
PLACEHOLDER = re.compile(r"\$(\w+)")
# Every form of every email: the template's params, and the branches and plurals it has.
CASES: dict[str, dict[str, object]] = {
    **{name: dict(params) for name, params in PARAMS.items()},
    "receipt:one": {**PARAMS["receipt"], "quantity": 1},
    "buyer_reminder:one": {**PARAMS["buyer_reminder"], "unassigned": 1, "quantity": 1, "days": 1},
    "buyer_reminder:pending_list": {
        **PARAMS["buyer_reminder"],
        "never_accepted": 2,
        "never_accepted_emails": ["ann@example.com", "bob@example.com"],
    },
    "buyer_reminder:pending_only": {**PARAMS["buyer_reminder"], "unassigned": 0, "never_accepted": 1},
    "buyer_reminder:pending_many": {**PARAMS["buyer_reminder"], "unassigned": 0, "never_accepted": 40},
    "buyer_reminder:pending_one_listed": {
        **PARAMS["buyer_reminder"],
        "never_accepted": 1,
        "never_accepted_emails": ["ann@example.com"],
    },
    "recipient_reminder:one": {**PARAMS["recipient_reminder"], "days": 1},
    "unused_seats:one": {**PARAMS["unused_seats"], "unused": 1},
    "purchase_refunded:one": {**PARAMS["purchase_refunded"], "quantity": 1},
    "payment_failed:one": {**PARAMS["payment_failed"], "quantity": 1},
    "plan_ended:claimed": {**PARAMS["plan_ended"], "claimed": True},
    "seat_cancelled:invited": {**PARAMS["seat_cancelled"], "was_active": False, "reason": "cancel"},
    "invitation:no_sender": {**PARAMS["invitation"], "sender": None, "message": ""},
    "invitation_accepted:no_recipient": {**PARAMS["invitation_accepted"], "recipient": None},
}
# Words that are German too (or names): allowed in a German email.
GERMAN_TOO = frozenset(
    {"pro", "team", "connect", "gift", "plans", "utc", "usd", "link", "support", "abo", "rest", "was"}
)


def _catalog(locale: str):
    with (CATALOGS / f"{locale}.po").open("rb") as source:
        return read_po(source, locale=locale)


def _entries(locale: str) -> dict[str, tuple[str, ...]]:
    """key -> its forms (one string, or the plural forms)."""
    out: dict[str, tuple[str, ...]] = {}
    for message in _catalog(locale):
        if not message.id:
            continue
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        out[key] = tuple(forms)
    return out


def _template(case: str) -> str:
    return case.split(":")[0]


def _visible_words(rendered: rendering.Rendered, params: dict[str, object]) -> set[str]:
    """Words a reader sees, without the values the params put in (names, addresses, links, messages)."""
    text = " ".join([rendered.subject, rendered.text, html.unescape(re.sub(r"<[^>]+>", " ", rendered.html))])
    text = re.sub(r"https?://\S+|\S+@\S+", " ", text)
    for name in ("sender", "recipient", "message"):
        value = params.get(name)
        if isinstance(value, str) and value:
            for part in (value, html.unescape(re.sub(r"<[^>]+>", "", value))):
                text = text.replace(part, " ")
                for line in part.splitlines():
                    text = text.replace(line, " ")
    return {word.lower() for word in re.findall(r"[A-Za-zÄÖÜäöüß]{3,}", text)}


def _english_words() -> set[str]:
    return {
        word.lower()
        for forms in _entries("en").values()
        for f in forms
        for word in re.findall(r"[A-Za-z]{3,}", f)
    }


# ---- the catalogs and the templates agree ------------------------------------------------------------------


def test_given_both_catalogs_then_they_have_the_same_keys():
    en, de = _entries("en"), _entries("de")
    assert sorted(set(en) - set(de)) == [], "keys missing in de.po"
    assert sorted(set(de) - set(en)) == [], "keys missing in en.po"


def test_given_the_templates_then_every_key_they_use_is_in_every_catalog_and_every_entry_is_used():
    used = {key for source in SOURCES for key in USED.findall(source.read_text(encoding="utf-8"))}
    used |= {"format.moment"}  # giftplans.outbox.language's own
    assert len(used) > 40, "the scan found (almost) no lang.t()/lang.n() calls: is the pattern right?"
    for locale in LANGUAGES:
        keys = set(_entries(locale))
        assert sorted(used - keys) == [], f"{locale}.po lacks keys the templates use"
        assert sorted(keys - used) == [], f"{locale}.po has keys no template uses"


@pytest.mark.parametrize("key", sorted(_entries("en")))
def test_given_a_key_then_both_catalogs_have_the_same_forms_and_placeholders(key):
    en, de = _entries("en")[key], _entries("de")[key]
    assert len(en) == len(de), f"{key}: plural in one catalog, not in the other"
    assert all(form.strip() for form in (*en, *de)), f"{key}: an empty translation"
    for english, german in zip(en, de, strict=True):
        assert set(PLACEHOLDER.findall(english)) == set(PLACEHOLDER.findall(german)), key


def test_given_a_template_that_asks_for_a_key_no_catalog_has_then_the_check_above_would_see_it(tmp_path):
    source = tmp_path / "templates.py"
    source.write_text('subject=lang.t("receipt.subjet")\n', encoding="utf-8")
    assert USED.findall(source.read_text(encoding="utf-8")) == ["receipt.subjet"]
    assert "receipt.subjet" not in _entries("en")


# ---- every email, in both languages ------------------------------------------------------------------------


def test_given_the_cases_then_every_template_is_rendered():
    assert {_template(case) for case in CASES} == set(TEMPLATES)


@pytest.mark.parametrize("locale", LANGUAGES)
@pytest.mark.parametrize("case", sorted(CASES))
def test_given_each_email_when_rendered_in_each_language_then_it_is_complete(case, locale):
    out = rendering.render(_template(case), {**CASES[case], "locale": locale})

    assert out.subject and "$" not in out.subject and "\n" not in out.subject
    assert out.text.strip() and "$" not in out.text and "$" not in out.html
    assert f'<html lang="{locale}">' in out.html
    assert "<b>Buyer</b>" not in out.html


@pytest.mark.parametrize("case", sorted(CASES))
def test_given_each_email_in_german_then_no_english_word_is_left(case):
    params = {**CASES[case], "locale": "de"}
    out = rendering.render(_template(case), params)

    left = (_visible_words(out, params) & _english_words()) - GERMAN_TOO
    assert left == set(), f"English in the German {case}: {sorted(left)}"


@pytest.mark.parametrize("case", sorted(CASES))
def test_given_each_email_in_english_then_the_check_finds_english_words(case):
    """The German check above can fail: the same check finds the English words in the English email."""
    params = {**CASES[case], "locale": "en"}
    out = rendering.render(_template(case), params)

    assert (_visible_words(out, params) & _english_words()) - GERMAN_TOO


def test_given_german_and_english_when_rendered_then_they_differ_and_an_unknown_locale_reads_english():
    params = PARAMS["receipt"]
    en, de, fr = (rendering.render("receipt", {**params, "locale": loc}) for loc in ("en", "de", "fr"))
    assert en.subject != de.subject
    assert fr == en
    assert rendering.render("receipt", dict(params)) == en  # no locale: English


# ---- dates, times and money by Babel, for the locale -------------------------------------------------------


def test_given_a_receipt_in_german_then_money_and_dates_are_formatted_the_german_way():
    out = rendering.render("receipt", {**PARAMS["receipt"], "locale": "de"})
    assert "720,00 USD" in out.text
    assert "1. März 2027 um 12:00 UTC" in out.text and "1. März 2026" in out.text
    assert out.subject == "Ihre Quittung: 3 Pro-Abos für andere"


def test_given_a_receipt_in_english_then_money_and_dates_read_as_before():
    out = rendering.render("receipt", {**PARAMS["receipt"], "locale": "en"})
    assert "720.00 USD" in out.text and "1 March 2027 at 12:00 UTC" in out.text
    assert out.subject == "Your receipt: 3 Pro plans for others"


@pytest.mark.parametrize(
    ("locale", "amount", "currency", "expected"),
    [
        ("en", 123456, "eur", "1,234.56 EUR"),
        ("de", 123456, "eur", "1.234,56 EUR"),
        ("en", 1200, "jpy", "1,200 JPY"),
        ("de", 1200, "jpy", "1.200 JPY"),
    ],
)
def test_given_amounts_when_formatted_then_each_locale_groups_and_separates_its_way(
    locale, amount, currency, expected
):
    assert Language(locale).money(amount, currency) == expected


def test_given_one_and_many_when_rendered_then_the_plural_form_follows_the_count():
    one = rendering.render("recipient_reminder", {**PARAMS["recipient_reminder"], "days": 1, "locale": "de"})
    many = rendering.render("recipient_reminder", {**PARAMS["recipient_reminder"], "days": 7, "locale": "de"})
    assert one.subject.endswith("in 1 Tag") and many.subject.endswith("in 7 Tagen")
