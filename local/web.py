"""The reference web client (web/) at `/`, and the outbox as a page, for `make dev`.

Pages have clean addresses (`/billing` is web/billing.html), as CloudFront serves them
deployed (web/template.yaml rewrites the same way); their scripts and styles are under
`/assets/`. A browser asking for an address that is neither a page, an asset, an API route
nor a local route gets web/404.html with status 404, as CloudFront answers deployed
(`CustomErrorResponses`). `GET /_local/mail` answers a browser (Accept: text/html) with a
readable page whose links can be clicked; `/_local/mail/view` is that page for any client.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import cache
from html import escape
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from local.adapter import NoRoute, Router, WrongMethod, error_response

WEB_DIR = Path(__file__).resolve().parents[1] / "web"
PAGES = {
    "/": "index.html",
    "/index.html": "index.html",
    "/billing": "billing.html",
    "/accept": "accept.html",
    "/plan": "plan.html",
    "/verify": "verify.html",
    "/upgrade": "upgrade.html",
}
ASSET_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
}
# What CloudFront's response headers policy sends deployed (web/template.yaml), minus HSTS on http.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
}
URL = re.compile(r"https?://[^\s<>\"']+")
NOT_FOUND_PAGE = "404.html"
# Addresses the local server answers itself (local.server.LocalRoutes): never a "page not found".
LOCAL_PREFIXES = ("/_local", "/_stripe", "/docs")


@cache
def api_router() -> Router:
    """The HTTP API's routes, from template.yaml (read once): an address it serves is not a missing page."""
    from local import template

    return Router(template.routes())


def _is_api_route(path: str) -> bool:
    try:
        api_router().match("GET", path)
    except WrongMethod:
        return True
    except NoRoute:
        return False
    return True


class WebRoutes:
    """Static pages and assets from web/, and the readable outbox."""

    def __init__(self, outbox: Any, region: str, root: Path = WEB_DIR) -> None:
        self.outbox = outbox
        self.region = region
        self.root = root

    def owns(self, request: Request) -> bool:
        path = request.path
        if path in PAGES or path.startswith("/assets/") or path == "/_local/mail/view":
            return request.method in ("GET", "HEAD")
        if path.rstrip("/") == "/_local/mail" and request.method == "GET":
            return _prefers_html(request)
        return self._is_missing_page(request)

    @staticmethod
    def _is_missing_page(request: Request) -> bool:
        """A browser's GET of an address nothing serves: the HTML "page not found", not the API's JSON."""
        if request.method not in ("GET", "HEAD") or not _prefers_html(request):
            return False
        path = request.path
        if path == "/openapi.json" or path.startswith(LOCAL_PREFIXES):
            return False
        return not _is_api_route(path)

    def __call__(self, request: Request) -> Response:
        path = request.path
        if path.startswith("/_local/mail"):
            return self.mail_page(request)
        if path in PAGES:
            return self._file(self.root / PAGES[path], "text/html; charset=utf-8")
        if path.startswith("/assets/"):
            return self._asset(path.removeprefix("/assets/"))
        return self.not_found_page()

    def not_found_page(self) -> Response:
        response = self._file(self.root / NOT_FOUND_PAGE, "text/html; charset=utf-8")
        response.status_code = 404
        return response

    def _asset(self, relative: str) -> Response:
        target = (self.root / "assets" / relative).resolve()
        assets = (self.root / "assets").resolve()
        kind = ASSET_TYPES.get(target.suffix)
        if kind is None or not target.is_relative_to(assets):
            return error_response(404, "not_found", "There is nothing at this address.")
        return self._file(target, kind)

    @staticmethod
    def _file(path: Path, kind: str) -> Response:
        if not path.is_file():
            return error_response(404, "not_found", "There is nothing at this address.")
        response = Response(path.read_bytes(), content_type=kind)
        response.headers.update(SECURITY_HEADERS)
        response.headers["Cache-Control"] = "no-cache"  # local edits show on reload
        return response

    def mail_page(self, request: Request) -> Response:
        to = (request.args.get("to") or "").strip()
        messages = list(reversed(self.outbox.messages(to or None, self.region)))  # newest first
        items = "\n".join(_message_html(i, m) for i, m in enumerate(messages))
        if not messages:
            items = '<p class="empty">No messages yet.</p>'
        html = MAIL_HTML.format(
            to=escape(to, quote=True),
            count=len(messages),
            plural="" if len(messages) == 1 else "s",
            who=f" to {escape(to)}" if to else "",
            items=items,
        )
        response = Response(html, content_type="text/html; charset=utf-8")
        response.headers.update(SECURITY_HEADERS)
        return response


def _prefers_html(request: Request) -> bool:
    accept = request.accept_mimetypes
    return accept.quality("text/html") > accept.quality("application/json") and "text/html" in accept.values()


def _linkify(text: str) -> str:
    """Escaped text whose URLs are links."""
    out, last = [], 0
    for match in URL.finditer(text):
        url = match.group(0).rstrip(".,;)")
        out.append(escape(text[last : match.start()]))
        out.append(f'<a href="{escape(url, quote=True)}">{escape(url)}</a>')
        last = match.start() + len(url)
    out.append(escape(text[last:]))
    return "".join(out)


def _sent_at(iso: str) -> str:
    """When the message went out, for a person: "1 Dec 2026, 22:48:29 UTC" (the raw instant in `datetime`)."""
    try:
        at = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return f"<time>{escape(iso)}</time>"
    return f'<time datetime="{escape(iso, quote=True)}">{at.day} {at:%b %Y, %H:%M:%S} UTC</time>'


def _message_html(index: int, message: dict[str, Any]) -> str:
    text = message.get("text") or ""
    html = message.get("html") or ""
    if not text and html:
        text = re.sub(r"<[^>]+>", " ", html)
    html_part = ""
    if html:
        html_part = (
            "<details><summary>As HTML</summary>"
            f'<iframe title="HTML of message {index + 1}" sandbox="allow-popups '
            'allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation" '
            f'srcdoc="{escape(html, quote=True)}"></iframe></details>'
        )
    recipients = ", ".join(message.get("to") or [])
    return f"""<article class="message" aria-labelledby="m{index}">
<h2 id="m{index}">{escape(message.get("subject") or "(no subject)")}</h2>
<p class="meta">To <strong>{escape(recipients)}</strong> &middot;
{_sent_at(message.get("sent_at") or "")}</p>
<pre class="body">{_linkify(text)}</pre>
{html_part}
</article>"""


MAIL_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Local mail{who}</title>
<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/styles.css"></head>
<body>
<header class="site"><a class="brand" href="/">Gift plans</a>
<nav aria-label="Local tools"><a href="/_local/mail/view">All mail</a>
<a href="/docs">API docs</a></nav></header>
<main>
<h1>Local mail{who}</h1>
<p>What SES was asked to send while running <code>make dev</code>, newest first.
Nothing leaves this machine.</p>
<form method="get" action="/_local/mail/view" class="inline">
<label for="to">Recipient</label>
<input id="to" name="to" type="email" value="{to}" placeholder="someone@example.com">
<button type="submit">Show</button></form>
<p role="status">{count} message{plural}</p>
{items}
</main></body></html>"""
