"""Publishing: every handler of the type (and of its bases) runs; failures come back together."""

from __future__ import annotations

import pytest

from evertask.mediator import Mediator, Notification, NotificationHandler


class UserEvent(Notification):
    user: str


class UserCreated(UserEvent):
    pass


class Inbox:
    def __init__(self) -> None:
        self.received: list[tuple[str, str]] = []


class SendWelcome(NotificationHandler[UserCreated]):
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def handle(self, notification: UserCreated) -> None:
        self.inbox.received.append(("welcome", notification.user))


class Audit(NotificationHandler[UserEvent]):
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    def handle(self, notification: UserEvent) -> None:  # sync handlers are fine too
        self.inbox.received.append(("audit", notification.user))


class BrokenMailer(NotificationHandler[UserCreated]):
    async def handle(self, notification: UserCreated) -> None:
        raise ConnectionError("smtp down")


class BrokenCache(NotificationHandler[UserCreated]):
    async def handle(self, notification: UserCreated) -> None:
        raise KeyError("cache")


def _mediator(*handlers: type) -> tuple[Mediator, Inbox]:
    mediator, inbox = Mediator(), Inbox()
    mediator.provide(Inbox, inbox)
    mediator.register(*handlers)
    return mediator, inbox


async def test_publish_reaches_every_handler_including_those_of_base_types() -> None:
    mediator, inbox = _mediator(SendWelcome, Audit)
    await mediator.publish(UserCreated(user="ada"))
    assert sorted(inbox.received) == [("audit", "ada"), ("welcome", "ada")]


async def test_a_handler_of_a_subtype_does_not_receive_the_base_type() -> None:
    mediator, inbox = _mediator(SendWelcome, Audit)
    await mediator.publish(UserEvent(user="bo"))
    assert inbox.received == [("audit", "bo")]


async def test_publish_with_no_handlers_does_nothing() -> None:
    await Mediator().publish(UserCreated(user="nobody"))


async def test_one_failing_handler_does_not_stop_the_others() -> None:
    mediator, inbox = _mediator(BrokenMailer, SendWelcome, Audit)
    with pytest.raises(ExceptionGroup):
        await mediator.publish(UserCreated(user="cy"))
    assert sorted(inbox.received) == [("audit", "cy"), ("welcome", "cy")]


async def test_the_caller_gets_every_failure_in_one_exception_group() -> None:
    mediator, _ = _mediator(BrokenMailer, SendWelcome, BrokenCache)
    with pytest.raises(ExceptionGroup) as caught:
        await mediator.publish(UserCreated(user="di"))
    assert sorted(type(e).__name__ for e in caught.value.exceptions) == ["ConnectionError", "KeyError"]
    assert "2 of 3 handlers" in str(caught.value)


async def test_a_single_handlers_failure_also_comes_as_an_exception_group() -> None:
    mediator, _ = _mediator(BrokenMailer)
    with pytest.raises(ExceptionGroup) as caught:
        await mediator.publish(UserCreated(user="ed"))
    assert [type(e) for e in caught.value.exceptions] == [ConnectionError]
