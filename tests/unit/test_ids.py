"""Task ids: UUIDv7 (RFC 9562) whose order is the order they were made, in a process and in SQLite's text column."""

from __future__ import annotations

import copy
import itertools
import pickle
import random
import time
import uuid
from uuid import UUID

import pytest

from evertask import EverTask, Handler, Task, TaskContext
from evertask import ids as ids_module
from evertask.ids import new_task_id
from evertask.storage import MemoryStorage

# 2023-11-14T22:13:20.123456789Z: a stamp with a sub-millisecond part to check the layout against.
FROZEN_NS = 1_700_000_000_123_456_789
FROZEN_MS = 1_700_000_000_123
FROZEN_SUB = (456_789 << 12) // 1_000_000  # RFC 9562 method 3: the fraction of the ms, scaled to 12 bits


def ms_of(uid: UUID) -> int:
    """The Unix time in milliseconds a UUIDv7 carries (its top 48 bits)."""
    return uid.int >> 80


def sub_ms_of(uid: UUID) -> int:
    """The 12 bits after the version (rand_a): here, the sub-millisecond time."""
    return (uid.int >> 64) & 0xFFF


def random_bits_of(uid: UUID) -> int:
    """The 62 bits after the variant."""
    return uid.int & ((1 << 62) - 1)


def freeze_clock(monkeypatch: pytest.MonkeyPatch, ns: int, *, last_stamp: int = 0) -> None:
    """Make the ids' clock return ``ns`` forever, as if the last id made had ``last_stamp``.

    ``_last_stamp`` is set through monkeypatch so that it is restored after the test.
    """
    monkeypatch.setattr("evertask.ids.time.time_ns", lambda: ns)
    monkeypatch.setattr(ids_module, "_last_stamp", last_stamp)


def test_an_id_is_a_version_7_uuid_of_the_rfc_variant() -> None:
    uid = new_task_id()
    assert isinstance(uid, UUID)
    assert uid.version == 7
    assert uid.variant == uuid.RFC_4122
    assert str(uid)[14] == "7"  # the version digit, where a reader of the text sees it
    assert str(uid)[19] in "89ab"  # variant 0b10


def test_the_embedded_time_is_the_creation_time_in_milliseconds() -> None:
    before = time.time()
    uid = new_task_id()
    after = time.time()
    # Generous: a second either side (ids are bumped past the last one made, never by more than a hair).
    assert (before - 1) * 1000 <= ms_of(uid) <= (after + 1) * 1000


def test_the_fields_follow_rfc_9562_method_3(monkeypatch: pytest.MonkeyPatch) -> None:
    freeze_clock(monkeypatch, FROZEN_NS)
    uid = new_task_id()
    assert ms_of(uid) == FROZEN_MS
    assert sub_ms_of(uid) == FROZEN_SUB
    assert uid.version == 7
    assert uid.variant == uuid.RFC_4122


def test_ids_made_in_a_tight_loop_strictly_increase() -> None:
    made = [new_task_id() for _ in range(50_000)]
    assert len(set(made)) == len(made)
    assert all(a < b for a, b in itertools.pairwise(made))
    assert sorted(made) == made


def test_their_text_sorts_in_the_order_they_were_made() -> None:
    # SQLite stores ids as dashed text: an index on it must keep the order of making.
    made = [str(new_task_id()) for _ in range(50_000)]
    assert len(set(made)) == len(made)
    assert sorted(made) == made
    assert all(text == text.lower() and len(text) == 36 for text in made)


def test_a_clock_that_stands_still_still_gives_increasing_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    freeze_clock(monkeypatch, FROZEN_NS)
    made = [new_task_id() for _ in range(10_000)]
    assert len(set(made)) == len(made)
    assert sorted(made) == made
    assert sorted(str(uid) for uid in made) == [str(uid) for uid in made]
    # The ids stay valid and close to the clock's time: bumped by 1/4096 ms each, not pushed far ahead.
    assert all(uid.version == 7 and uid.variant == uuid.RFC_4122 for uid in made)
    assert FROZEN_MS <= ms_of(made[-1]) <= FROZEN_MS + 3


def test_a_clock_that_goes_back_a_little_does_not_take_the_ids_back(monkeypatch: pytest.MonkeyPatch) -> None:
    freeze_clock(monkeypatch, FROZEN_NS)
    first = [new_task_id() for _ in range(100)]
    monkeypatch.setattr("evertask.ids.time.time_ns", lambda: FROZEN_NS - 2_000_000_000)  # 2 s earlier (NTP step)
    later = [new_task_id() for _ in range(100)]
    made = first + later
    assert len(set(made)) == len(made)
    assert sorted(made) == made
    assert ms_of(later[0]) >= FROZEN_MS


