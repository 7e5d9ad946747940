"""Pages of finished tasks read one range of a query index (migration 0006), in order: no sort of every
matching task, however many are stored; counts per queue read indexes, never the whole table. Checked in the
database's own plan, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from evertask.storage import Storage
from evertask.storage.paging import Position
from evertask.storage.records import SortField, TaskFilter
from evertask.storage.sql.queries import page_select
from evertask.storage.sql.stats import COUNTS
from evertask.storage.sql.tables import RECORD_COLUMNS
from evertask.task import TaskStatus
from tests.contract.conftest import Backend

S = TaskStatus
SQL = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
CURSOR = Position(datetime(2031, 3, 4, tzinfo=UTC), 42)
CASES = [
    pytest.param({S.failed}, "created", None, "ix_evertask_tasks_final_created", id="failed-first-page"),
    pytest.param({S.failed}, "created", CURSOR, "ix_evertask_tasks_final_created", id="failed-next-page"),
    pytest.param({S.completed}, "finished", CURSOR, "ix_evertask_tasks_final_finished", id="by-finish-time"),
    pytest.param({S.failed, S.cancelled}, "created", None, "ix_evertask_tasks_final_created", id="two-statuses"),
]


async def plan(backend: Backend, statement: Any) -> str:
    """The database's plan for ``statement`` (values inlined), as one text."""
    if backend.name == "sqlite":
        from sqlalchemy.dialects import sqlite

        sql = str(statement.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
        with sqlite3.connect(backend.url.removeprefix("sqlite:///")) as db:
            return "\n".join(row[-1] for row in db.execute("EXPLAIN QUERY PLAN " + sql))
    from sqlalchemy.dialects import postgresql

    sql = str(statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    engine = create_async_engine(backend.url)
    try:
        async with engine.connect() as conn:
            # A few test rows would be read whole; forbidding that shows which index the query can be answered by.
            for setting in (f'search_path TO "{backend.schema}"', "enable_seqscan = off", "enable_bitmapscan = off"):
                await conn.execute(text(f"SET {setting}"))
            return "\n".join(row[0] for row in await conn.execute(text("EXPLAIN " + sql)))
    finally:
        await engine.dispose()


@pytest.mark.parametrize("backend", SQL, indirect=True)
@pytest.mark.parametrize(("statuses", "sort", "position", "index"), CASES)
async def test_a_page_of_finished_tasks_reads_its_index_in_order(
    backend: Backend,
    storage: Storage,
    statuses: set[TaskStatus],
    sort: SortField,
    position: Position | None,
    index: str,
) -> None:
    statement = page_select(
        RECORD_COLUMNS,
        TaskFilter(),
        frozenset(statuses),
        sort=sort,
        descending=True,
        limit=51,
        position=position,
    )

    found = await plan(backend, statement)

    assert found.count(index) == len(statuses), found
    if backend.name == "sqlite":
        # Each branch is read in index order; only the merge of two branches' few rows is sorted.
        assert found.count("TEMP B-TREE") == (0 if len(statuses) == 1 else len(statuses)), found
    else:
        assert "Sort" not in found.replace("Merge Append", "").replace("Sort Key", ""), found


@pytest.mark.parametrize("backend", SQL, indirect=True)
async def test_counts_per_queue_read_indexes_only_for_tasks_at_rest(backend: Backend, storage: Storage) -> None:
    found = await plan(backend, COUNTS)

    at_rest = "COVERING INDEX ix_evertask_tasks_at_rest" if backend.name == "sqlite" else "Index Only Scan using"
    assert at_rest in found, found
    assert "ix_evertask_tasks_lease" in found, found  # running tasks
    assert "SCAN evertask_tasks\n" not in found + "\n", found
    assert "Seq Scan" not in found, found
