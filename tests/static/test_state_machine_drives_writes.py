"""The state machine drives the writes: no writer spells a seat state or an action name by hand.

Reads the layer's source (every module of `giftplans` but the state machine itself and the
store's transition module) and fails on:

- `Seat.state` used in an expression (a condition or a SET on the seat's state);
- `Purchase.seat_counts` used in an expression (counts of seats per state);
- `Seat(..., state=...)`: a seat item made in a state;
- an action name written as a string where a write names its action (`stamp(model, "...", ...)`,
  `.last_action.set("...")`), or redefined as a module constant (`INVITE = "invite"`).

Each rule is checked against a small piece of code that breaks it, so the scan cannot
silently stop looking.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from giftplans.seats import Action

LAYER = Path(__file__).resolve().parents[2] / "layers" / "common" / "giftplans"
ALLOWED = {LAYER / "seats.py", LAYER / "store" / "transitions.py"}
ACTION_NAMES = frozenset(a.value for a in Action)


def _names(node: ast.AST) -> str:
    """`m.Seat.state` -> "m.Seat.state"; anything else that is not a dotted name -> ""."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _names(node.value)
        return f"{inner}.{node.attr}" if inner else ""
    return ""


def breaches(source: str) -> list[str]:
    tree = ast.parse(source)
    found = _redefined(tree)
    for node in ast.walk(tree):
        dotted = _names(node) if isinstance(node, ast.Attribute) else ""
        line = getattr(node, "lineno", 0)
        if dotted.endswith("Seat.state"):
            found.append(f"line {line}: {dotted} (a seat state by hand)")
        if dotted.endswith("Purchase.seat_counts"):
            found.append(f"line {line}: {dotted} (seat counts by hand)")
        if isinstance(node, ast.Call):
            callee = _names(node.func)
            if callee.endswith("Seat") and any(kw.arg == "state" for kw in node.keywords):
                found.append(f"line {node.lineno}: {callee}(state=...) (a seat made in a state by hand)")
            named = (
                node.args[1:2]
                if callee.endswith("stamp")
                else node.args[:1]
                if callee.endswith("last_action.set")
                else []
            )
            for arg in named:
                if isinstance(arg, ast.Constant) and arg.value in ACTION_NAMES:
                    found.append(f"line {node.lineno}: action {arg.value!r} as a string in {callee}(...)")
    return found


def _redefined(tree: ast.Module) -> list[str]:
    """Module constants named for an action and holding its name: `INVITE = "invite"`, `A, B = "a", "b"`."""
    found = []
    for node in tree.body:
        if not isinstance(node, ast.Assign):
            continue
        values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
        targets = [
            t for target in node.targets for t in (target.elts if isinstance(target, ast.Tuple) else [target])
        ]
        for target, value in zip(targets, values, strict=False):
            if (
                isinstance(target, ast.Name)
                and isinstance(value, ast.Constant)
                and value.value in ACTION_NAMES
                and target.id == str(value.value).upper()
            ):
                found.append(f"line {node.lineno}: {target.id} = {value.value!r} (an action name redefined)")
    return found


def layer_modules() -> list[Path]:
    return sorted(p for p in LAYER.rglob("*.py") if p not in ALLOWED)


@pytest.mark.parametrize("path", layer_modules(), ids=lambda p: str(p.relative_to(LAYER)))
def test_given_a_layer_module_when_read_then_no_writer_spells_a_seat_state_or_action_by_hand(
    path: Path,
) -> None:
    assert breaches(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    "source",
    [
        "cond = m.Seat.state == 'invited'",
        "steps.update('seat', seat, [m.Seat.state.set('accepted')])",
        "cond = Seat.state.is_in('available')",
        "a = m.Purchase.seat_counts['invited'].add(1)",
        "seat = m.Seat(pk, sk, state='available')",
        "acts = stamp(m.Seat, 'revoke', actor)",
        "acts = [m.Seat.last_action.set('claim')]",
        "INVITE = 'invite'",
        "INVITE, ACCEPT = 'invite', 'accept'",
    ],
)
def test_given_code_that_spells_a_state_or_action_by_hand_when_scanned_then_it_is_caught(source: str) -> None:
    assert breaches(source) != []


def test_given_writes_through_the_state_machine_when_scanned_then_nothing_is_caught() -> None:
    source = (
        "transition(steps, Action.REVOKE, pid, [Move(seat_id)], actor=BUYER)\n"
        "acts = stamp(m.Purchase, f'payment_{status}', 'stripe')\n"
        "readable = seat.state == SeatState.INVITED\n"
        "KIND = 'upgrade'\n"
        "class Source(StrEnum):\n    CLAIM = 'claim'\n"
    )
    assert breaches(source) == []


def test_given_the_layer_when_listed_then_the_scan_reads_its_writers() -> None:
    names = {p.relative_to(LAYER).as_posix() for p in layer_modules()}
    assert {"sweep.py", "refunds.py", "admin.py", "upgrades.py"} <= names
    assert not names & {"seats.py", "store/transitions.py"}
