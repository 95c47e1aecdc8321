"""The harness's one polling loop: it stops at the first answer, or at the deadline with none."""

from __future__ import annotations

import time

from harness.waiting import poll


def test_poll_returns_the_first_answer_that_is_not_none() -> None:
    answers = iter([None, None, "ready", "later"])
    assert poll(lambda: next(answers), timeout=5, pause=lambda: 0) == "ready"
    assert next(answers) == "later", "asked no more once answered"


def test_poll_asks_at_least_once_even_with_no_time_left() -> None:
    asked: list[int] = []

    def check() -> None:
        asked.append(1)

    assert poll(check, timeout=0) is None
    assert asked == [1]


def test_poll_gives_up_at_the_deadline_and_never_sleeps_past_it() -> None:
    started = time.monotonic()
    assert poll(lambda: None, timeout=0.2, pause=lambda: 60) is None
    assert time.monotonic() - started < 30, "the minute-long pause was cut at the deadline"
