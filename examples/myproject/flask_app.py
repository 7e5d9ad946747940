"""A Flask app that dispatches to the worker: ``flask --app myproject.flask_app run`` from ``examples``.

One :class:`~evertask.SyncClient` serves every request of the process (its calls are thread-safe); Flask views
call it like any blocking library. It is closed when the process exits.
"""

from __future__ import annotations

import atexit
from uuid import UUID

from flask import Flask, abort, request
from myproject.tasks import SendWelcomeEmail, app

from evertask import SyncClient

client = SyncClient(app)
atexit.register(client.close)

web = Flask(__name__)


@web.post("/signup")
def signup() -> tuple[dict[str, str], int]:
    task_id = client.dispatch(SendWelcomeEmail(email=request.form["email"]))
    return {"task": str(task_id)}, 202


@web.get("/tasks/<task_id>")
def task_status(task_id: str) -> dict[str, object]:
    record = client.get(UUID(task_id))
    if record is None:
        abort(404)
    return {"status": record.status.value, "attempts": record.attempts, "result": client.result(record.id)}


@web.post("/tasks/<task_id>/cancel")
def cancel(task_id: str) -> dict[str, bool]:
    return {"cancelled": client.cancel(UUID(task_id))}
