"""Hardening fixtures: `server`, the local server in a subprocess, shared with tests/local (module-scoped)."""

from __future__ import annotations

from tests.local.conftest import server  # noqa: F401 - re-exported as a fixture for this folder
