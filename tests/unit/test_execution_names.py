"""Execution names as StartExecution accepts them (AWS Step Functions API Reference, StartExecution,
`name`): 1 to 80 characters; none of whitespace, `< > { } [ ]`, `? *`, `" # % \\ ^ | ~ ` $ & , ; : /`,
control characters (U+0000-001F, U+007F-009F); only 0-9, A-Z, a-z, - and _ to be logged to CloudWatch Logs.
The expectations below are that rule, spelled from the page, not from lambdas/domain/executions.py."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lambdas.domain.executions import Run, execution_name

FORBIDDEN = (
    set(string.whitespace) | set('<>{}[]?*"#%\\^|~`$&,;:/') | {chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)]}
)
LOGGED = set(string.ascii_letters + string.digits + "-_")
ORDER_ID_ALPHABET = string.ascii_letters + string.digits + "-_"
order_ids = st.text(alphabet=ORDER_ID_ALPHABET, min_size=1, max_size=80)


def _accepted_by_start_execution(name: str) -> bool:
    return 1 <= len(name) <= 80 and not set(name) & FORBIDDEN and set(name) <= LOGGED


@given(order_id=order_ids, run=st.sampled_from(list(Run)))
def test_every_name_is_one_start_execution_accepts_and_logs(order_id: str, run: Run) -> None:
    assert _accepted_by_start_execution(execution_name(order_id, run))


@given(first=order_ids, second=order_ids, run=st.sampled_from([Run.SAGA, Run.COMPENSATION]))
def test_two_orders_never_share_a_saga_or_compensation_execution(first: str, second: str, run: Run) -> None:
    if first != second:
        assert execution_name(first, run) != execution_name(second, run)


def test_an_order_s_saga_and_compensation_names_are_the_same_each_time_and_each_resume_is_new() -> None:
    order_id = "o" * 80  # as long as an order id may be
    assert execution_name(order_id, Run.SAGA) == order_id, "the saga's execution is named by its order id"
    assert execution_name(order_id, Run.COMPENSATION) == execution_name(order_id, Run.COMPENSATION)
    assert execution_name(order_id, Run.RESUME) != execution_name(order_id, Run.RESUME)


@pytest.mark.parametrize("order_id", ["", "o" * 81, "has space", "a:b", "a/b", "é"])
def test_an_id_no_order_can_have_names_no_execution(order_id: str) -> None:
    for run in Run:
        with pytest.raises(ValueError, match="not an order id"):
            execution_name(order_id, run)
