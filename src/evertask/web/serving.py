"""Running the web app with uvicorn so that a stop is prompt: the dashboard's live streams never end on their
own, and uvicorn waits for open responses before it stops, so a stop first tells them to end."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

import uvicorn


class Server(uvicorn.Server):
    """A uvicorn server that ends the dashboard's streams when it is asked to stop (SIGINT, SIGTERM)."""

    _loop: asyncio.AbstractEventLoop | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.end_streams)
        super().handle_exit(sig, frame)

    def end_streams(self) -> None:
        """End the dashboard's open streams, if the app serves a dashboard."""
        board = getattr(getattr(self.config.app, "state", None), "dashboard", None)
        if board is not None:
            board.hub.close()


class _EmbeddedServer(Server):
    """A server inside a program that handles its own signals (uvicorn's would re-raise Ctrl+C at its end)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(
    app: Any,
    stop: asyncio.Event,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    on_started: Callable[[str], None] | None = None,
    **options: Any,
) -> None:
    """Serve ``app`` on this event loop until ``stop`` is set (the program owns the signals, e.g. by
    ``loop.add_signal_handler(SIGINT, stop.set)``); ``on_started`` is given the base URL once the app has
    started; ``options`` are :class:`uvicorn.Config`'s. Raises :class:`OSError` when the address is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))  # here, so that a busy port is an OSError for the caller (uvicorn exits)
    except OSError:
        listener.close()
        raise
    bound = listener.getsockname()[1]
    server = _EmbeddedServer(uvicorn.Config(app, host=host, port=bound, **options))
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    stopping = asyncio.create_task(stop.wait())
    try:
        while not server.started and not serving.done() and not stop.is_set():
            await asyncio.wait({serving, stopping}, timeout=0.02)
        if server.started and on_started is not None:
            on_started(f"http://{f'[{host}]' if ':' in host else host}:{bound}")
        await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        server.end_streams()
        server.should_exit = True
        await serving
        listener.close()
