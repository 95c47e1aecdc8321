"""The compensation order (lambdas/domain/states.py): the domain's rule written out, step by step."""

from __future__ import annotations

from lambdas.domain.states import Compensation, Step, compensation_plan


def test_compensation_plan_undoes_completed_steps_in_reverse_then_cancels_the_order() -> None:
    assert compensation_plan([]) == [Compensation.CANCEL_ORDER]
    assert compensation_plan([Step.CREATE_PRESCRIPTION]) == [
        Compensation.CANCEL_PRESCRIPTION,
        Compensation.CANCEL_ORDER,
    ]
    assert compensation_plan([Step.CREATE_PRESCRIPTION, Step.RESERVE_INVENTORY]) == [
        Compensation.RELEASE_INVENTORY,
        Compensation.CANCEL_PRESCRIPTION,
        Compensation.CANCEL_ORDER,
    ]
