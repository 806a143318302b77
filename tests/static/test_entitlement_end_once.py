"""A seat's entitlement is ended inside its seat's transaction by one helper, `entitlements.end_from_seat`.

A refund (`refunds.cancel_seat`), a close (`closing`) and the expiry of a purchase
(`expiry`) differ only in the step's name and the extra condition; a second hand-written copy
of the write (its actions and its "still comes from this seat" condition) is caught here.
The sweep's own single-seat path (`sweep._end_entitlement`) is a write of its own, outside a
seat's transaction, and is left as it is.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

LAYER = Path(__file__).resolve().parents[2] / "layers" / "common" / "giftplans"
HELPER = "entitlements.py"
OWN_WRITE = "sweep.py"  # a standalone UpdateItem, not a step of the seat's transaction


def hand_written_ends(source: str) -> list[int]:
    """Lines of `steps.update(...)` calls that set `Entitlement.ended` to True themselves."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "update":
            text = ast.unparse(node)
            if "Entitlement.ended.set(True)" in text and "Entitlement.seat_id ==" in text:
                lines.append(node.lineno)
    return lines


@pytest.mark.parametrize(
    "path",
    [p for p in sorted(LAYER.rglob("*.py")) if p.name not in (HELPER, OWN_WRITE)],
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
    assert hand_written_ends((LAYER / HELPER).read_text(encoding="utf-8")) != []  # the helper is seen
