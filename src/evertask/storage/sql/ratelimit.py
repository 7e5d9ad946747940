"""``take_token``: rate-limit token buckets shared by every process on the database.

The arithmetic is :func:`evertask.ratelimit.take_token`; here the bucket's row is read with a row lock, and
written back in the same transaction. Two processes meeting a new bucket at once both insert it: one insert
fails on the primary key, and its transaction is retried by the caller, finding the other's row.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from evertask.ratelimit import Bucket, take_token
from evertask.storage.sql.tables import for_update, rate_buckets

_MAX_NAME = 255
_BUCKET = rate_buckets.c
_SELECT_BUCKET = for_update(
    select(_BUCKET.tokens, _BUCKET.updated_at).where(_BUCKET.name == bindparam("key")), table=rate_buckets
)
_INSERT_BUCKET = insert(rate_buckets)
_UPDATE_BUCKET = update(rate_buckets).where(_BUCKET.name == bindparam("key"))
_DROP_FULL = delete(rate_buckets).where(_BUCKET.full_at <= bindparam("now"))


def bucket_key(name: str) -> str:
    """The row key of bucket ``name``: the name itself, or a digest of it when it is too long for the column."""
    if len(name) <= _MAX_NAME:
        return name
    return "sha256:" + hashlib.sha256(name.encode()).hexdigest()


def take_bucket_token(conn: Connection, name: str, *, now: datetime, rate: float, capacity: int) -> float:
    """Take one token from bucket ``name`` in the caller's transaction: 0.0 if taken, else the seconds to wait."""
    key = bucket_key(name)
    row = conn.execute(_SELECT_BUCKET, {"key": key}).first()
    state, wait = take_token(None if row is None else Bucket(*row), now=now, rate=rate, capacity=capacity)
    values = {
        "tokens": state.tokens,
        "updated_at": state.updated_at,
        "full_at": state.updated_at + timedelta(seconds=(capacity - state.tokens) / rate),
    }
    if row is None:
        conn.execute(_INSERT_BUCKET, values | {"name": key})
    else:
        conn.execute(_UPDATE_BUCKET, values | {"key": key})
    return wait


def drop_full_buckets(conn: Connection, now: datetime) -> None:
    """Delete buckets full again by ``now``: a missing bucket counts as full, so nothing is lost."""
    conn.execute(_DROP_FULL, {"now": now})
