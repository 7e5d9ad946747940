"""Exactly one handler per command or query: missing and duplicate handlers are clear errors."""

from __future__ import annotations

import pytest

from evertask.errors import ConfigurationError, DuplicateHandlerError, MissingHandlerError
from evertask.mediator import Command, CommandHandler, Mediator, Notification, Query, QueryHandler


class Ping(Command[str]):
    text: str


class PingHandler(CommandHandler[Ping, str]):
    async def handle(self, command: Ping) -> str:
        return command.text


class OtherPingHandler(CommandHandler[Ping, str]):
    async def handle(self, command: Ping) -> str:
        return "other"


class Count(Query[int]):
    pass


class CountHandler(QueryHandler[Count, int]):
    async def handle(self, query: Count) -> int:
        return 42


async def test_send_without_a_handler_names_the_command() -> None:
    mediator = Mediator()
    with pytest.raises(MissingHandlerError) as caught:
        await mediator.send(Ping(text="x"))
    assert caught.value.request_type == Ping.message_name


def test_second_handler_for_a_command_is_refused_at_registration() -> None:
    mediator = Mediator()
    mediator.register(PingHandler)
    with pytest.raises(DuplicateHandlerError) as caught:
        mediator.register(OtherPingHandler)
    assert (caught.value.existing, caught.value.duplicate) == ("PingHandler", "OtherPingHandler")


async def test_registering_the_same_handler_twice_changes_nothing() -> None:
    mediator = Mediator()
    mediator.register(PingHandler, PingHandler)
    assert await mediator.send(Ping(text="once")) == "once"


def test_a_class_that_is_not_a_handler_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="not a mediator handler"):
        Mediator().register(Ping)


def test_a_handler_without_a_concrete_message_type_is_refused() -> None:
    class Vague(CommandHandler):  # type: ignore[type-arg]
        async def handle(self, command: Ping) -> str:
            return ""

    with pytest.raises(ConfigurationError, match="does not say which message it handles"):
        Mediator().register(Vague)


def test_a_command_handler_for_a_query_is_refused() -> None:
    class Confused(CommandHandler[Count, int]):  # type: ignore[type-var]
        async def handle(self, command: Count) -> int:
            return 0

    with pytest.raises(ConfigurationError, match="must handle a Command"):
        Mediator().register(Confused)


def test_a_handler_that_does_not_define_handle_is_refused() -> None:
    class Empty(CommandHandler[Ping, str]):
        pass

    with pytest.raises(ConfigurationError, match="does not define handle"):
        Mediator().register(Empty)


def test_two_message_classes_with_one_name_are_refused() -> None:
    class First(Command[None]):
        message_name = "shared.name"

    class Second(Command[None]):
        message_name = "shared.name"

    class FirstHandler(CommandHandler[First, None]):
        async def handle(self, command: First) -> None:
            return None

    class SecondHandler(CommandHandler[Second, None]):
        async def handle(self, command: Second) -> None:
            return None

    mediator = Mediator()
    mediator.register(FirstHandler)
    with pytest.raises(ConfigurationError, match=r"share the message name 'shared\.name'"):
        mediator.register(SecondHandler)


async def test_sending_a_query_says_to_use_query() -> None:
    mediator = Mediator()
    mediator.register(CountHandler)
    with pytest.raises(TypeError, match=r"use mediator\.query"):
        await mediator.send(Count())  # type: ignore[arg-type]


async def test_querying_a_command_says_to_use_send() -> None:
    mediator = Mediator()
    mediator.register(PingHandler)
    with pytest.raises(TypeError, match=r"use mediator\.send"):
        await mediator.query(Ping(text="x"))  # type: ignore[arg-type]


async def test_sending_a_notification_says_what_send_takes() -> None:
    class Happened(Notification):
        pass

    with pytest.raises(TypeError, match="send\\(\\) takes a Command"):
        await Mediator().send(Happened())  # type: ignore[arg-type]
