"""Which handler answers which message: one per command or query, any number per notification.

Requests route by their exact type; notifications and validators also apply to subclasses of the type they
name (a handler of ``UserEvent`` receives ``UserCreated``). The registry also maps stable message names back to
classes, which is how a deferred message stored as JSON finds its class again.
"""

from __future__ import annotations

from evertask.errors import ConfigurationError, DuplicateHandlerError, MissingHandlerError
from evertask.mediator.handlers import HandlerSpec, spec_of
from evertask.mediator.messages import Message


class Registry:
    """Handlers and validators by message type, and message classes by stable name."""

    def __init__(self) -> None:
        self._handlers: dict[type[Message], HandlerSpec] = {}
        self._many: dict[type[Message], list[HandlerSpec]] = {}
        self._by_name: dict[str, type[Message]] = {}

    def register(self, cls: type) -> HandlerSpec:
        """Add a handler or validator class. Registering the same class again changes nothing.

        Raises :class:`~evertask.errors.DuplicateHandlerError` when the command or query already has another
        handler, and :class:`~evertask.errors.ConfigurationError` for anything that is not a usable handler.
        """
        spec = spec_of(cls)
        self._claim_name(spec.message_type)
        if spec.role == "request":
            existing = self._handlers.get(spec.message_type)
            if existing is not None and existing.cls is not cls:
                raise DuplicateHandlerError(spec.message_type.message_name, existing.cls.__qualname__, cls.__qualname__)
            self._handlers[spec.message_type] = spec
        else:
            specs = self._many.setdefault(spec.message_type, [])
            if all(s.cls is not cls for s in specs):
                specs.append(spec)
        return spec

    def handler_for(self, request_type: type[Message]) -> HandlerSpec:
        """The handler of exactly this command or query type, or :class:`~evertask.errors.MissingHandlerError`."""
        spec = self._handlers.get(request_type)
        if spec is None:
            raise MissingHandlerError(request_type.message_name)
        return spec

    def subscribers(self, message_type: type[Message]) -> list[HandlerSpec]:
        """Notification handlers (for a notification) or validators (for a request) of ``message_type`` and of
        its bases, most specific first."""
        return [spec for klass in message_type.__mro__ for spec in self._many.get(klass, ())]

    def message_type(self, name: str) -> type[Message]:
        """The class whose ``message_name`` is ``name``: known once a handler for it is registered."""
        cls = self._by_name.get(name)
        if cls is None:
            raise MissingHandlerError(name)
        return cls

    def _claim_name(self, message_type: type[Message]) -> None:
        name = message_type.message_name
        known = self._by_name.setdefault(name, message_type)
        if known is not message_type:
            raise ConfigurationError(
                f"{message_type.__module__}.{message_type.__qualname__} and "
                f"{known.__module__}.{known.__qualname__} share the message name {name!r}; "
                "give one of them its own message_name"
            )
