"""A seat's entitlement is ended inside its seat's transaction by one helper, `entitlements.end_from_seat`.

A refund (`refunds.cancel_seat`), a close (`closing`), the expiry of a purchase (`expiry`)
and the sweep's own single-seat path (`sweep`, a write of its own after a refused chunk) differ
only in the step's name and the extra condition; a second hand-written copy of the write (its
actions and its "still comes from this seat" condition) is caught here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

LAYER = Path(__file__).resolve().parents[2] / "layers" / "common" / "giftplans"
HELPER = "entitlements.py"


def hand_written_ends(source: str) -> list[int]:
    """Lines of `steps.update(...)` (or a module's own `_update(...)`) calls that set `Entitlement.ended`."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name in ("update", "_update"):
            text = ast.unparse(node)
            if "Entitlement.ended.set(True)" in text and "Entitlement.seat_id ==" in text:
                lines.append(node.lineno)
    return lines


@pytest.mark.parametrize(
    "path",
    [p for p in sorted(LAYER.rglob("*.py")) if p.name != HELPER],
    ids=lambda p: p.relative_to(LAYER).as_posix(),
)
def test_given_a_layer_module_when_read_then_it_ends_seat_entitlements_only_through_the_helper(
    path: Path,
) -> None:
    assert hand_written_ends(path.read_text(encoding="utf-8")) == []


def test_given_a_copy_of_the_write_when_scanned_then_it_is_caught() -> None:
    copy = (
        "steps.update('entitlement', ent, [m.Entitlement.ended.set(True)],\n"
        "    condition=(m.Entitlement.purchase_id == pid) & (m.Entitlement.seat_id == sid))\n"
    )
    assert hand_written_ends(copy) == [1]
    own = "_update(ent, [m.Entitlement.ended.set(True)], (m.Entitlement.seat_id == sid))\n"
    assert hand_written_ends(own) == [1]  # the sweep's single-seat path once had its own write
    assert hand_written_ends((LAYER / HELPER).read_text(encoding="utf-8")) != []  # the helper is seen
