"""Group commit: concurrent callers share one storage call.

While one flush is in flight, new items gather; the next flush takes them all. One caller alone pays one call
(no added latency: the flush starts on the next loop iteration); a thousand concurrent callers pay a handful.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")


class GroupCommitter(Generic[In, Out]):
    """Feeds items to ``flush(items) -> results`` in batches of at most ``max_batch``."""

    def __init__(self, flush: Callable[[Sequence[In]], Awaitable[Sequence[Out]]], max_batch: int = 1000) -> None:
        self._flush = flush
        self._max_batch = max_batch
        self._items: list[In] = []
        self._futures: list[asyncio.Future[Out]] = []
        self._runner: asyncio.Task[None] | None = None

    async def submit(self, item: In) -> Out:
        """Queue ``item`` for the next flush and wait for its result (or the flush's exception).

        Once submitted, an item is flushed even if the caller stops waiting, so a cancelled caller cannot
        leave half a batch behind.
        """
        return await self.submit_many([item])[0]

    def submit_many(self, items: Sequence[In]) -> list[asyncio.Future[Out]]:
        """Queue several items for the same flush; one future per item, in order."""
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in items]
        self._items.extend(items)
        self._futures.extend(futures)
        if self._runner is None:
            self._runner = loop.create_task(self._run(), name="evertask-group-commit")
        return futures

    async def _run(self) -> None:
        try:
            while self._items:
                items, futures = self._items[: self._max_batch], self._futures[: self._max_batch]
                del self._items[: self._max_batch], self._futures[: self._max_batch]
                try:
                    results = await self._flush(items)
                except BaseException as exc:
                    for future in futures:
                        if not future.done():
                            future.set_exception(exc)
                    if not isinstance(exc, Exception):
                        raise
                    continue
                for future, result in zip(futures, results, strict=True):
                    if not future.done():
                        future.set_result(result)
        finally:
            self._runner = None

    async def drain(self) -> None:
        """Wait until everything submitted so far is flushed."""
        while self._runner is not None:
            await asyncio.shield(self._runner)
