"""The pages show the reader no English literal outside t() (issue 19 item 1, for pages).

Every string a web/assets/*.js file puts in front of the reader goes through the catalogs
(`t("key")`, `tc(...)`, `tNodes(...)`), so German readers read German. Read from the files, not
run: a string literal is reader-facing when it is
- assigned to `textContent`, `innerText`, `innerHTML`, `placeholder`, `title`, `ariaLabel`, `alt`
  or `document.title`;
- the value of an `aria-label`, `aria-description`, `title`, `placeholder`, `alt`, `label`, `body`,
  `confirm` or `cancel` entry (element attributes and `confirmAction({...})`), or of
  `setAttribute("aria-label" | "title" | "placeholder" | "alt", ...)`;
- a child of `el(tag, {attrs}, ...)`, or an argument of `append`, `prepend`, `replaceChildren`,
  `before`, `after`, `announce`, `say`, `showError`, `loading`, `alert`, `confirm`;
- text between the tags of an `innerHTML` template.
Such a literal fails when it still has a word (two letters or more) once `${...}` and tags are
taken out, unless ALLOWED names it (names and symbols, the same in every language).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ASSETS = Path(__file__).resolve().parents[2] / "web" / "assets"
# Reader-facing literals that are the same in every language: none today. Add "file.js: literal"
# pairs here only for names or symbols, never for sentences.
ALLOWED: frozenset[str] = frozenset()

LITERAL = r"""("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`)"""
STRING = re.compile(LITERAL, re.S)
COMMENT = re.compile(r"/\*.*?\*/|(?<![:\\\"'`])//[^\n]*", re.S)
SIMPLE_ATTRS = r"""(?:\{[^{}]*\}|null|undefined|\w+)"""
CONTEXTS = [
    re.compile(
        rf"""(?:\.(?:textContent|innerText|innerHTML|placeholder|title|ariaLabel|alt)|document\.title)\s*\+?=\s*{LITERAL}"""
    ),
    re.compile(
        rf"""(?:["']?(?:aria-label|aria-description|title|placeholder|alt|label|body|confirm|cancel)["']?)\s*:\s*{LITERAL}"""
    ),
    re.compile(
        rf"""setAttribute\(\s*["'](?:aria-label|aria-description|title|placeholder|alt)["']\s*,\s*{LITERAL}"""
    ),
    re.compile(
        rf"""\bel\(\s*["'][\w-]+["']\s*,\s*{SIMPLE_ATTRS}\s*,\s*(?:(?:[^(),"'`]|\([^()]*\))+,\s*)*{LITERAL}"""
    ),
    re.compile(
        rf"""\.(?:append|prepend|replaceChildren|before|after)\(\s*(?:(?:[^(),"'`]|\([^()]*\))+,\s*)*{LITERAL}"""
    ),
    re.compile(rf"""(?<![\w.])(?:announce|alert|confirm)\(\s*{LITERAL}"""),
    re.compile(rf"""\b(?:say|showError|loading)\(\s*[^(),"'`]+,\s*{LITERAL}"""),
]
INTERPOLATION = re.compile(r"\$\{(?:[^{}]|\{[^{}]*\})*\}")
TAG = re.compile(r"<[^>]*>")
WORD = re.compile(r"[A-Za-z]{2,}")


def _without_comments(source: str) -> str:
    """The source with its comments blanked (string literals kept as they are)."""
    kept: list[str] = []
    at = 0
    for match in STRING.finditer(source):
        kept.append(COMMENT.sub(lambda c: " " * len(c.group(0)), source[at : match.start()]))
        kept.append(match.group(0))
        at = match.end()
    kept.append(COMMENT.sub(lambda c: " " * len(c.group(0)), source[at:]))
    return "".join(kept)


def reader_literals(source: str) -> list[str]:
    """The reader-facing literals of a script that still show a word outside t()."""
    code = _without_comments(source)
    found: list[str] = []
    for context in CONTEXTS:
        for match in context.finditer(code):
            literal = match.group(1)
            shown = TAG.sub(" ", INTERPOLATION.sub(" ", literal[1:-1]))
            if WORD.search(shown):
                found.append(literal)
    return sorted(set(found))


@pytest.mark.parametrize("script", sorted(path.name for path in ASSETS.glob("*.js")))
def test_given_a_page_script_then_it_shows_the_reader_no_english_literal_outside_t(script: str) -> None:
    literals = reader_literals((ASSETS / script).read_text(encoding="utf-8"))
    left = [literal for literal in literals if f"{script}: {literal}" not in ALLOWED]
    assert left == [], f"{script} shows these outside t(): put them in both catalogs: {left}"


@pytest.mark.parametrize(
    "line",
    [
        'node.textContent = "Loading your purchases…";',
        "box.innerHTML = `<p>Sign in first</p>`;",
        'el("button", { type: "button", "aria-label": "Close" }, t("ui.close"));',
        'el("p", { class: "hint" }, "Paid");',
        'el("p", {}, t("a.b"), "and more");',
        'button.setAttribute("title", "Copy the link");',
        'confirmAction({ title: t("x.y"), body: "This cannot be undone" });',
        'announce("Saved");',
        'loading(content, "Loading your plan…");',
        'say(region, "Invited 2 people");',
        "showError(box, `Only ${n} seats are left`);",
        'section.append("Nothing here");',
        'input.placeholder = "you@example.com";',
    ],
)
def test_given_an_english_literal_shown_to_the_reader_then_the_scan_finds_it(line: str) -> None:
    assert reader_literals(line) != [], line


@pytest.mark.parametrize(
    "line",
    [
        'node.textContent = t("billing.loading");',
        'el("p", { class: "hint tally" }, tc("billing.left", n));',
        'el("span", { class: "badge paid" }, label);',
        "node.textContent = `${money(a)} (${day(b)})`;",
        'node.textContent = "";',
        'announce(error.message, "error");',
        '// node.textContent = "Old English text";',
        'el("a", { href: "/plan" }, t("plan.link"));',
        'box.innerHTML = `<label for="x">${t("auth.email")}</label>`;',
    ],
)
def test_given_text_through_t_or_no_words_then_the_scan_lets_it_pass(line: str) -> None:
    assert reader_literals(line) == [], line
