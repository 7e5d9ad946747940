"""The CLI on PostgreSQL, in the session's own schema (`--schema`): finding, retrying and pausing."""

from __future__ import annotations

from uuid import UUID

import pytest

from tests.integration.cli.helpers import Database, evertask, json_of, succeeds

pytestmark = pytest.mark.postgres


def test_failed_tasks_are_found_shown_and_retried_in_bulk(postgres_db: Database) -> None:
    stored = postgres_db.stored
    page = json_of(evertask(postgres_db, "tasks", "list", "--status", "failed", "--search", "boom", "--json"))
    assert {UUID(task["id"]) for task in page["tasks"]} == set(stored.failed)
    detail = json_of(evertask(postgres_db, "tasks", "show", str(stored.failed[1]), "--json"))
    assert [e["error_message"] for e in detail["executions"]] == ["boom 2", "boom 2"]
    assert json_of(evertask(postgres_db, "tasks", "retry", "--status", "failed", "--dry-run", "--json"))["count"] == 3
    assert (
        succeeds(evertask(postgres_db, "tasks", "retry", "--status", "failed", "--yes")).stdout == "retried 3 tasks\n"
    )
    assert json_of(evertask(postgres_db, "tasks", "list", "--status", "failed", "--json"))["tasks"] == []


def test_a_queue_paused_and_resumed_and_finished_tasks_purged(postgres_db: Database) -> None:
    succeeds(evertask(postgres_db, "--actor", "ops-team", "queues", "pause", "critical"))
    queues = {queue["name"]: queue for queue in json_of(evertask(postgres_db, "queues", "--json"))}
    assert (queues["critical"]["paused"], queues["critical"]["paused_by"]) == (True, "ops-team")
    succeeds(evertask(postgres_db, "queues", "resume", "critical"))
    purged = json_of(evertask(postgres_db, "tasks", "purge", "--status", "completed", "--yes", "--json"))
    assert purged == {"action": "purge", "dry_run": False, "count": 2}
