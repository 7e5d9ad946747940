"""Idempotency: a key already answered replays the first result; the handler runs once."""

from __future__ import annotations

import asyncio

import pytest

from evertask.errors import ConfigurationError, DuplicateRequestError, IdempotencyKeyReusedError
from evertask.mediator import Command, CommandHandler, Mediator


class Charge(Command[str], idempotency_key="order_id"):
    order_id: str | None
    cents: int


class Ledger:
    def __init__(self) -> None:
        self.charges: list[int] = []
        self.fail_next = False
        self.hold: asyncio.Event | None = None
        self.entered = asyncio.Event()


class ChargeHandler(CommandHandler[Charge, str]):
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    async def handle(self, command: Charge) -> str:
        self.ledger.entered.set()
        if self.ledger.hold is not None:
            await self.ledger.hold.wait()
        if self.ledger.fail_next:
            self.ledger.fail_next = False
            raise ConnectionError("card network down")
        self.ledger.charges.append(command.cents)
        return f"receipt-{len(self.ledger.charges)}"


def _mediator() -> tuple[Mediator, Ledger]:
    mediator, ledger = Mediator(), Ledger()
    mediator.provide(Ledger, ledger)
    mediator.register(ChargeHandler)
    return mediator, ledger


async def test_a_repeated_key_replays_the_first_result_without_running_the_handler() -> None:
    mediator, ledger = _mediator()
    first = await mediator.send(Charge(order_id="o-1", cents=500))
    again = await mediator.send(Charge(order_id="o-1", cents=500))
    assert again == first == "receipt-1"
    assert ledger.charges == [500]


async def test_different_keys_each_run_the_handler() -> None:
    mediator, ledger = _mediator()
    await mediator.send(Charge(order_id="o-1", cents=1))
    await mediator.send(Charge(order_id="o-2", cents=2))
    assert ledger.charges == [1, 2]


async def test_a_failure_frees_the_key_so_the_request_can_be_sent_again() -> None:
    mediator, ledger = _mediator()
    ledger.fail_next = True
    with pytest.raises(ConnectionError):
        await mediator.send(Charge(order_id="o-1", cents=7))
    assert await mediator.send(Charge(order_id="o-1", cents=7)) == "receipt-1"


async def test_a_key_still_in_progress_is_a_duplicate_request() -> None:
    mediator, ledger = _mediator()
    ledger.hold = asyncio.Event()
    first = asyncio.create_task(mediator.send(Charge(order_id="o-1", cents=3)))
    await ledger.entered.wait()  # the first request holds the key, blocked in its handler
    with pytest.raises(DuplicateRequestError):
        await mediator.send(Charge(order_id="o-1", cents=3))
    ledger.hold.set()
    assert await first == "receipt-1"


async def test_a_key_reused_for_another_payload_is_refused() -> None:
    mediator, _ = _mediator()
    await mediator.send(Charge(order_id="o-1", cents=100))
    with pytest.raises(IdempotencyKeyReusedError):
        await mediator.send(Charge(order_id="o-1", cents=999))


async def test_a_request_without_a_key_value_is_not_deduplicated() -> None:
    mediator, ledger = _mediator()
    await mediator.send(Charge(order_id=None, cents=1))
    await mediator.send(Charge(order_id=None, cents=1))
    assert ledger.charges == [1, 1]


async def test_an_idempotency_key_naming_no_attribute_is_a_configuration_error() -> None:
    class Broken(Command[None], idempotency_key="missing"):
        pass

    class BrokenHandler(CommandHandler[Broken, None]):
        async def handle(self, command: Broken) -> None:
            return None

    mediator = Mediator()
    mediator.register(BrokenHandler)
    with pytest.raises(ConfigurationError, match="idempotency_key='missing'"):
        await mediator.send(Broken())
