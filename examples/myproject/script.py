"""A plain synchronous script beside the worker: ``python -m myproject.script [EMAIL]`` from ``examples``.

``SyncClient`` runs the project's app as a producer on a private event loop; the script itself has none.
"""

from __future__ import annotations

import sys

from myproject.tasks import SendWelcomeEmail, app

from evertask import SyncClient, TaskQuery, TaskStatus


def main(email: str) -> None:
    with SyncClient(app) as client:  # the app's handlers validate what is dispatched
        task_id = client.dispatch(SendWelcomeEmail(email=email))
        record = client.wait(task_id, timeout=60)
        done = client.list(TaskQuery(statuses=frozenset({TaskStatus.completed}), limit=10))
        print(f"{task_id} {record.status.value} ({client.result(task_id)}); {len(done)} completed recently")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "ann@example.com")
