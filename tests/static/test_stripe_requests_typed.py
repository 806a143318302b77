"""Every Stripe request the service sends is built from the stripe library's own parameter types.

Reads `giftplans/stripe_gateway*.py` (the gateway, the only code that talks to Stripe) and fails when a
call into the client's services (`client().v1....create(params=...)`) passes `params` that
is not a name annotated with a `stripe.params` TypedDict, so mypy (`make lint`) checks every
parameter's name and type. Checked against code that breaks the rule.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

LAYER = Path(__file__).resolve().parents[2] / "layers" / "common" / "giftplans"
GATEWAY = sorted(LAYER.glob("stripe_gateway*.py"))  # the gateway and its second modules


def _stripe_param_types(tree: ast.Module) -> set[str]:
    return {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("stripe.params")
        for alias in node.names
    }


def _annotations(function: ast.FunctionDef) -> dict[str, str]:
    """Local names and arguments of `function` with the (unquoted) names of their annotations."""
    found = {a.arg: ast.unparse(a.annotation) for a in function.args.args if a.annotation is not None}
    for node in ast.walk(function):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            found[node.target.id] = ast.unparse(node.annotation)
    return {name: annotation.strip("'\"") for name, annotation in found.items()}


def untyped_requests(source: str) -> list[str]:
    tree = ast.parse(source)
    allowed = _stripe_param_types(tree)
    problems = []
    for function in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
        annotated = _annotations(function)
        for call in (n for n in ast.walk(function) if isinstance(n, ast.Call)):
            target = ast.unparse(call.func)
            if ".v1." not in target:
                continue
            for keyword in call.keywords:
                if keyword.arg != "params":
                    continue
                value = keyword.value
                if not (isinstance(value, ast.Name) and annotated.get(value.id) in allowed):
                    problems.append(f"{function.name}: {target}(params={ast.unparse(value)}) is not typed")
    return problems


@pytest.mark.parametrize("path", GATEWAY, ids=lambda p: p.name)
def test_given_the_stripe_gateway_when_read_then_every_request_is_built_from_stripe_params(
    path: Path,
) -> None:
    source = path.read_text(encoding="utf-8")
    assert "client().v1." in source, "the scan is not looking at the calls"
    assert untyped_requests(source) == []


def test_given_the_layer_when_listed_then_the_gateway_has_its_invoice_module() -> None:
    assert {p.name for p in GATEWAY} >= {"stripe_gateway.py", "stripe_gateway_invoices.py"}


@pytest.mark.parametrize(
    "body",
    [
        "params: dict[str, Any] = {'mode': 'x'}\n    client().v1.checkout.sessions.create(params=params)",
        "client().v1.coupons.create(params={'amount_off': 1})",
        "p = {'amount_off': 1}\n    client().v1.coupons.create(params=p)",
    ],
)
def test_given_a_request_built_by_hand_when_scanned_then_it_is_caught(body: str) -> None:
    source = f"from stripe.params import CouponCreateParams\n\ndef send() -> None:\n    {body}\n"
    assert untyped_requests(source) != []


def test_given_a_request_built_from_stripe_params_when_scanned_then_it_passes() -> None:
    source = (
        "from stripe.params import CouponCreateParams\n\n"
        "def send() -> None:\n"
        "    params: CouponCreateParams = {'amount_off': 1}\n"
        "    client().v1.coupons.create(params=params)\n"
    )
    assert untyped_requests(source) == []
