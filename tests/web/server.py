"""A real uvicorn serving an ASGI app on a free loopback port, in the test's event loop or in a thread."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import uvicorn

STARTUP_TIMEOUT = 30.0


def _server(app: Any) -> uvicorn.Server:
    # Port 0: the kernel picks a free port, read back from the bound socket (no race with another run).
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    return uvicorn.Server(config)


def _base_url(server: uvicorn.Server) -> str:
    port = server.servers[0].sockets[0].getsockname()[1]
    return f"http://127.0.0.1:{port}"


@asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    """Serve ``app`` on this event loop (so it shares the test's storage and app); yields the base URL."""
    server = _server(app)
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:  # uvicorn's own flag, set once the socket listens
        if task.done():
            task.result()  # startup failed: raise its error
            raise RuntimeError("uvicorn stopped before it started")
        if time.monotonic() > deadline:
            raise TimeoutError("uvicorn did not start")
        await asyncio.sleep(0.005)
    try:
        yield _base_url(server)
    finally:
        server.should_exit = True
        await task


@contextmanager
def serving_in_thread(app: Any) -> Iterator[str]:
    """Serve ``app`` on its own event loop in a thread, for synchronous clients; yields the base URL."""
    server = _server(app)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("uvicorn stopped before it started")
        if time.monotonic() > deadline:
            raise TimeoutError("uvicorn did not start")
        time.sleep(0.005)
    try:
        yield _base_url(server)
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT)
