"""A small dependency resolver: providers keyed by type, constructor injection by type hints.

Handlers (and mediator handlers) declare what they need in ``__init__``; each task execution opens a
:class:`Scope` that builds the handler, resolving every parameter by its annotated type. A provider is a value,
a sync or async factory, or a sync/async generator whose code after ``yield`` runs when the scope closes (the
FastAPI dependency idiom, for sessions and connections). Factories may themselves take typed parameters.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import AsyncGenerator, Callable, Generator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, cast

from evertask.errors import ConfigurationError, MissingDependencyError

T = TypeVar("T")
Lifetime = Literal["scoped", "singleton", "transient"]


@dataclass(frozen=True, slots=True)
class _Provider:
    factory: Callable[..., Any]
    lifetime: Lifetime


@dataclass(frozen=True, slots=True)
class _Param:
    name: str
    dependency: Any
    has_default: bool


_UNSET: Any = object()


class Container:
    """Holds providers and the singletons built from them; opens one :class:`Scope` per unit of work."""

    def __init__(self) -> None:
        self._providers: dict[Any, _Provider] = {}
        self._singletons: dict[Any, Any] = {}
        self._signatures: dict[Callable[..., Any], tuple[_Param, ...]] = {}
        self._singleton_stack = AsyncExitStack()

    def provide(self, dependency: Any, provider: Any, *, lifetime: Lifetime = "scoped") -> None:
        """Register how to obtain ``dependency``.

        ``provider`` is a callable (class, function, coroutine function or generator function) called with its
        own typed parameters resolved, or any other object, which is then shared as is. ``lifetime`` decides
        how often a callable runs: once per scope (default, one task execution), once per container
        (``"singleton"``) or at every injection (``"transient"``).
        """
        if not callable(provider):
            self._singletons[dependency] = provider
            self._providers[dependency] = _Provider(lambda: provider, "singleton")
            return
        self._singletons.pop(dependency, None)
        self._providers[dependency] = _Provider(provider, lifetime)

    def provide_value(self, dependency: Any, value: Any) -> None:
        """Share ``value`` (even a callable one) for every injection of ``dependency``."""
        self._singletons[dependency] = value
        self._providers[dependency] = _Provider(lambda: value, "singleton")

    def has(self, dependency: Any) -> bool:
        """Whether a provider for ``dependency`` is registered."""
        return dependency in self._providers

    def parameters(self, target: Callable[..., Any]) -> tuple[_Param, ...]:
        """The injectable parameters of ``target``, read once and cached (it sits on the task hot path)."""
        cached = self._signatures.get(target)
        if cached is not None:
            return cached
        init = target.__init__ if inspect.isclass(target) else target
        try:
            hints = typing.get_type_hints(init)
        except Exception as exc:  # an unresolved forward reference is a configuration bug; say which one
            raise ConfigurationError(f"cannot read the type hints of {_name(target)}: {exc}") from exc
        params: list[_Param] = []
        for name, param in inspect.signature(init).parameters.items():
            if name == "self" or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            params.append(_Param(name, hints.get(name, _UNSET), param.default is not param.empty))
        result = tuple(params)
        self._signatures[target] = result
        return result

    def scope(self) -> Scope:
        """A new scope; use it as ``async with container.scope() as scope``."""
        return Scope(self)

    async def aclose(self) -> None:
        """Run the clean-up of generator-provided singletons."""
        await self._singleton_stack.aclose()
        self._singletons.clear()


class Scope:
    """One unit of work (one task execution): scoped dependencies are built once and closed at exit."""

    __slots__ = ("_cache", "_container", "_stack")

    def __init__(self, container: Container) -> None:
        self._container = container
        self._cache: dict[Any, Any] = {}
        self._stack: AsyncExitStack | None = None

    async def __aenter__(self) -> Scope:
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._stack is not None:
            await self._stack.aclose()

    async def resolve(self, dependency: Any, consumer: str = "caller") -> Any:
        """The instance for ``dependency`` in this scope."""
        container = self._container
        if dependency in container._singletons:
            return container._singletons[dependency]
        if dependency in self._cache:
            return self._cache[dependency]
        provider = container._providers.get(dependency)
        if provider is None:
            raise MissingDependencyError(dependency, consumer)
        if provider.lifetime == "singleton":
            value = await self._invoke(provider.factory, container._singleton_stack)
            container._singletons[dependency] = value
        else:
            if self._stack is None:
                self._stack = AsyncExitStack()
            value = await self._invoke(provider.factory, self._stack)
            if provider.lifetime == "scoped":
                self._cache[dependency] = value
        return value

    async def build(self, target: Callable[..., T]) -> T:
        """Call ``target`` (usually a handler class) with every typed parameter resolved."""
        kwargs: dict[str, Any] = {}
        consumer = _name(target)
        for param in self._container.parameters(target):
            if param.dependency is _UNSET or not self._container.has(param.dependency):
                if param.has_default:
                    continue
                raise MissingDependencyError(param.dependency, consumer)
            kwargs[param.name] = await self.resolve(param.dependency, consumer)
        return target(**kwargs)

    async def _invoke(self, factory: Callable[..., Any], stack: AsyncExitStack) -> Any:
        if inspect.isasyncgenfunction(factory):
            agen = cast(Callable[..., AsyncGenerator[Any, None]], factory)
            return await stack.enter_async_context(asynccontextmanager(agen)(**await self._kwargs(factory)))
        if inspect.isgeneratorfunction(factory):
            gen = cast(Callable[..., Generator[Any, None, None]], factory)
            return stack.enter_context(contextmanager(gen)(**await self._kwargs(factory)))
        value = await self.build(factory)
        if inspect.isawaitable(value):
            return await value
        return value

    async def _kwargs(self, factory: Callable[..., Any]) -> dict[str, Any]:
        consumer = _name(factory)
        return {
            p.name: await self.resolve(p.dependency, consumer)
            for p in self._container.parameters(factory)
            if not p.has_default or self._container.has(p.dependency)
        }


def _name(target: Any) -> str:
    return cast(str, getattr(target, "__qualname__", repr(target)))
