"""Fixtures of the browser tests: one capped local server, one chromium and one axe record per module.

`server` is `python -m local.server` with its address space capped (Chromium is not: it crashes
under `ulimit -v`). `checked` writes web/screenshots/<the module's AXE_FILE> (axe.json unless the
module names another). `context_page` and `walk` are fresh for each test; a module that walks one
page through all its tests defines its own module-scoped `page` and `walk` with
tests.support.browser's `reader_page` and `walking`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests.support.browser import SHOTS, Checked, Walk, launched_browser, reader_page, walking
from tests.support.local_server import Server, run_server


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    with run_server(f"{request.module.__name__.rsplit('.', 1)[-1]}-") as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched_browser() as launched:
        yield launched


@pytest.fixture(scope="module")
def checked(request: pytest.FixtureRequest) -> Iterator[Checked]:
    """Every page and state axe checked in this module, written to web/screenshots/ after it."""
    record = Checked()
    yield record
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / getattr(request.module, "AXE_FILE", "axe.json")).write_text(json.dumps(record.states, indent=1))


@pytest.fixture
def context_page(browser: Browser) -> Iterator[Page]:
    with reader_page(browser) as opened:
        yield opened


@pytest.fixture
def walk(context_page: Page, server: Server, checked: Checked) -> Iterator[Walk]:
    with walking(context_page, server, checked) as walked:
        yield walked
