"""An async producer beside the worker: ``python -m myproject.dispatch [EMAIL]`` from the ``examples`` folder.

It stores one task, waits for the worker process to run it, and prints the final status.
"""

from __future__ import annotations

import asyncio
import sys

from myproject.tasks import SendWelcomeEmail, app


async def main(email: str) -> None:
    async with app:  # a producer (run_worker=False): the worker process runs the task
        task_id = await app.dispatch(SendWelcomeEmail(email=email))
        record = await app.wait(task_id, timeout=60)
        print(f"{task_id} {record.status.value}: {await app.result(task_id)}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "ann@example.com"))
