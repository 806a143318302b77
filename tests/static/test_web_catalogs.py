"""The pages' catalogs (web/assets/locales/*.json, read by web/assets/i18n.js): English and German
have the same keys, the same plural forms and placeholders; every key a page asks for exists, every
key is asked for somewhere; German entries are German.

Read from the files, not run; each check names the key that breaks it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parents[2] / "web"
LOCALES = WEB / "assets" / "locales"
LANGUAGES = ("en", "de")
# Calls with a literal key: t("key", ...), tc("key", n, ...) (billing-common.js) and tNodes("key", ...).
CALL = re.compile(r"""\b(?:t|tc|tNodes)\(\s*["'`]([^"'`$]+)["'`]""")
ATTRIBUTE = re.compile(r"""data-i18n=["']([^"']+)["']""")
QUOTED = re.compile(r"""["'`]([a-zA-Z]+\.[a-zA-Z0-9_.]+)["'`]""")
PLACEHOLDER = re.compile(r"\{(\w+)\}")
# The same in both languages on purpose: names and symbols.
SAME_IN_GERMAN: frozenset[str] = frozenset()


def _catalog(language: str) -> dict[str, str | dict[str, str]]:
    data = json.loads((LOCALES / f"{language}.json").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _sources() -> dict[str, str]:
    files = [*sorted((WEB / "assets").glob("*.js")), *sorted(WEB.glob("*.html"))]
    return {path.name: path.read_text(encoding="utf-8") for path in files}


def _forms(entry: str | dict[str, str]) -> list[str]:
    return [entry] if isinstance(entry, str) else list(entry.values())


def test_given_the_catalogs_then_english_and_german_have_the_same_keys() -> None:
    en, de = _catalog("en"), _catalog("de")
    assert sorted(set(en) - set(de)) == [], "keys missing in de.json"
    assert sorted(set(de) - set(en)) == [], "keys missing in en.json"


@pytest.mark.parametrize("key", sorted(_catalog("en")))
def test_given_a_key_then_both_languages_agree_on_its_shape_and_placeholders(key: str) -> None:
    en, de = _catalog("en")[key], _catalog("de").get(key)
    assert de is not None, key
    assert type(en) is type(de), f"{key}: a plural in one language is a plain string in the other"
    if isinstance(en, dict):
        assert isinstance(de, dict)
        assert "other" in en and "other" in de, f"{key}: a plural needs its 'other' form"
        assert {"one", "other"} <= set(de), f"{key}: German plurals need 'one' and 'other'"
    names = {name for form in _forms(en) for name in PLACEHOLDER.findall(form)}
    german = {name for form in _forms(de) for name in PLACEHOLDER.findall(form)}
    assert names == german, f"{key}: placeholders differ"


def test_given_the_pages_then_every_key_they_ask_for_is_in_the_catalog() -> None:
    en = _catalog("en")
    asked: dict[str, set[str]] = {}
    for name, text in _sources().items():
        for key in [*CALL.findall(text), *ATTRIBUTE.findall(text)]:
            asked.setdefault(key, set()).add(name)
    assert len(asked) > 50, "the scan found (almost) no t() calls: is the pattern right?"
    missing = {key: sorted(files) for key, files in asked.items() if key not in en}
    assert missing == {}


def test_given_the_catalog_then_every_key_is_used_by_some_page() -> None:
    used = {key for text in _sources().values() for key in QUOTED.findall(text) + ATTRIBUTE.findall(text)}
    unused = sorted(set(_catalog("en")) - used)
    assert unused == [], "keys no page asks for (drop them, or use them)"


def test_given_the_german_catalog_then_no_entry_is_left_in_english() -> None:
    en, de = _catalog("en"), _catalog("de")
    same = [
        key
        for key in en
        if key not in SAME_IN_GERMAN
        and any(
            a == b and re.search(r"[A-Za-z]{3}", a)
            for a, b in zip(_forms(en[key]), _forms(de[key]), strict=False)
        )
    ]
    assert same == []


def test_given_the_plan_picker_then_every_feature_named_in_config_is_a_catalog_key() -> None:
    config = (WEB / "assets" / "config.js").read_text(encoding="utf-8")
    features = re.findall(r"features:\s*\[([^\]]*)\]", config)
    keys = [key for group in features for key in re.findall(r'"([^"]+)"', group)]
    assert keys, "no plan features found in config.js"
    assert [key for key in keys if key not in _catalog("en")] == []
