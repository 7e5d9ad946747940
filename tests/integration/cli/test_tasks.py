"""`evertask tasks`: list, show, retry, cancel and purge tasks of a SQLite database prepared by a real app."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

from tests.integration.cli.helpers import Database, evertask, invoke, json_of, succeeds


def statuses(db: Database) -> dict[UUID, str]:
    page = json_of(evertask(db, "tasks", "list", "--limit", "100", "--json"))
    return {UUID(task["id"]): task["status"] for task in page["tasks"]}


def test_list_by_status_prints_the_failed_tasks_with_their_last_error(sqlite_db: Database) -> None:
    page = json_of(evertask(sqlite_db, "tasks", "list", "--status", "failed", "--json"))
    assert {UUID(task["id"]) for task in page["tasks"]} == set(sqlite_db.stored.failed)
    assert {task["error"] for task in page["tasks"]} == {
        "ValueError: boom 1",
        "ValueError: boom 2",
        "ValueError: boom 3",
    }
    assert page["next_cursor"] is None
    table = succeeds(evertask(sqlite_db, "tasks", "list", "--status", "failed")).stdout
    assert all(str(task_id) in table for task_id in sqlite_db.stored.failed)
    assert "ValueError: boom 2" in table
    assert str(sqlite_db.stored.completed[0]) not in table


def test_list_filters_by_queue_type_key_and_search(sqlite_db: Database) -> None:
    stored = sqlite_db.stored

    def ids(*options: str) -> set[UUID]:
        return {UUID(task["id"]) for task in json_of(evertask(sqlite_db, "tasks", "list", *options, "--json"))["tasks"]}

    assert ids("--queue", "critical") == {stored.pending}
    assert ids("--type", "cli.Flaky") == set(stored.failed)
    assert ids("--key", "nightly") == {stored.series}
    assert ids("--recurring") == {stored.series}
    assert ids("--search", "BOOM 2") == {stored.failed[1]}
    assert ids("--status", "completed", "--status", "pending", "--one-off") == {*stored.completed, stored.pending}
    assert succeeds(evertask(sqlite_db, "tasks", "list", "--type", "no.such.Type")).stdout == "no tasks match\n"


def test_pages_by_cursor_cover_every_task_once(sqlite_db: Database) -> None:
    seen: list[str] = []
    cursor: list[str] = []
    for _ in range(10):
        page = json_of(evertask(sqlite_db, "tasks", "list", "--limit", "2", *cursor, "--json"))
        seen += [task["id"] for task in page["tasks"]]
        if page["next_cursor"] is None:
            break
        cursor = ["--cursor", page["next_cursor"]]
    stored = sqlite_db.stored
    assert sorted(seen) == sorted(str(i) for i in [*stored.completed, *stored.failed, stored.pending, stored.series])
    more = succeeds(evertask(sqlite_db, "tasks", "list", "--limit", "2")).stdout
    assert "more: add --cursor " in more


def test_a_bad_cursor_or_page_size_is_an_error_naming_it(sqlite_db: Database) -> None:
    bad_cursor = evertask(sqlite_db, "tasks", "list", "--cursor", "not-a-cursor")
    assert bad_cursor.exit_code == 2
    assert "cursor 'not-a-cursor'" in bad_cursor.stderr
    too_many = evertask(sqlite_db, "tasks", "list", "--limit", "5000")
    assert too_many.exit_code == 2
    assert "5000" in too_many.stderr


def test_show_prints_each_execution_with_its_traceback_and_the_history(sqlite_db: Database) -> None:
    task_id = sqlite_db.stored.failed[0]
    detail = json_of(evertask(sqlite_db, "tasks", "show", str(task_id), "--json"))
    assert detail["status"] == "failed"
    assert detail["payload"] == {"n": 1}
    assert [e["outcome"] for e in detail["executions"]] == ["retrying", "failed"]
    assert {e["error_type"] for e in detail["executions"]} == {"ValueError"}
    assert [h["to_status"] for h in detail["history"]][-1] == "failed"
    text = succeeds(evertask(sqlite_db, "tasks", "show", str(task_id))).stdout
    assert text.count("Traceback (most recent call last)") == 2
    assert 'raise ValueError(f"boom {task.n}")' in text
    assert "retrying" in text
    assert "queued -> in_progress" in text


def test_show_prints_the_result_and_finds_a_task_by_key(sqlite_db: Database) -> None:
    detail = json_of(evertask(sqlite_db, "tasks", "show", str(sqlite_db.stored.completed[0]), "--json"))
    assert detail["result"] == {"pong": 1}
    by_key = json_of(evertask(sqlite_db, "tasks", "show", "--key", "report-1", "--json"))
    assert by_key["id"] == str(sqlite_db.stored.pending)
    assert by_key["scheduled_at"] > by_key["created_at"]


def test_show_of_an_unknown_task_is_an_error(sqlite_db: Database) -> None:
    unknown = "00000000-0000-0000-0000-000000000001"
    result = evertask(sqlite_db, "tasks", "show", unknown)
    assert result.exit_code == 2
    assert result.stderr == f"error: no task with id {unknown}\n"
    assert evertask(sqlite_db, "tasks", "show", "--key", "nope").stderr == "error: no task with key 'nope'\n"


def test_retry_by_id_queues_the_task_again_and_records_the_actor(sqlite_db: Database) -> None:
    task_id = sqlite_db.stored.failed[0]
    out = succeeds(evertask(sqlite_db, "--actor", "alice", "tasks", "retry", str(task_id))).stdout
    assert out == f"retried {task_id} (cli.Flaky): now queued\n"
    detail = json_of(evertask(sqlite_db, "tasks", "show", str(task_id), "--json"))
    assert detail["status"] == "queued"
    assert detail["attempts"] == 0
    assert len(detail["executions"]) == 2  # the earlier executions are kept
    assert detail["history"][-1]["actor"] == "alice"


def test_retry_of_several_ids_does_those_it_can_and_exits_2_for_the_others(sqlite_db: Database) -> None:
    failed, completed = sqlite_db.stored.failed[0], sqlite_db.stored.completed[0]
    result = evertask(sqlite_db, "tasks", "retry", str(failed), str(completed))
    assert result.exit_code == 2
    assert f"retried {failed}" in result.stdout
    assert f"error: cannot retry task {completed}: it is completed" in result.stderr
    assert statuses(sqlite_db)[failed] == "queued"
    assert statuses(sqlite_db)[completed] == "completed"


def test_retry_with_an_edited_payload_stores_it(sqlite_db: Database) -> None:
    task_id = sqlite_db.stored.failed[2]
    succeeds(evertask(sqlite_db, "tasks", "retry", str(task_id), "--payload", '{"n": 7}'))
    assert json_of(evertask(sqlite_db, "tasks", "show", str(task_id), "--json"))["payload"] == {"n": 7}
    not_an_object = evertask(sqlite_db, "tasks", "retry", str(task_id), "--payload", "[7]")
    assert not_an_object.exit_code == 2
    assert "a payload is a JSON object" in not_an_object.stderr
    two = evertask(sqlite_db, "tasks", "retry", str(task_id), str(task_id), "--payload", "{}")
    assert two.exit_code == 2
    assert "exactly one task id" in two.stderr


def test_bulk_retry_refuses_without_yes_off_a_terminal_and_changes_nothing(sqlite_db: Database) -> None:
    result = evertask(sqlite_db, "tasks", "retry", "--status", "failed")
    assert result.exit_code == 2
    assert "add --yes to go ahead" in result.stderr
    assert [statuses(sqlite_db)[task_id] for task_id in sqlite_db.stored.failed] == ["failed"] * 3


def test_bulk_retry_dry_run_counts_and_yes_retries(sqlite_db: Database) -> None:
    dry = json_of(evertask(sqlite_db, "tasks", "retry", "--status", "failed", "--dry-run", "--json"))
    assert dry == {"action": "retry", "dry_run": True, "count": 3}
    assert [statuses(sqlite_db)[task_id] for task_id in sqlite_db.stored.failed] == ["failed"] * 3
    done = succeeds(evertask(sqlite_db, "tasks", "retry", "--type", "cli.Flaky", "--yes")).stdout
    assert done == "retried 3 tasks\n"
    assert [statuses(sqlite_db)[task_id] for task_id in sqlite_db.stored.failed] == ["queued"] * 3


def test_ids_and_selection_options_together_are_refused(sqlite_db: Database) -> None:
    result = evertask(sqlite_db, "tasks", "retry", str(sqlite_db.stored.failed[0]), "--status", "failed")
    assert result.exit_code == 2
    assert "give task ids or selection options, not both" in result.stderr


def test_cancel_by_id_and_in_bulk(sqlite_db: Database) -> None:
    stored = sqlite_db.stored
    out = succeeds(evertask(sqlite_db, "tasks", "cancel", str(stored.pending))).stdout
    assert out == f"cancelled {stored.pending} (cli.Ping): now cancelled\n"
    again = evertask(sqlite_db, "tasks", "cancel", str(stored.pending))
    assert again.exit_code == 2
    assert "it is cancelled" in again.stderr
    bulk = json_of(evertask(sqlite_db, "tasks", "cancel", "--recurring", "--yes", "--json"))
    assert bulk == {"action": "cancel", "dry_run": False, "count": 1}
    assert statuses(sqlite_db)[stored.series] == "cancelled"


def test_purge_deletes_finished_tasks_older_than_the_age_given(sqlite_db: Database) -> None:
    stored = sqlite_db.stored
    old = evertask(sqlite_db, "tasks", "purge", "--status", "completed", "--older-than", "7d", "--yes")
    assert succeeds(old).stdout == "deleted 0 tasks\n"  # they finished moments ago
    dry = json_of(evertask(sqlite_db, "tasks", "purge", "--status", "completed", "--dry-run", "--json"))
    assert dry == {"action": "purge", "dry_run": True, "count": 2}
    assert (
        succeeds(evertask(sqlite_db, "tasks", "purge", "--status", "completed", "--yes")).stdout == "deleted 2 tasks\n"
    )
    remaining = statuses(sqlite_db)
    assert not set(stored.completed) & set(remaining)
    assert set(stored.failed) <= set(remaining)


def test_purge_never_deletes_waiting_tasks(sqlite_db: Database) -> None:
    result = json_of(evertask(sqlite_db, "tasks", "purge", "--queue", "critical", "--yes", "--json"))
    assert result["count"] == 0
    assert statuses(sqlite_db)[sqlite_db.stored.pending] == "pending"


def test_purge_needs_a_criterion_and_a_valid_age(sqlite_db: Database) -> None:
    everything = evertask(sqlite_db, "tasks", "purge", "--yes")
    assert everything.exit_code == 2
    assert "at least one criterion" in everything.stderr
    bad_age = evertask(sqlite_db, "tasks", "purge", "--status", "completed", "--older-than", "7 days", "--yes")
    assert bad_age.exit_code == 2
    assert "invalid duration: '7 days'" in bad_age.stderr
    assert len(statuses(sqlite_db)) == 7


def test_a_database_without_evertask_tables_is_an_error_saying_to_upgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'typo.db'}"
    result = invoke("--url", url, "status")
    assert result.exit_code == 2
    assert "found no evertask tables" in result.stderr
    assert "run `evertask db upgrade --url URL`" in result.stderr


def test_without_a_url_the_command_says_how_to_give_one() -> None:
    result = invoke("tasks", "list")
    assert result.exit_code == 2
    assert "give the storage URL: evertask --url URL ... or set EVERTASK_URL" in result.stderr
