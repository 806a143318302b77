"""Email rendering: template name + params -> subject, plain text and HTML.

No SES templates and no template engine: each email is a small `string.Template`
layout in `giftplans.outbox.templates`, its words from the gettext catalog of the reader's
language (`params["locale"]`: en or de, anything else English; `giftplans.outbox.language`).
Every value is escaped in the HTML part; the text part carries links in full on their own line.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from string import Template
from typing import Any

from giftplans.outbox.language import Language
from giftplans.outbox.templates import TEMPLATES, Layout

__all__ = ["TEMPLATES", "Rendered", "render"]


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def render(template: str, params: dict[str, Any]) -> Rendered:
    """Render one email; KeyError for an unknown template, a missing param is a bug (KeyError too)."""
    fn = TEMPLATES[template]
    lang = Language(params.get("locale"))
    layout, values = fn(params, lang)
    plain = {k: _one_line(str(v)) if k != layout.quote else str(v) for k, v in values.items()}
    escaped = {k: html.escape(str(v), quote=True) for k, v in values.items()}
    subject = _one_line(Template(layout.subject).substitute(plain))
    return Rendered(subject, _text(layout, plain, lang), _html(layout, subject, escaped, lang))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _text(layout: Layout, values: dict[str, str], lang: Language) -> str:
    parts = [Template(p).substitute(values) for p in layout.paragraphs]
    if layout.quote:
        parts.append("\n".join(f"> {line}" for line in values[layout.quote].splitlines()))
    if layout.link:
        label, name = layout.link
        parts.append(f"{label}:\n{values[name]}")
    parts.extend(Template(p).substitute(values) for p in layout.after)
    parts.append(f"-- \n{lang.t('email.signature')}")
    return "\n\n".join(parts) + "\n"


def _html(layout: Layout, subject: str, values: dict[str, str], lang: Language) -> str:
    parts = [f"<p>{Template(p).substitute(values)}</p>" for p in layout.paragraphs]
    if layout.quote:
        message = values[layout.quote].replace("\n", "<br>")
        parts.append(
            f'<blockquote style="border-left:3px solid #ccc;margin:0;padding-left:12px">{message}'
            "</blockquote>"
        )
    if layout.link:
        label, name = layout.link
        url = values[name]
        parts.append(
            f'<p><a href="{url}" style="display:inline-block;padding:10px 16px;background:#2d5be3;'
            f'color:#fff;text-decoration:none;border-radius:4px">{html.escape(label)}</a></p>'
            f'<p style="font-size:12px;color:#666">{html.escape(lang.t("email.or_open"))} {url}</p>'
        )
    parts.extend(f"<p>{Template(p).substitute(values)}</p>" for p in layout.after)
    parts.append(f'<p style="color:#666">{html.escape(lang.t("email.signature"))}</p>')
    body = "\n".join(parts)
    return (
        f'<!doctype html>\n<html lang="{lang.locale}"><head><meta charset="utf-8">'
        f"<title>{html.escape(subject)}</title></head>\n"
        '<body style="font-family:sans-serif;line-height:1.5;max-width:560px">\n'
        f"{body}\n</body></html>\n"
    )
