"""Behaviours wrap the handler in priority order, whatever order they were added in."""

from __future__ import annotations

from evertask.mediator import Behavior, Command, CommandHandler, Mediator, Next, Priority, Request


class Echo(Command[list[str]]):
    pass


class Skipped(Command[list[str]]):
    pass


class EchoHandler(CommandHandler[Echo, list[str]]):
    async def handle(self, command: Echo) -> list[str]:
        return ["handler"]


class SkippedHandler(CommandHandler[Skipped, list[str]]):
    async def handle(self, command: Skipped) -> list[str]:
        return ["handler"]


class Recording(Behavior):
    """Prepends its name to the result, so the result lists the behaviours from outermost to innermost."""

    def __init__(self, name: str, priority: int) -> None:
        self.name = name
        self.priority = priority

    async def handle(self, request: Request[object], call_next: Next) -> object:
        inner = await call_next(request)
        assert isinstance(inner, list)
        return [self.name, *inner]


class Outer(Recording):
    pass


class Inner(Recording):
    pass


class OnlyEcho(Recording):
    def applies_to(self, request_type: type[Request[object]]) -> bool:
        return request_type is Echo


class Answering(Behavior):
    async def handle(self, request: Request[object], call_next: Next) -> object:
        return ["short-circuited"]


def _mediator(*behaviors: Behavior) -> Mediator:
    mediator = Mediator()
    mediator.register(EchoHandler, SkippedHandler)
    mediator.use(*behaviors)
    return mediator


async def test_behaviours_run_by_priority_not_by_registration_order() -> None:
    mediator = _mediator(Recording("c", 30), Recording("a", -10), Recording("b", 0))
    assert await mediator.send(Echo()) == ["a", "b", "c", "handler"]


async def test_equal_priorities_are_ordered_by_class_name_not_by_registration() -> None:
    first = _mediator(Outer("outer", 5), Inner("inner", 5))
    second = _mediator(Inner("inner", 5), Outer("outer", 5))
    assert await first.send(Echo()) == await second.send(Echo()) == ["inner", "outer", "handler"]


async def test_user_behaviours_default_to_inside_the_built_ins() -> None:
    assert Behavior.priority == Priority.default > max(p for p in Priority if p is not Priority.default)


async def test_a_behaviour_skips_types_it_does_not_apply_to() -> None:
    mediator = _mediator(OnlyEcho("only-echo", 0))
    assert await mediator.send(Echo()) == ["only-echo", "handler"]
    assert await mediator.send(Skipped()) == ["handler"]


async def test_a_behaviour_added_after_the_first_send_applies_to_the_next_one() -> None:
    mediator = _mediator()
    assert await mediator.send(Echo()) == ["handler"]
    mediator.use(Recording("late", 0))
    assert await mediator.send(Echo()) == ["late", "handler"]


async def test_a_behaviour_may_answer_without_calling_the_handler() -> None:
    mediator = _mediator(Answering(), Recording("outer", -1))
    assert await mediator.send(Echo()) == ["outer", "short-circuited"]
