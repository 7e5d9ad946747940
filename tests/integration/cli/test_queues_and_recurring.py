"""`evertask queues` and `evertask recurring`: counts, pausing a queue, and managing a series."""

from __future__ import annotations

from tests.integration.cli.helpers import Database, evertask, json_of, succeeds


def queues_by_name(db: Database) -> dict[str, dict[str, object]]:
    return {queue["name"]: queue for queue in json_of(evertask(db, "queues", "--json"))}


def test_queues_count_the_tasks_of_each_queue_by_status(sqlite_db: Database) -> None:
    found = queues_by_name(sqlite_db)
    assert set(found) == {"default", "critical", "recurring"}
    default = found["default"]["counts"]
    assert isinstance(default, dict)
    assert (default["completed"], default["failed"]) == (2, 3)
    assert found["critical"]["waiting"] == 1
    table = succeeds(evertask(sqlite_db, "queues")).stdout
    assert "default" in table
    assert "running" in table


def test_pause_and_resume_a_queue(sqlite_db: Database) -> None:
    paused = succeeds(evertask(sqlite_db, "--actor", "bob", "queues", "pause", "critical")).stdout
    assert paused == "queue critical paused: no worker claims its tasks until it is resumed (1 task waiting)\n"
    state = queues_by_name(sqlite_db)["critical"]
    assert (state["paused"], state["paused_by"]) == (True, "bob")
    assert "critical: paused by bob at " in succeeds(evertask(sqlite_db, "queues")).stdout
    resumed = json_of(evertask(sqlite_db, "queues", "resume", "critical", "--json"))
    assert (resumed["name"], resumed["paused"], resumed["waiting"]) == ("critical", False, 1)
    assert queues_by_name(sqlite_db)["critical"]["paused"] is False


def test_a_queue_with_no_tasks_yet_can_be_paused(sqlite_db: Database) -> None:
    succeeds(evertask(sqlite_db, "queues", "pause", "reports"))
    assert queues_by_name(sqlite_db)["reports"]["paused"] is True


def test_recurring_list_shows_the_schedule_in_words_and_the_next_run(sqlite_db: Database) -> None:
    (series,) = json_of(evertask(sqlite_db, "recurring", "list", "--json"))
    assert series["id"] == str(sqlite_db.stored.series)
    assert series["schedule"]["description"] == "every day at 03:00 UTC"
    assert series["next_run"].endswith("03:00:00Z")
    table = succeeds(evertask(sqlite_db, "recurring", "list")).stdout
    assert str(sqlite_db.stored.series) in table
    assert "every day at 03:00 UTC" in table


def test_recurring_pause_resume_and_run_now(sqlite_db: Database) -> None:
    series = str(sqlite_db.stored.series)
    assert succeeds(evertask(sqlite_db, "recurring", "pause", series)).stdout == f"series {series} paused: next run -\n"
    assert json_of(evertask(sqlite_db, "recurring", "list", "--json"))[0]["status"] == "paused"
    assert json_of(evertask(sqlite_db, "recurring", "pause", series, "--json"))["paused"] is True
    resumed = succeeds(evertask(sqlite_db, "recurring", "resume", series)).stdout
    assert resumed.startswith(f"series {series} resumed: next run ")
    again = evertask(sqlite_db, "recurring", "resume", series)
    assert again.exit_code == 2
    assert again.stderr.startswith(f"error: cannot resume task {series}: it is pending")
    started = json_of(evertask(sqlite_db, "recurring", "run", series, "--json"))
    assert started["series_id"] == series
    one_off = json_of(evertask(sqlite_db, "tasks", "show", started["task_id"], "--json"))
    assert (one_off["type"], one_off["status"], one_off["recurring"]) == ("cli.Ping", "queued", False)


def test_recurring_commands_on_a_task_that_is_no_series_say_so(sqlite_db: Database) -> None:
    one_off = str(sqlite_db.stored.completed[0])
    result = evertask(sqlite_db, "recurring", "run", one_off)
    assert result.exit_code == 2
    assert result.stderr == f"error: no task with id {one_off}\n"
