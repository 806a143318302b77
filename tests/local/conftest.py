"""The local server as a subprocess, shared by the black-box tests: `python -m local.server` on a free port.

The `server` fixture is module-scoped: one server per test module (each starts in a few seconds),
its address space capped (tests/support/local_server.py starts it; the names are re-exported here).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.support.local_server import ROOT, Server, run_server, server_env

__all__ = ["ROOT", "Server", "assert_error_shape", "server", "server_env"]  # what other tests import


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with run_server("local-server-") as running:
        yield running


def assert_error_shape(response: requests.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["code"], str) and body["error"]["code"]
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    error: dict[str, Any] = body["error"]
    return error
