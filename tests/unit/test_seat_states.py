"""The seat state machine as data (SPEC section 3)."""

from __future__ import annotations

import pytest
from giftplans.seats import TERMINAL, Action, SeatState, allowed_from, can, effective_state, target

S = SeatState

EXPECTED = {  # SPEC section 3, edge by edge
    (Action.INVITE, S.AVAILABLE): S.INVITED,
    (Action.ACCEPT, S.INVITED): S.ACCEPTED,
    (Action.REVOKE, S.INVITED): S.AVAILABLE,
    (Action.DECLINE, S.INVITED): S.AVAILABLE,
    (Action.CLAIM, S.AVAILABLE): S.CLAIMED,
    (Action.UPGRADE, S.ACCEPTED): S.UPGRADED,
    (Action.UPGRADE, S.CLAIMED): S.UPGRADED,
    **{(Action.EXPIRE, s): S.EXPIRED for s in (S.AVAILABLE, S.INVITED, S.ACCEPTED, S.CLAIMED)},
    **{(Action.REFUND, s): S.CANCELLED for s in (S.AVAILABLE, S.INVITED, S.ACCEPTED, S.CLAIMED)},
    **{(Action.CANCEL, s): S.CANCELLED for s in (S.AVAILABLE, S.INVITED)},
}


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("state", list(SeatState))
def test_given_state_when_action_then_allowed_exactly_as_the_spec_draws_it(
    state: SeatState, action: Action
) -> None:
    expected = EXPECTED.get((action, state))
    assert can(action, state) is (expected is not None)
    if expected is not None:
        assert target(action) == expected


def test_given_an_accepted_seat_when_revoke_or_decline_then_not_allowed() -> None:
    assert not can(Action.REVOKE, "accepted") and not can(Action.DECLINE, "accepted")


def test_given_terminal_states_when_any_action_then_none_leaves_them() -> None:
    for action in Action:
        assert not (allowed_from(action) & TERMINAL)


@pytest.mark.parametrize("state", [S.AVAILABLE, S.INVITED, S.ACCEPTED, S.CLAIMED])
def test_given_unswept_seat_past_term_end_when_read_then_expired(state: SeatState) -> None:
    assert effective_state(state, term_ended=True) == S.EXPIRED
    assert effective_state(state, term_ended=False) == state


@pytest.mark.parametrize("state", sorted(TERMINAL))
def test_given_terminal_seat_past_term_end_when_read_then_unchanged(state: SeatState) -> None:
    assert effective_state(state, term_ended=True) == state
