"""The emails' words and formats in one language: gettext catalogs and Babel.

The words are in `outbox/locales/<locale>.po` (gettext PO files; msgids are keys such as
`receipt.subject`, the English text is en.po's msgstr). They are read with Babel's PO reader and
compiled in memory to a standard `gettext.GNUTranslations` on first use, once per warm mailer, so
the layer ships the .po files as they are (no build step). German falls back to English for a
missing key; tests/unit/test_mail_languages.py makes sure there is none.

Dates, times and money are Babel's, for the reader's locale. Babel is imported here only, and
this module only by the renderer: the API functions never load it.
"""

from __future__ import annotations

import gettext
import io
from datetime import datetime
from functools import cache
from pathlib import Path

from giftplans import clock, locales

CATALOGS = Path(__file__).resolve().parent / "locales"
# Babel's locale for each language: dates as "1 March 2027" and "1. März 2027".
BABEL_LOCALES = {"en": "en_GB", "de": "de_DE"}
# Money as the amount and the ISO code ("720.00 USD", "720,00 USD"): unambiguous across countries.
MONEY_FORMAT = "#,##0.00\u00a0¤¤"


@cache
def catalog(locale: str) -> gettext.GNUTranslations:
    """The compiled catalog of a supported locale (German falls back to English)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with (CATALOGS / f"{locale}.po").open("rb") as source:
        messages = read_po(source, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, messages)
    buffer.seek(0)
    translations = gettext.GNUTranslations(buffer)
    if locale != locales.DEFAULT:
        translations.add_fallback(catalog(locales.DEFAULT))
    return translations


class Language:
    """One reader's language: `t(key)`, `n(key, count)` for plurals, and Babel's formats."""

    def __init__(self, locale: object = None) -> None:
        self.locale = locales.or_default(locale)
        self._catalog = catalog(self.locale)
        self._babel = BABEL_LOCALES[self.locale]

    def t(self, key: str) -> str:
        return self._catalog.gettext(key)

    def n(self, key: str, count: int) -> str:
        return self._catalog.ngettext(key, key, count)

    def day(self, iso_instant: str | None) -> str:
        """'2027-03-01T12:00:00Z' -> '1 March 2027' / '1. März 2027' (the UTC date)."""
        if not iso_instant:
            return ""
        from babel.dates import format_date

        return str(format_date(clock.parse_iso(iso_instant).date(), format="long", locale=self._babel))

    def moment(self, iso_instant: str | None) -> str:
        """'1 March 2027 at 12:00 UTC': a term ends at that minute, not at midnight."""
        if not iso_instant:
            return ""
        from babel.dates import format_time

        instant: datetime = clock.parse_iso(iso_instant)
        at = str(format_time(instant.time(), "HH:mm", locale=self._babel))
        return self.t("format.moment").replace("$day", self.day(iso_instant)).replace("$time", at)

    def money(self, amount: int | None, currency: str | None) -> str:
        """Minor units in the currency's own exponent: '720.00 USD', '1,200 JPY', '720,00 USD'."""
        from babel.numbers import format_currency, get_currency_precision

        code = (currency or "usd").upper()
        units = int(amount or 0)
        value = units / 10 ** get_currency_precision(code)
        return str(format_currency(value, code, format=MONEY_FORMAT, locale=self._babel)).replace(
            "\u00a0", " "
        )

    def number(self, n: int) -> str:
        from babel.numbers import format_decimal

        return str(format_decimal(n, locale=self._babel))
