"""Every saga state has its own colour in the CLI and in the console, and the console's filters offer the states an
operator watches for: a state added to the domain without them shows as an anonymous default."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness import queries
from lambdas.domain.states import SagaState
from saga_cli.render import STATE_COLOURS
from saga_console.app import GROUP_LABELS, state_class

CSS = (Path(__file__).resolve().parents[2] / "saga_console" / "static" / "console.css").read_text()

# Those the seed's monitoring queries did not name: pending_verification and cancelled (issue 25, item 5), and the
# requests kept for an order that never came.
WATCHED = ("pending_verification", "cancelled", "order_not_received")

# The states every saga passes through on its way: shown in the default blue, as the seed's were.
ON_THE_WAY = {
    SagaState.STARTED,
    SagaState.PENDING_PRESCRIPTION,
    SagaState.PENDING_INVENTORY,
    SagaState.PENDING_SHIPMENT,
}


@pytest.mark.parametrize("state", sorted(set(SagaState) - ON_THE_WAY))
def test_each_state_an_operator_acts_on_has_a_colour_of_its_own_in_the_cli_and_the_console(state: SagaState) -> None:
    assert state.value in STATE_COLOURS
    assert re.search(rf"\.{state_class(state.value)} \{{ background: #[0-9a-f]{{6}}; \}}", CSS)


def test_the_cli_colours_are_distinct() -> None:
    assert len(set(STATE_COLOURS.values())) == len(STATE_COLOURS)


@pytest.mark.parametrize("group", WATCHED)
def test_the_consoles_filters_offer_each_watched_state(group: str) -> None:
    assert group in GROUP_LABELS
    assert queries.STATE_GROUPS[group] == frozenset({SagaState(group.upper())})
