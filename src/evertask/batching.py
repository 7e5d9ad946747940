"""Group commit: concurrent callers share one storage call.

While one flush is in flight, new items gather; the next flush takes them all. One caller alone pays one call
(no added latency: the flush starts on the next loop iteration); a thousand concurrent callers pay a handful.
Items either come with a future the caller awaits (:meth:`GroupCommitter.submit`), or are pushed without
waiting (:meth:`GroupCommitter.push`), their results then handed to the ``on_result`` callback.

One item's fault must not fail the others it happened to share a flush with: given ``isolate``, a failed flush
of several items whose error ``isolate`` accepts is retried one item at a time, and only the items that fail
alone get an error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")


class GroupCommitter(Generic[In, Out]):
    """Feeds items to ``flush(items) -> results`` in batches of at most ``max_batch``."""

    def __init__(
        self,
        flush: Callable[[Sequence[In]], Awaitable[Sequence[Out]]],
        *,
        max_batch: int = 1000,
        on_result: Callable[[In, Out], None] | None = None,
        on_error: Callable[[Sequence[In], Exception], None] | None = None,
        isolate: Callable[[Exception], bool] | None = None,
    ) -> None:
        self._flush = flush
        self._isolate = isolate
        self._max_batch = max_batch
        self._on_result = on_result
        self._on_error = on_error
        self._items: list[In] = []
        self._futures: list[asyncio.Future[Out] | None] = []
        self._runner: asyncio.Task[None] | None = None

    async def submit(self, item: In) -> Out:
        """Queue ``item`` for the next flush and wait for its result (or the flush's exception).

        Once submitted, an item is flushed even if the caller stops waiting, so a cancelled caller cannot
        leave half a batch behind.
        """
        future: asyncio.Future[Out] = asyncio.get_running_loop().create_future()
        self._add(item, future)
        return await future

    def push(self, item: In) -> None:
        """Queue ``item`` without waiting; ``on_result`` (or ``on_error``) hears how its flush went."""
        self._add(item, None)

    def _add(self, item: In, future: asyncio.Future[Out] | None) -> None:
        self._items.append(item)
        self._futures.append(future)
        if self._runner is None:
            self._runner = asyncio.get_running_loop().create_task(self._run(), name="evertask-group-commit")

    async def _run(self) -> None:
        try:
            await asyncio.sleep(0)  # one loop turn: items that callers add in the same turn join this batch
            while self._items:
                items, futures = self._items[: self._max_batch], self._futures[: self._max_batch]
                del self._items[: self._max_batch], self._futures[: self._max_batch]
                try:
                    results = await self._flush(items)
                except Exception as exc:
                    isolate = self._isolate
                    if len(items) > 1 and isolate is not None and isolate(exc):
                        await self._one_by_one(items, futures, isolate)
                    else:
                        self._failed(items, futures, exc)
                    continue
                self._delivered(items, futures, results)
        finally:
            self._runner = None

    async def _one_by_one(
        self, items: list[In], futures: list[asyncio.Future[Out] | None], isolate: Callable[[Exception], bool]
    ) -> None:
        for index, (item, future) in enumerate(zip(items, futures, strict=True)):
            try:
                results = await self._flush([item])
            except Exception as exc:
                if not isolate(exc):  # e.g. the database went away meanwhile: the rest would fail the same way
                    self._failed(items[index:], futures[index:], exc)
                    return
                self._failed([item], [future], exc)
            else:
                self._delivered([item], [future], results)

    def _delivered(self, items: list[In], futures: list[asyncio.Future[Out] | None], results: Sequence[Out]) -> None:
        for item, future, result in zip(items, futures, results, strict=True):
            if future is None:
                if self._on_result is not None:
                    self._on_result(item, result)
            elif not future.done():
                future.set_result(result)

    def _failed(self, items: list[In], futures: list[asyncio.Future[Out] | None], exc: Exception) -> None:
        for future in futures:
            if future is not None and not future.done():
                future.set_exception(exc)
        pushed = [item for item, future in zip(items, futures, strict=True) if future is None]
        if pushed and self._on_error is not None:
            self._on_error(pushed, exc)

    async def drain(self) -> None:
        """Wait until everything submitted or pushed so far is flushed."""
        while self._runner is not None:
            await asyncio.shield(self._runner)
