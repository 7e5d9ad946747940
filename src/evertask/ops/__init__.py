"""Operations: find, inspect, retry, cancel and purge tasks; pause queues; workers, recurring series, statistics
and health, on any storage. :class:`Operations` is the one service the REST API, the CLI and the dashboard
call; its pydantic models are their JSON. See docs/operations.md.
"""

from evertask.ops.models import (
    Attempt,
    BulkResult,
    Filter,
    Health,
    HistoryEntry,
    QueueInfo,
    RecurringSeries,
    RunNowResult,
    ScheduleInfo,
    Stats,
    TaskDetail,
    TaskPage,
    TaskSummary,
    ThroughputPoint,
    TypeStat,
    WorkerModel,
)
from evertask.ops.service import Operations

__all__ = [
    "Attempt",
    "BulkResult",
    "Filter",
    "Health",
    "HistoryEntry",
    "Operations",
    "QueueInfo",
    "RecurringSeries",
    "RunNowResult",
    "ScheduleInfo",
    "Stats",
    "TaskDetail",
    "TaskPage",
    "TaskSummary",
    "ThroughputPoint",
    "TypeStat",
    "WorkerModel",
]
