"""The tasks list's filter in the URL: what a bookmark holds, and what a bad one says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from evertask.errors import InvalidFilterError
from evertask.task import TaskStatus
from evertask.web.dashboard.forms import describe, list_view, parse_query

NOW = datetime(2031, 3, 4, 5, 6, 7, tzinfo=UTC)


def test_the_url_holds_the_filter_and_its_order() -> None:
    view = list_view(
        parse_query("status=failed&status=cancelled&queue=mail&q=timeout&range=1h&sort=finished&order=asc"), now=NOW
    )

    assert view.filter.status == [TaskStatus.failed, TaskStatus.cancelled]
    assert view.filter.queue == ["mail"]
    assert view.filter.search == "timeout"
    assert view.filter.created_after == NOW - timedelta(hours=1)
    assert (view.sort, view.descending) == ("finished", False)
    assert view.query == "status=failed&status=cancelled&queue=mail&q=timeout&range=1h"
    assert view.url(cursor="abc") == f"/tasks?{view.query}&sort=finished&order=asc&cursor=abc"


def test_empty_fields_are_no_filter() -> None:
    view = list_view(parse_query("q=&queue=&status=failed"), now=NOW)

    assert view.query == "status=failed"
    assert view.filter.queue is None
    assert view.filter.search is None


def test_a_time_without_offset_is_utc() -> None:
    view = list_view(parse_query("from=2031-03-01T09:00&to=2031-03-02T09:00"), now=NOW)

    assert view.filter.created_after == datetime(2031, 3, 1, 9, tzinfo=UTC)
    assert view.filter.created_before == datetime(2031, 3, 2, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("status=done", "no status 'done'"),
        ("range=2y", "range is one of"),
        ("sort=type", "sort by one of"),
        ("from=yesterday", "from: not a date"),
        ("recurring=maybe", "recurring is yes or no"),
    ],
)
def test_a_bad_filter_names_what_is_wrong(query: str, message: str) -> None:
    with pytest.raises(InvalidFilterError, match=message):
        list_view(parse_query(query), now=NOW)


def test_a_filter_in_words_for_a_confirmation() -> None:
    view = list_view(parse_query("status=failed&queue=mail&queue=sms&q=boom"), now=NOW)

    assert describe(view.filter) == "status failed, queue mail or sms, matching “boom”"
