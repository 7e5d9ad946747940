"""`make demo`: a worker and the dashboard in one process, on the embedded SQLite file, with example tasks
dispatched all the time. Open the printed address; Ctrl+C stops it.

What runs: welcome emails (the mail server is sometimes busy: they fail once and are retried), card charges
(some are declined for good: find them under Tasks, status failed, and retry them), image resizes dispatched
when an email is sent, partner API calls held to two a second per tenant (rate limited: watch them wait on
the Live page), a report that takes half a minute and sleeps in steps, and two recurring series (metrics every
ten seconds; a nightly cleanup on a cron schedule). ``EVERTASK_DEMO_URL`` and ``EVERTASK_DEMO_PORT`` change
the database and the port.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import signal
import sys
from datetime import timedelta

from evertask import EverTask, Handler, Queue, RetryPolicy, Task, TaskContext, cron, every
from evertask.ratelimit import RateLimit
from evertask.web import create_app
from evertask.web.serving import serve

DATABASE = os.environ.get("EVERTASK_DEMO_URL", "sqlite:///evertask-demo.db")
PORT = int(os.environ.get("EVERTASK_DEMO_PORT", "8000"))


class SendWelcomeEmail(Task):
    task_name = "demo.SendWelcomeEmail"  # a stable stored name (this module runs as __main__)
    email: str


class ChargeCard(Task):
    task_name = "demo.ChargeCard"
    order_id: int
    amount_cents: int


class ResizeImage(Task):
    task_name = "demo.ResizeImage"
    image_id: int


class CallPartnerApi(Task):
    task_name = "demo.CallPartnerApi"
    tenant: str
    order_id: int


class BuildReport(Task):
    task_name = "demo.BuildReport"
    pages: int


class CollectMetrics(Task):
    task_name = "demo.CollectMetrics"


class NightlyCleanup(Task):
    task_name = "demo.NightlyCleanup"


class SendWelcomeEmailHandler(Handler[SendWelcomeEmail]):
    queue = "mail"
    retry = RetryPolicy.linear(2, timedelta(seconds=2))

    def __init__(self, app: EverTask) -> None:
        self.app = app

    async def handle(self, task: SendWelcomeEmail, ctx: TaskContext) -> dict[str, str]:
        await asyncio.sleep(random.uniform(0.1, 0.5))
        if ctx.attempt == 1 and random.random() < 0.3:
            raise ConnectionError("mail server busy, try again later")  # the retry policy runs it again
        await self.app.dispatch(ResizeImage(image_id=random.randint(1, 9999)))  # a follow-up task
        return {"sent_to": task.email}


class ChargeCardHandler(Handler[ChargeCard]):
    retry = RetryPolicy.none()

    async def handle(self, task: ChargeCard, ctx: TaskContext) -> dict[str, int]:
        await asyncio.sleep(random.uniform(0.2, 0.8))
        if task.amount_cents % 7 == 0:
            raise ValueError(f"card declined for order {task.order_id}")  # failed for good: retry it by hand
        return {"charged_cents": task.amount_cents}


class ResizeImageHandler(Handler[ResizeImage]):
    async def handle(self, task: ResizeImage, ctx: TaskContext) -> None:
        await asyncio.sleep(random.uniform(0.05, 0.3))


class CallPartnerApiHandler(Handler[CallPartnerApi]):
    queue = "partners"
    rate_limit = RateLimit(permits=2, per=timedelta(seconds=1), key=lambda task: task.tenant)

    async def handle(self, task: CallPartnerApi, ctx: TaskContext) -> None:
        await asyncio.sleep(0.05)


class BuildReportHandler(Handler[BuildReport]):
    queue = "reports"
    timeout = timedelta(minutes=5)

    async def handle(self, task: BuildReport, ctx: TaskContext) -> dict[str, int]:
        for _ in range(task.pages):  # a long task that works in steps (and can be cancelled between them)
            await asyncio.sleep(1)
        return {"pages": task.pages}


class CollectMetricsHandler(Handler[CollectMetrics]):
    async def handle(self, task: CollectMetrics, ctx: TaskContext) -> None:
        await asyncio.sleep(0.05)


class NightlyCleanupHandler(Handler[NightlyCleanup]):
    async def handle(self, task: NightlyCleanup, ctx: TaskContext) -> None:
        await asyncio.sleep(1)


async def keep_dispatching(app: EverTask) -> None:
    """Example work arriving all the time: emails and charges, bursts of partner calls, now and then a report."""
    order = 1000
    await app.dispatch(CollectMetrics(), recurring=every(10).seconds().run_now(), key="metrics")
    await app.dispatch(NightlyCleanup(), recurring=cron("0 3 * * *"), key="nightly-cleanup")
    await app.dispatch(BuildReport(pages=30), key=f"report-{random.randint(1, 10**9)}")
    while True:
        order += 1
        await app.dispatch(SendWelcomeEmail(email=f"user{order}@example.com"))
        await app.dispatch(ChargeCard(order_id=order, amount_cents=random.randint(500, 20000)))
        if order % 5 == 0:
            for call in range(6):  # more than the partner allows per second: the rest wait their turn
                await app.dispatch(CallPartnerApi(tenant=random.choice(("acme", "globex")), order_id=order + call))
        if order % 40 == 0:
            await app.dispatch(BuildReport(pages=random.randint(15, 30)))
        await asyncio.sleep(random.uniform(0.4, 1.2))


async def main() -> int:
    queues = {"default": Queue(), "mail": Queue(), "partners": Queue(), "reports": Queue(max_parallelism=2)}
    app = EverTask.from_url(DATABASE, queues=queues)
    app.register_module(sys.modules[__name__])
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    def started(url: str) -> None:
        print(f"evertask demo: a worker and the dashboard on {DATABASE}")
        print(f"open {url}/   (Ctrl+C stops)", flush=True)

    async with app:
        feeding = asyncio.create_task(keep_dispatching(app))
        try:
            await serve(create_app(app), stop, port=PORT, on_started=started, log_level="warning")
        except OSError as exc:
            print(f"cannot listen on port {PORT} ({exc.strerror}): set EVERTASK_DEMO_PORT to another one")
            return 2
        finally:
            feeding.cancel()
    print(f"\ndemo stopped; its tasks are kept in {DATABASE}")
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("evertask.worker").setLevel(logging.CRITICAL)  # the failures on purpose: see the dashboard
    sys.exit(asyncio.run(main()))
