"""Under any mix of full mode, capacity, cancellations and shutdown, every caller gets exactly one answer."""

from __future__ import annotations

import asyncio
import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evertask.errors import Rejected
from evertask.mediator import Command, CommandHandler, Mediator, WhenFull


class Step(Command[int]):
    n: int
    turns: int


class Runs:
    def __init__(self) -> None:
        self.counts: dict[int, int] = {}


class StepHandler(CommandHandler[Step, int]):
    def __init__(self, runs: Runs) -> None:
        self.runs = runs

    async def handle(self, command: Step) -> int:
        self.runs.counts[command.n] = self.runs.counts.get(command.n, 0) + 1
        for _ in range(command.turns):
            await asyncio.sleep(0)  # holds the slot for a few loop turns, as I/O would
        return command.n


async def _scenario(
    when_full: WhenFull, capacity: int, consumers: int, turns: list[int], cancel: set[int], budget: float
) -> None:
    runs = Runs()
    mediator = Mediator(run_mode="queued", when_full=when_full, capacity=capacity, consumers=consumers)
    mediator.provide(Runs, runs)
    mediator.register(StepHandler)
    sends = [asyncio.create_task(mediator.send(Step(n=n, turns=t))) for n, t in enumerate(turns)]
    await asyncio.sleep(0)
    for n in cancel:
        sends[n].cancel()
    await mediator.aclose(timeout=budget)
    await asyncio.wait(sends, timeout=5)
    assert all(send.done() for send in sends), "a caller was left without an answer"
    for n, send in enumerate(sends):
        if send.cancelled():
            continue
        error = send.exception()
        if error is None:
            assert send.result() == n
            assert runs.counts[n] == 1
        else:
            assert isinstance(error, Rejected), error
            assert n not in runs.counts  # a rejected request never ran


@settings(max_examples=60, deadline=None)
@given(
    when_full=st.sampled_from(["wait", "drop_write", "drop_oldest", "drop_newest"]),
    capacity=st.integers(1, 4),
    consumers=st.integers(1, 3),
    turns=st.lists(st.integers(0, 3), min_size=1, max_size=12),
    cancel=st.sets(st.integers(0, 11), max_size=4),
    budget=st.sampled_from([0.0, 30.0]),
)
def test_every_caller_gets_exactly_one_answer(
    when_full: WhenFull, capacity: int, consumers: int, turns: list[int], cancel: set[int], budget: float
) -> None:
    cancel = {n for n in cancel if n < len(turns)}
    asyncio.run(_scenario(when_full, capacity, consumers, turns, cancel, budget))


def test_no_outcome_is_left_unretrieved(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="asyncio")
    asyncio.run(_scenario("drop_oldest", 1, 1, [2] * 8, {1, 5}, 0.0))
    assert not [r for r in caplog.records if "never retrieved" in r.getMessage()]
