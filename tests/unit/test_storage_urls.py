"""A malformed storage URL is an InvalidStorageUrlError showing the accepted forms, whichever door it comes in by."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from evertask import EverTask, SyncClient
from evertask.errors import ConfigurationError, InvalidStorageUrlError, without_password
from evertask.storage import MemoryStorage, Storage
from evertask.storage.sql import SqlStorage, storage_from_url

ENTRY_POINTS: dict[str, Callable[[str], object]] = {
    "EverTask.from_url": EverTask.from_url,
    "storage_from_url": storage_from_url,
    "SqlStorage": SqlStorage,
    "SyncClient": SyncClient,
}
MALFORMED = [
    "tasks.db",  # a path, not a URL
    "sqlite://tasks.db",  # two slashes: tasks.db would be a host
    "sqlite:tasks.db",
    "foo://x",  # no such backend
    "",
    "postgresql://user@host:notaport/db",  # SQLAlchemy's own ValueError
    "postgresql+nosuchdriver://user@host/db",  # SQLAlchemy's NoSuchModuleError, at open until now
]


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("url", MALFORMED)
def test_a_malformed_url_is_a_configuration_error_listing_the_accepted_forms(entry: str, url: str) -> None:
    with pytest.raises(InvalidStorageUrlError) as caught:
        ENTRY_POINTS[entry](url)
    assert isinstance(caught.value, ConfigurationError)
    message = str(caught.value)
    for form in ("memory://", "sqlite:///", "postgresql://user:password@host", "mysql://", "mariadb://"):
        assert form in message


@pytest.mark.parametrize("url", ["sqlite://tasks.db", "tasks.db", "sqlite:tasks.db"])
def test_a_sqlite_url_without_its_third_slash_gets_the_right_form_suggested(url: str) -> None:
    with pytest.raises(InvalidStorageUrlError, match=re.escape("use 'sqlite:///tasks.db'")):
        EverTask.from_url(url)


def test_an_absolute_path_is_suggested_with_four_slashes() -> None:
    with pytest.raises(InvalidStorageUrlError, match=re.escape("use 'sqlite:////var/lib/tasks.db'")):
        storage_from_url("/var/lib/tasks.db")


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://app:s3cret@db.internal:notaport/app",
        "postgresql+nosuchdriver://app:s3cret@db.internal/app",
        "foo://app:s3cret@db.internal/app",
        "app:s3cret@db.internal/app",
    ],
)
def test_the_password_of_a_malformed_url_is_masked(url: str) -> None:
    with pytest.raises(InvalidStorageUrlError) as caught:
        SyncClient(url)
    assert "s3cret" not in str(caught.value)
    assert "s3cret" not in caught.value.url
    assert "app:***@db.internal" in str(caught.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:pw@h/db", "postgresql://u:***@h/db"),
        ("postgresql://u:p@ss/word@h/db", "postgresql://u:***@h/db"),  # a password holding @ and /
        ("mysql://u@h:3306/db", "mysql://u@h:3306/db"),
        ("u:pw@h/db", "u:***@h/db"),
        ("sqlite:///tmp/x.db", "sqlite:///tmp/x.db"),
    ],
)
def test_without_password_hides_exactly_the_password(url: str, shown: str) -> None:
    assert without_password(url) == shown


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///{tmp}/tasks.db",
        "sqlite+aiosqlite:///{tmp}/tasks.db",
        "postgresql://user@localhost/db",
        "postgres://user:pw@localhost:5432/db",
        "postgresql+psycopg://user@localhost/db",
        "mysql://user@localhost/db",
        "mysql+asyncmy://user@localhost:3306/db",
        "mariadb://user@localhost/db",
    ],
)
def test_every_documented_form_is_accepted(url: str, tmp_path: Path) -> None:
    storage: Storage = storage_from_url(url.format(tmp=tmp_path))
    assert isinstance(storage, SqlStorage)


def test_memory_takes_nothing_after_it() -> None:
    assert isinstance(storage_from_url("memory://"), MemoryStorage)
    with pytest.raises(InvalidStorageUrlError, match="memory:// takes nothing after it"):
        storage_from_url("memory://tasks")


def test_sql_storage_on_a_memory_url_points_to_memory_storage() -> None:
    with pytest.raises(InvalidStorageUrlError, match="MemoryStorage"):
        SqlStorage("memory://")
