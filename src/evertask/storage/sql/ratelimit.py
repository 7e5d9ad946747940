"""``take_token``: rate-limit buckets and reservations shared by every process on the database.

The arithmetic is :func:`evertask.ratelimit.take_token`; here the bucket's row is read with a row lock, and the
bucket and the holder's reservation are written back in the same transaction. Every reservation of a bucket is
changed under that lock (a bucket without a row is full, and a full bucket reserves nothing), so two processes
never reserve one slot. Two processes meeting a new bucket at once both insert it: one insert fails on the
primary key, and its transaction is retried by the caller, finding the other's row.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from uuid import UUID

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from evertask.ratelimit import RESERVATION_TTL, Bucket, take_token
from evertask.storage.sql.tables import for_update, rate_buckets, rate_reservations

_MAX_NAME = 255
_BUCKET = rate_buckets.c
_SELECT_BUCKET = for_update(select(_BUCKET.full_at).where(_BUCKET.name == bindparam("key")), table=rate_buckets)
_INSERT_BUCKET = insert(rate_buckets)
_UPDATE_BUCKET = update(rate_buckets).where(_BUCKET.name == bindparam("key"))
_DROP_FULL = delete(rate_buckets).where(_BUCKET.full_at <= bindparam("now"))
_HELD = rate_reservations.c
_THIS_HOLDER = (_HELD.bucket == bindparam("key"), _HELD.holder == bindparam("holder_id"))
_SELECT_RESERVATION = select(_HELD.slot).where(*_THIS_HOLDER)
_INSERT_RESERVATION = insert(rate_reservations)
_UPDATE_RESERVATION = update(rate_reservations).where(*_THIS_HOLDER)
_DELETE_RESERVATION = delete(rate_reservations).where(*_THIS_HOLDER)
_DROP_EXPIRED = delete(rate_reservations).where(_HELD.slot < bindparam("expired"))


def bucket_key(name: str) -> str:
    """The row key of bucket ``name``: the name itself, or a digest of it when it is too long for the column."""
    if len(name) <= _MAX_NAME:
        return name
    return "sha256:" + hashlib.sha256(name.encode()).hexdigest()


def take_bucket_token(
    conn: Connection,
    name: str,
    *,
    now: datetime,
    rate: float,
    capacity: int,
    holder: UUID | None = None,
    horizon: float = 0.0,
) -> float:
    """Take one permit from bucket ``name`` (or reserve the holder's slot) in the caller's transaction; see
    :meth:`evertask.storage.base.Storage.take_token`."""
    key = bucket_key(name)
    full_at = conn.execute(_SELECT_BUCKET, {"key": key}).scalar()
    bucket = None if full_at is None else Bucket(full_at)
    held = {"key": key, "holder_id": holder}
    reserved = None if holder is None else conn.execute(_SELECT_RESERVATION, held).scalar()
    take = take_token(bucket, reserved, now=now, rate=rate, capacity=capacity, horizon=horizon)
    if take.bucket is not bucket and take.bucket is not None:
        full_at = take.bucket.full_at
        values = {"full_at": full_at, "updated_at": now, "tokens": capacity - (full_at - now).total_seconds() * rate}
        if bucket is None:
            conn.execute(_INSERT_BUCKET, values | {"name": key})
        else:
            conn.execute(_UPDATE_BUCKET, values | {"key": key})
    if holder is not None and take.reserved != reserved:  # without a holder nothing is reserved, as in memory
        if take.reserved is None:
            conn.execute(_DELETE_RESERVATION, held)
        elif reserved is None:
            conn.execute(_INSERT_RESERVATION, {"bucket": key, "holder": holder, "slot": take.reserved})
        else:  # a reservation forgotten (past its TTL) replaced by a new one
            conn.execute(_UPDATE_RESERVATION, held | {"slot": take.reserved})
    return take.wait


def drop_full_buckets(conn: Connection, now: datetime) -> None:
    """Delete buckets full again by ``now`` (a missing bucket counts as full, so nothing is lost) and the
    reservations forgotten by then."""
    conn.execute(_DROP_FULL, {"now": now})
    conn.execute(_DROP_EXPIRED, {"expired": now - RESERVATION_TTL})
