"""The task of the ``startup`` workload, shared by its producer and the worker's app module."""

from __future__ import annotations

from evertask import Task


class First(Task):
    """The task stored before each launch of the worker."""

    task_name = "bench.StartupFirst"
