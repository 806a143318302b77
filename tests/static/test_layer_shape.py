"""The layer's shape: no module grows past about 450 lines, the domain never reads a request,
and only the gateway (`stripe_gateway` and its `stripe_gateway_*` modules) imports Stripe or uses its client.

Read from the source; each rule would catch the module that breaks it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

LAYER = Path(__file__).resolve().parents[2] / "layers" / "common" / "giftplans"
MAX_LINES = 460  # "about 450"
MODULES = sorted(LAYER.rglob("*.py"))
GATEWAY = frozenset(p.name for p in LAYER.glob("stripe_gateway*.py"))


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


@pytest.mark.parametrize("path", [p for p in MODULES if _name(p) not in GATEWAY], ids=_name)
def test_given_a_module_other_than_the_gateway_when_read_then_it_does_not_import_stripe(path: Path) -> None:
    assert not {i for i in _imports(path) if i == "stripe" or i.startswith("stripe.")}


def gateway_internals_used(source: str) -> set[str]:
    """The gateway's client and private helpers a module reaches for (`stripe_gateway.client()`, `._x`)."""
    used: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id.startswith("stripe_gateway") and (node.attr == "client" or node.attr[:1] == "_"):
                used.add(f"{node.value.id}.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("giftplans.stripe_gateway"):
            used |= {a.name for a in node.names if a.name == "client" or a.name.startswith("_")}
    return used


@pytest.mark.parametrize("path", [p for p in MODULES if _name(p) not in GATEWAY], ids=_name)
def test_given_a_module_other_than_the_gateway_when_read_then_it_calls_stripe_only_through_its_functions(
    path: Path,
) -> None:
    assert gateway_internals_used(path.read_text(encoding="utf-8")) == set()


@pytest.mark.parametrize(
    "source",
    [
        "from giftplans import stripe_gateway\nstripe_gateway.client().v1.invoices.retrieve('in_1')\n",
        "from giftplans import stripe_gateway\nwith stripe_gateway._refusals():\n    pass\n",
        "from giftplans.stripe_gateway import client\n",
    ],
)
def test_given_a_module_reaching_into_the_gateway_when_read_then_it_is_caught(source: str) -> None:
    assert gateway_internals_used(source) != set()


def test_given_the_layer_when_listed_then_the_rules_read_its_modules() -> None:
    names = {_name(p) for p in MODULES}
    assert {"invitations/buyer.py", "store/writes.py", "outbox/sending.py", "http.py"} <= names
