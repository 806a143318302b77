"""The layer's shape: no module grows past about 450 lines, the domain never reads a request,
and only the gateway imports Stripe.

Read from the source; each rule would catch the module that breaks it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

LAYER = Path(__file__).resolve().parents[2] / "layers" / "common" / "giftplans"
MAX_LINES = 460  # "about 450"
MODULES = sorted(LAYER.rglob("*.py"))


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
    return found


def _name(path: Path) -> str:
    return path.relative_to(LAYER).as_posix()


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_given_a_layer_module_when_counted_then_it_is_at_most_about_450_lines(path: Path) -> None:
    assert len(path.read_text(encoding="utf-8").splitlines()) <= MAX_LINES


@pytest.mark.parametrize("path", [p for p in MODULES if _name(p) != "http.py"], ids=_name)
def test_given_a_domain_module_when_read_then_it_does_not_import_the_http_layer(path: Path) -> None:
    assert not {i for i in _imports(path) if i.startswith("giftplans.http")}


@pytest.mark.parametrize("path", [p for p in MODULES if _name(p) != "stripe_gateway.py"], ids=_name)
def test_given_a_module_other_than_the_gateway_when_read_then_it_does_not_import_stripe(path: Path) -> None:
    assert not {i for i in _imports(path) if i == "stripe" or i.startswith("stripe.")}


def test_given_the_layer_when_listed_then_the_rules_read_its_modules() -> None:
    names = {_name(p) for p in MODULES}
    assert {"invitations/buyer.py", "store/writes.py", "outbox/sending.py", "http.py"} <= names
