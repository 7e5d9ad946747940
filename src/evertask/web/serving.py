"""Running the web app with uvicorn so that Ctrl+C stops it at once: the dashboard's live streams never end on
their own, and uvicorn waits for open responses before it stops, so a stop first tells them to end."""

from __future__ import annotations

import asyncio
import socket
from types import FrameType

import uvicorn


class Server(uvicorn.Server):
    """A uvicorn server that ends the dashboard's streams when it is asked to stop."""

    _loop: asyncio.AbstractEventLoop | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        board = getattr(getattr(self.config.app, "state", None), "dashboard", None)
        if board is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(board.hub.close)
        super().handle_exit(sig, frame)
