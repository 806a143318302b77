"""local.web: the web client's pages and assets at clean addresses, and the outbox as a page."""

from __future__ import annotations

from typing import Any

import pytest
from werkzeug.test import Client
from werkzeug.wrappers import Request

from local.web import PAGES, WEB_DIR, WebRoutes


class FakeOutbox:
    def __init__(self, messages: list[dict[str, Any]]) -> None:
        self._messages = messages
        self.asked: list[str | None] = []

    def messages(self, to: str | None = None, region: str = "us-east-1") -> list[dict[str, Any]]:
        self.asked.append(to)
        return list(self._messages)


def client_for(routes: WebRoutes) -> Client:
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        assert routes.owns(request), request.path
        return routes(request)(environ, start_response)

    return Client(app)


INVITATION = {
    "to": ["alice@example.com"],
    "subject": "Bob <b>gave</b> you a Pro plan",
    "text": "Accept it: http://127.0.0.1:3000/accept?token=abc&x=1.\nThanks",
    "html": '<p>Accept: <a href="http://127.0.0.1:3000/accept?token=abc">here</a></p>',
    "sent_at": "2026-03-01T12:00:00Z",
}


@pytest.mark.parametrize("path", sorted(PAGES))
def test_given_web_dir_when_page_address_requested_then_its_html_file_is_served(path: str) -> None:
    response = client_for(WebRoutes(FakeOutbox([]), "us-east-1")).get(path)

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert response.get_data() == (WEB_DIR / PAGES[path]).read_bytes()
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_given_assets_when_script_and_stylesheet_requested_then_served_with_their_types() -> None:
    client = client_for(WebRoutes(FakeOutbox([]), "us-east-1"))

    script = client.get("/assets/billing.js")
    style = client.get("/assets/styles.css")

    assert (script.status_code, script.mimetype) == (200, "text/javascript")
    assert (style.status_code, style.mimetype) == (200, "text/css")


@pytest.mark.parametrize(
    "path",
    ["/assets/../../local/web.py", "/assets/%2e%2e/%2e%2e/pyproject.toml", "/assets/nope.js", "/assets/x.py"],
)
def test_given_path_outside_assets_or_unknown_when_requested_then_404(path: str) -> None:
    response = client_for(WebRoutes(FakeOutbox([]), "us-east-1")).get(path)

    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"  # type: ignore[index]


def test_given_browser_accept_header_when_mail_requested_then_html_page_with_clickable_escaped_links() -> (
    None
):
    outbox = FakeOutbox([INVITATION])
    client = client_for(WebRoutes(outbox, "us-east-1"))

    response = client.get(
        "/_local/mail?to=alice@example.com", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    )

    page = response.get_data(as_text=True)
    assert response.mimetype == "text/html"
    assert outbox.asked == ["alice@example.com"]
    assert (
        '<a href="http://127.0.0.1:3000/accept?token=abc&amp;x=1">' in page
    )  # the trailing "." is not in it
    assert "Bob &lt;b&gt;gave&lt;/b&gt; you a Pro plan" in page
    assert 'sandbox="allow-popups' in page  # the HTML part is shown, but cannot run script in this page
    assert "1 message<" in page
    assert '<time datetime="2026-03-01T12:00:00Z">1 Mar 2026, 12:00:00 UTC</time>' in page


def test_given_api_client_accept_header_when_mail_requested_then_not_owned_so_json_route_answers() -> None:
    routes = WebRoutes(FakeOutbox([]), "us-east-1")

    for accept in ("*/*", "application/json", "application/json, text/html;q=0.5"):
        request = Request.from_values("/_local/mail", headers={"Accept": accept})
        assert not routes.owns(request), accept
    assert routes.owns(Request.from_values("/_local/mail/view", headers={"Accept": "*/*"}))


def test_given_no_messages_when_mail_page_requested_then_says_so() -> None:
    response = client_for(WebRoutes(FakeOutbox([]), "us-east-1")).get("/_local/mail/view")

    assert "No messages yet." in response.get_data(as_text=True)


BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.mark.parametrize("path", ["/no-such-page", "/billing/extra", "/accept/"])
def test_given_browser_when_address_with_no_page_requested_then_html_page_not_found_with_status_404(
    path: str,
) -> None:
    response = client_for(WebRoutes(FakeOutbox([]), "us-east-1")).get(path, headers=BROWSER)

    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert response.get_data() == (WEB_DIR / "404.html").read_bytes()
    assert response.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize(
    "path",
    [
        "/purchases",
        "/purchases/pur_x",
        "/me/entitlement",
        "/invitations/tok",
        "/openapi.json",
        "/docs",
        "/_local/x",
    ],
)
def test_given_browser_when_api_or_local_address_requested_then_not_owned_so_its_own_route_answers(
    path: str,
) -> None:
    routes = WebRoutes(FakeOutbox([]), "us-east-1")

    assert not routes.owns(Request.from_values(path, headers=BROWSER))


def test_given_api_client_when_address_with_no_page_requested_then_not_owned_so_json_404_answers() -> None:
    routes = WebRoutes(FakeOutbox([]), "us-east-1")

    assert not routes.owns(Request.from_values("/no-such-page", headers={"Accept": "application/json"}))
    assert not routes.owns(Request.from_values("/no-such-page", method="POST", headers=BROWSER))


def test_given_every_page_when_read_then_it_links_the_favicon_and_the_favicon_is_served() -> None:
    client = client_for(WebRoutes(FakeOutbox([]), "us-east-1"))

    for page in {*PAGES.values(), "404.html"}:
        assert '<link rel="icon" href="/assets/favicon.svg"' in (WEB_DIR / page).read_text(), page
    icon = client.get("/assets/favicon.svg")
    assert (icon.status_code, icon.mimetype) == (200, "image/svg+xml")
