"""The dependency container: injection by type, lifetimes, clean-up, clear errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from evertask.di import Container
from evertask.errors import MissingDependencyError


class Config:
    def __init__(self) -> None:
        self.url = "db://"


class Repo:
    def __init__(self, config: Config) -> None:
        self.config = config


class Service:
    def __init__(self, repo: Repo, optional: int = 3) -> None:
        self.repo = repo
        self.optional = optional


async def test_constructor_parameters_are_resolved_by_type_recursively() -> None:
    container = Container()
    container.provide(Config, Config, lifetime="singleton")
    container.provide(Repo, Repo)
    async with container.scope() as scope:
        service = await scope.build(Service)
    assert service.repo.config.url == "db://"
    assert service.optional == 3


async def test_scoped_is_shared_within_a_scope_and_fresh_in_the_next() -> None:
    container = Container()
    container.provide(Config, Config)
    async with container.scope() as first:
        a, b = await first.resolve(Config), await first.resolve(Config)
    async with container.scope() as second:
        c = await second.resolve(Config)
    assert a is b
    assert a is not c


async def test_transient_is_built_at_every_injection() -> None:
    container = Container()
    container.provide(Config, Config, lifetime="transient")
    async with container.scope() as scope:
        assert await scope.resolve(Config) is not await scope.resolve(Config)


async def test_async_factories_and_plain_values_are_providers() -> None:
    container = Container()
    config = Config()

    async def make_repo(config: Config) -> Repo:
        return Repo(config)

    container.provide(Config, config)
    container.provide(Repo, make_repo)
    async with container.scope() as scope:
        repo = await scope.resolve(Repo)
    assert repo.config is config


async def test_generator_providers_are_closed_with_their_scope() -> None:
    container = Container()
    events: list[str] = []

    def session() -> Iterator[Config]:
        events.append("open")
        yield Config()
        events.append("close")

    container.provide(Config, session)
    async with container.scope() as scope:
        await scope.resolve(Config)
        assert events == ["open"]
    assert events == ["open", "close"]


async def test_a_missing_provider_names_the_consumer_and_the_type() -> None:
    container = Container()
    async with container.scope() as scope:
        with pytest.raises(MissingDependencyError, match="Repo needs Config"):
            await scope.build(Repo)
