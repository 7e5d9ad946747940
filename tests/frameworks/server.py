"""A real uvicorn server for the framework tests, in the test's event loop, on a free loopback port."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from starlette.types import ASGIApp


@asynccontextmanager
async def serving(web: ASGIApp) -> AsyncIterator[tuple[uvicorn.Server, asyncio.Task[None], str]]:
    """uvicorn serving ``web`` on a free loopback port: the server, its task, and the base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(web, lifespan="on", log_level="warning"))
    running = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(30):
            while not server.started:  # uvicorn has no event for it; it sets the flag once it listens
                if running.done():
                    running.result()
                await asyncio.sleep(0.01)
        yield server, running, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(running, 30)
        sock.close()
