"""One helper reads a Lambda context's time left (`observability.seconds_left`) for every function."""

from __future__ import annotations

from pathlib import Path

from giftplans.observability import seconds_left

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"


class _Context:
    def __init__(self, millis: int) -> None:
        self.millis = millis

    def get_remaining_time_in_millis(self) -> int:
        return self.millis


def test_given_a_context_then_seconds_left_is_asked_again_each_time() -> None:
    context = _Context(30_000)
    left = seconds_left(context)
    assert left is not None and left() == 30.0
    context.millis = 1_500
    assert left() == 1.5


def test_given_no_context_then_no_deadline() -> None:
    assert seconds_left(None) is None
    assert seconds_left(object()) is None


def test_given_the_functions_then_none_reads_the_context_s_time_left_itself() -> None:
    copies = [
        str(path.relative_to(FUNCTIONS))
        for path in sorted(FUNCTIONS.rglob("*.py"))
        if "get_remaining_time_in_millis" in path.read_text(encoding="utf-8")
    ]
    assert copies == []  # use giftplans.observability.seconds_left
