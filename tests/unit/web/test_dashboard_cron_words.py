"""Common cron expressions in words on the recurring page; anything else stays an expression."""

from __future__ import annotations

import pytest

from evertask.web.dashboard.cronwords import cron_words


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("* * * * *", "every minute"),
        ("*/15 * * * *", "every 15 minutes"),
        ("5 * * * *", "every hour at :05"),
        ("0 */2 * * *", "every 2 hours at :00"),
        ("0 3 * * *", "every day at 03:00"),
        ("30 8 * * 1", "every Monday at 08:30"),
        ("0 9 * * MON-FRI", "Monday to Friday at 09:00"),
        ("30 8 * * 1,3,5", "every Monday, Wednesday and Friday at 08:30"),
        ("0 0 * * 0", "every Sunday at 00:00"),
        ("0 0 * * 7", "every Sunday at 00:00"),
        ("0 0 1 * *", "on day 1 of every month at 00:00"),
    ],
)
def test_common_expressions_read_as_words(expression: str, words: str) -> None:
    assert cron_words(expression) == words


@pytest.mark.parametrize(
    "expression",
    ["0 0 1 1 *", "61 3 * * *", "0 25 * * *", "0 9 * * MON-XYZ", "0 0 1 * 1", "*/5 0 * * *", "0 0 * * * *"],
)
def test_other_expressions_have_no_words(expression: str) -> None:
    assert cron_words(expression) is None
