"""Sending: the handler's result or exception, dependency injection, sync handlers in threads."""

from __future__ import annotations

import contextvars
import threading

import pytest

from evertask.di import Container
from evertask.mediator import Command, CommandHandler, Mediator, Query, QueryHandler, RunMode

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="unset")


class Greet(Command[str]):
    name: str


class Greeter:
    def __init__(self, greeting: str) -> None:
        self.greeting = greeting


class GreetHandler(CommandHandler[Greet, str]):
    def __init__(self, greeter: Greeter) -> None:
        self.greeter = greeter

    async def handle(self, command: Greet) -> str:
        return f"{self.greeter.greeting}, {command.name}"


class Explode(Command[None]):
    pass


class ExplodeHandler(CommandHandler[Explode, None]):
    async def handle(self, command: Explode) -> None:
        raise LookupError("boom")


class WhereAmI(Query[tuple[str, int]]):
    pass


class WhereAmIHandler(QueryHandler[WhereAmI, tuple[str, int]]):
    def handle(self, query: WhereAmI) -> tuple[str, int]:  # sync: runs in a worker thread
        return request_id.get(), threading.get_ident()


class Relay(Command[str]):
    name: str


class RelayHandler(CommandHandler[Relay, str]):
    def __init__(self, mediator: Mediator) -> None:
        self.mediator = mediator

    async def handle(self, command: Relay) -> str:
        return await self.mediator.send(Greet(name=command.name))


async def test_send_returns_the_handlers_result_with_dependencies_injected() -> None:
    mediator = Mediator()
    mediator.register(GreetHandler)
    mediator.provide(Greeter, lambda: Greeter("hello"))
    assert await mediator.send(Greet(name="ada")) == "hello, ada"


async def test_send_raises_the_handlers_own_exception() -> None:
    mediator = Mediator()
    mediator.register(ExplodeHandler)
    with pytest.raises(LookupError, match="boom"):
        await mediator.send(Explode())


async def test_a_mediator_uses_the_providers_of_a_shared_container() -> None:
    container = Container()
    container.provide(Greeter, lambda: Greeter("hi"))
    mediator = Mediator(container=container)
    mediator.register(GreetHandler)
    assert await mediator.send(Greet(name="bo")) == "hi, bo"


async def test_a_handler_can_ask_for_the_mediator_to_send_further_requests() -> None:
    mediator = Mediator()
    mediator.register(GreetHandler, RelayHandler)
    mediator.provide(Greeter, Greeter("hey"))
    assert await mediator.send(Relay(name="cy")) == "hey, cy"


@pytest.mark.parametrize("run_mode", ["inline", "queued"])
async def test_sync_handler_runs_in_a_thread_and_sees_the_callers_context(run_mode: RunMode) -> None:
    mediator = Mediator(run_mode=run_mode)
    mediator.register(WhereAmIHandler)
    request_id.set("req-7")
    async with mediator:
        seen_id, thread = await mediator.query(WhereAmI())
    assert seen_id == "req-7"
    assert thread != threading.get_ident()
