"""evertask: durable background tasks for asyncio Python.

Dispatch fire-and-forget, delayed, scheduled and recurring tasks; every dispatch is stored before it returns.
"""

from evertask.app import EverTask
from evertask.context import TaskContext
from evertask.errors import EverTaskError
from evertask.events import TaskEvent
from evertask.functions import TaskFunction
from evertask.handler import Handler, SyncHandler
from evertask.queues import Queue
from evertask.retry import RetryPolicy
from evertask.schedule import (
    FRIDAY,
    MONDAY,
    SATURDAY,
    SUNDAY,
    THURSDAY,
    TUESDAY,
    WEDNESDAY,
    Schedule,
    cron,
    every,
)
from evertask.storage.base import RetentionPolicy, TaskQuery
from evertask.sync import SyncClient
from evertask.task import StatusChange, Task, TaskRecord, TaskStatus
from evertask.worker import WorkerSettings

__version__ = "0.1.0"

__all__ = [
    "FRIDAY",
    "MONDAY",
    "SATURDAY",
    "SUNDAY",
    "THURSDAY",
    "TUESDAY",
    "WEDNESDAY",
    "EverTask",
    "EverTaskError",
    "Handler",
    "Queue",
    "RetentionPolicy",
    "RetryPolicy",
    "Schedule",
    "StatusChange",
    "SyncClient",
    "SyncHandler",
    "Task",
    "TaskContext",
    "TaskEvent",
    "TaskFunction",
    "TaskQuery",
    "TaskRecord",
    "TaskStatus",
    "WorkerSettings",
    "__version__",
    "cron",
    "every",
]
