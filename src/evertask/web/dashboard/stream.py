"""The live stream (Server-Sent Events), its polling fallback, and the dashboard's static files.

``GET /live/stream`` sends ``changed`` (debounced: at most one a second, listing the tasks concerned) to every
page, which refreshes its live region on it, and with ``?events=1`` each event as it happens (the live page).
When the stream drops, the page polls instead: its live region every few seconds, and the live page
``GET /live/events?after=SEQ``, which also keeps the hub reading for a while.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from evertask.web.dashboard.access import Visitor, dashboard, visitor

router = APIRouter(include_in_schema=False)
Seen = Annotated[Visitor, Depends(visitor)]
DEBOUNCE = 1.0
"""Seconds between two ``changed`` messages of one stream."""
KEEPALIVE = 15.0
"""Seconds of silence after which a comment line keeps proxies from closing the stream."""
MAX_CHANGED_IDS = 100
"""Task ids a ``changed`` message lists; past that it says ``more`` and every page refreshes."""
HOLD = 15.0
"""Seconds a fallback poll keeps the hub reading its source."""


def _message(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


@router.get("/live/stream")
async def stream(request: Request, _: Seen) -> StreamingResponse:
    """The event stream of every open page."""
    hub = dashboard(request).hub
    with_events = request.query_params.get("events") == "1"

    async def body() -> AsyncIterator[str]:
        listener = hub.subscribe()  # here, so that the finally below always lets it go
        try:
            yield "retry: 2000\n\n"
            yield _message("hello", {"source": hub.source})
            changed: set[str] = set()
            more = False
            next_changed = 0.0
            quiet_since = time.monotonic()
            while not hub.closing.is_set():
                now = time.monotonic()
                wait = min(1.0, max(0.0, next_changed - now)) if changed or more else 1.0
                try:
                    first = await asyncio.wait_for(listener.queue.get(), wait)
                except TimeoutError:
                    first = None
                batch = [] if first is None else [first]
                while not listener.queue.empty() and len(batch) < 500:
                    batch.append(listener.queue.get_nowait())
                for event in batch:
                    if with_events:
                        yield _message("task", event.json())
                    if len(changed) < MAX_CHANGED_IDS:
                        changed.add(str(event.task_id))
                    else:
                        more = True
                if listener.refresh:
                    listener.refresh, more = False, True
                now = time.monotonic()
                if (changed or more) and now >= next_changed:
                    yield _message("changed", {"tasks": sorted(changed), "more": more})
                    changed, more, next_changed = set(), False, now + DEBOUNCE
                    quiet_since = now
                elif batch:
                    quiet_since = now
                elif now - quiet_since >= KEEPALIVE:
                    yield ": keep-alive\n\n"
                    quiet_since = now
        finally:
            hub.unsubscribe(listener)

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(body(), media_type="text/event-stream", headers=headers)


@router.get("/live/events")
async def events(request: Request, _: Seen) -> JSONResponse:
    """The recent events after ``after`` (a ``seq``), for a live page whose stream dropped."""
    hub = dashboard(request).hub
    hub.hold(HOLD)
    try:
        after = int(request.query_params.get("after", "0"))
    except ValueError:
        after = 0
    recent = [event.json() for event in hub.recent() if event.seq > after]
    return JSONResponse({"events": recent, "source": hub.source}, headers={"Cache-Control": "no-store"})


@router.get("/static/{name:path}")
async def static(request: Request, name: str) -> Response:
    """A static file of the dashboard."""
    return dashboard(request).static.response(request, name)