def test_a_clock_set_back_far_is_followed_and_ids_stay_unique(monkeypatch: pytest.MonkeyPatch) -> None:
    freeze_clock(monkeypatch, FROZEN_NS)
    first = [new_task_id() for _ in range(100)]
    monkeypatch.setattr("evertask.ids.time.time_ns", lambda: FROZEN_NS - 3_600_000_000_000)  # an hour earlier
    later = [new_task_id() for _ in range(100)]
    assert len(set(first + later)) == 200
    assert sorted(later) == later  # in order again among themselves...
    assert ms_of(later[0]) == FROZEN_MS - 3_600_000  # ...carrying the time the clock says, not an hour ahead


def test_the_clock_moving_on_after_standing_still_keeps_the_order(monkeypatch: pytest.MonkeyPatch) -> None:
    freeze_clock(monkeypatch, FROZEN_NS)
    still = [new_task_id() for _ in range(5_000)]  # about 1.2 ms of bumps past the frozen time
    monkeypatch.setattr("evertask.ids.time.time_ns", lambda: FROZEN_NS + 1_000)  # a microsecond later
    after = [new_task_id() for _ in range(100)]
    made = still + after
    assert sorted(made) == made
    monkeypatch.setattr("evertask.ids.time.time_ns", lambda: FROZEN_NS + 10_000_000)  # 10 ms later
    moved_on = new_task_id()
    assert moved_on > made[-1]
    assert ms_of(moved_on) == FROZEN_MS + 10  # once the clock is ahead of the bumps, ids carry its time again


def test_ids_with_the_same_clock_and_the_same_random_state_still_differ(monkeypatch: pytest.MonkeyPatch) -> None:
    # What a forked worker sees: its parent's last stamp and its parent's `random` state.
    freeze_clock(monkeypatch, FROZEN_NS)
    random.seed(1234)
    in_parent = new_task_id()
    monkeypatch.setattr(ids_module, "_last_stamp", 0)
    random.seed(1234)
    in_child = new_task_id()
    assert in_parent.int >> 64 == in_child.int >> 64  # the same time fields...
    assert in_parent != in_child  # ...yet other random bits


def test_the_random_bits_vary() -> None:
    randoms = {random_bits_of(new_task_id()) for _ in range(1_000)}
    assert len(randoms) == 1_000


def test_an_id_round_trips_through_its_text() -> None:
    uid = new_task_id()
    again = UUID(str(uid))
    assert again == uid
    assert again.int == uid.int
    assert again.version == 7
    assert UUID(hex=uid.hex) == uid
    assert UUID(bytes=uid.bytes) == uid


def test_an_id_round_trips_through_pickle_and_copy() -> None:
    uid = new_task_id()
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        again = pickle.loads(pickle.dumps(uid, protocol=protocol))
        assert again == uid
        assert hash(again) == hash(uid)
        assert again.version == 7
    assert copy.copy(uid) == uid
    assert copy.deepcopy(uid) == uid


def test_an_id_equals_and_hashes_like_a_uuid_built_from_its_int() -> None:
    uid = new_task_id()
    built = UUID(int=uid.int)  # validates the range, which new_task_id skips
    assert uid == built
    assert built == uid
    assert hash(uid) == hash(built)
    assert {uid: "task"}[built] == "task"
    assert str(uid) == str(built)
    assert repr(uid) == repr(built)
    assert uid.is_safe == built.is_safe
    assert not uid < built
    assert not built < uid


class Ping(Task):
    n: int


class PingHandler(Handler[Ping]):
    async def handle(self, task: Ping, ctx: TaskContext) -> None:
        pass


async def test_dispatched_tasks_get_increasing_version_7_ids() -> None:
    app = EverTask(MemoryStorage(), run_worker=False)
    app.register(PingHandler)
    async with app:
        before = time.time()
        one_by_one = [await app.dispatch(Ping(n=n)) for n in range(20)]
        batch = await app.dispatch_many([Ping(n=n) for n in range(20)])
        after = time.time()
        made = one_by_one + batch
        assert all(isinstance(uid, UUID) and uid.version == 7 for uid in made)
        assert all(uid.variant == uuid.RFC_4122 for uid in made)
        assert len(set(made)) == len(made)
        assert sorted(made) == made
        assert all((before - 1) * 1000 <= ms_of(uid) <= (after + 1) * 1000 for uid in made)
        for uid in (made[0], made[-1]):
            record = await app.get(uid)
            assert record is not None
            assert record.id == uid
