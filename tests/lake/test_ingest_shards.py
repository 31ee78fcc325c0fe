"""Lake ingestion per event data store shard (:mod:`opentrail.shards`, each shard with its own
cursor, so that shards can be ingested by different workers): a worker of some shards writes its stores' files only, commits its
shards' cursors only, cleans up after a crash in its stores only, and a worker of every shard
takes over from separate shard workers without writing an event twice or missing one."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest

from opentrail.lake import layout
from opentrail.lake.ingest import IngestState, LakeIngestWorker
from opentrail.lake.schema import record_table
from opentrail.lake.files import write_file
from opentrail.shards import SHARDS, shard_of
from opentrail.leased_worker import inherit_fences
from opentrail.state_pg import Fence, LeaseLost, fence
from opentrail.trails.model import AdvancedFieldSelector, InsightSelector

from .ingest_fakes import eds, record, selector
from .test_ingest import NOW, drain, env, ids, ingest, insight  # noqa: F401  (env: the fixture)


def _id_in(shard: int) -> str:
    return next(i for i in (str(uuid.uuid4()) for _ in range(1000)) if shard_of(i) == shard)


def _two_stores(env: Any) -> tuple[Any, Any]:
    """Stores a and b (every management event) in shards 0 and 2."""
    return env.stores.put(eds(id=_id_in(0))), env.stores.put(eds(id=_id_in(2)))


def _started(env: Any) -> tuple[Any, Any, LakeIngestWorker, LakeIngestWorker]:
    """The two stores and a worker of each one's shard, after a first round (the stores start at
    the log's head)."""
    a, b = _two_stores(env)
    wa, wb = env.worker(shards=(0,)), env.worker(shards=(2,))
    wa.run_once()
    wb.run_once()
    return a, b, wa, wb


def test_the_shard_of_a_store_is_pinned_to_the_crc32_of_its_id() -> None:
    assert SHARDS == 4
    # zlib.crc32(b"...") % 4, computed once: the placement every node and version must agree on
    assert shard_of("00000000-0000-4000-8000-000000000001") == 1  # crc32 1290221185
    assert shard_of("3f7d4a9e-2b1c-4e8f-9a6d-5c0b7e1f2a3d") == 0


def test_each_shard_worker_writes_its_stores_and_commits_its_cursor_only(env: Any) -> None:
    a, b, wa, wb = _started(env)
    first = ingest(env.events, record(), record(), record())
    drain(wa, env.events)
    assert ids(env.root, a.id) == first
    assert ids(env.root, b.id) == []  # not shard 0's store
    assert IngestState(env.root / "ingest.db").cursors() == {0: 3, 1: 0, 2: 0, 3: 0}
    drain(wb, env.events)
    assert ids(env.root, b.id) == first
    assert ids(env.root, a.id) == first  # still once
    assert IngestState(env.root / "ingest.db").cursors() == {0: 3, 1: 0, 2: 3, 3: 0}
    with pytest.raises(ValueError):
        env.worker(shards=(4,))
    with pytest.raises(ValueError):
        env.worker(shards=())


def test_crash_recovery_of_one_shard_leaves_the_other_shards_files_alone(env: Any) -> None:
    a, b, wa, wb = _started(env)
    events = ingest(env.events, record(), record())
    drain(wa, env.events)
    drain(wb, env.events)
    # what b's shard worker had written when it was killed before its cursor committed: a file
    # above the cursor and a temporary file
    table = record_table([(r, orjson.dumps(r)) for r in (record(), record())])
    b_day = layout.day_dir(env.root, b.id, dt.date(2024, 5, 1))
    uncommitted = b_day / layout.file_name(3, 4)
    write_file(table, uncommitted)
    tmp = b_day / ".tmp-5-6.parquet"
    tmp.write_bytes(b"partial")
    env.worker(shards=(0, 1, 3))  # a new worker of the other shards recovers at start: not its store
    assert uncommitted.exists() and tmp.exists()
    env.worker(shards=(2,))  # shard 2's new worker does
    assert not uncommitted.exists() and not tmp.exists()
    assert ids(env.root, b.id) == events and ids(env.root, a.id) == events


def test_a_worker_of_every_shard_takes_over_from_shards_at_different_cursors(env: Any) -> None:
    a, b, wa, wb = _started(env)
    early = ingest(env.events, record(), record())
    drain(wb, env.events)
    late = ingest(env.events, record(), record(), record())
    drain(wa, env.events)  # shard 0 at 5, shard 2 at 2
    assert IngestState(env.root / "ingest.db").cursors() == {0: 5, 1: 0, 2: 2, 3: 0}
    one = env.worker()  # one node again: every shard, reading from the lowest cursor
    assert one.caught_up_seq() == 0
    last = ingest(env.events, record())
    drain(one, env.events)
    assert ids(env.root, a.id) == sorted(early + late + last)  # shard 0's events 3..5 not again
    assert ids(env.root, b.id) == sorted(early + late + last)
    assert IngestState(env.root / "ingest.db").cursors() == {0: 6, 1: 6, 2: 6, 3: 6}


def test_insights_events_reach_a_destination_store_in_another_shard(env: Any) -> None:
    only_insights = selector(AdvancedFieldSelector("eventCategory", equals=("Insight",)))
    destination = env.stores.put(eds(id=_id_in(1), advanced_event_selectors=only_insights))
    source = env.stores.put(eds(id=_id_in(3), multi_region_enabled=False,
                                insight_selectors=(InsightSelector("ApiCallRateInsight"),),
                                insights_destination=destination.arn))
    w1, w3 = env.worker(shards=(1,)), env.worker(shards=(3,))
    w1.run_once()
    w3.run_once()
    calls = ingest(env.events, insight("ApiCallRateInsight"))
    management = ingest(env.events, record())
    drain(w1, env.events)
    drain(w3, env.events)
    assert ids(env.root, destination.id) == calls
    assert ids(env.root, source.id) == management


def test_a_shard_worker_purges_only_its_own_deleted_stores(env: Any, tmp_path: Path) -> None:
    a, b = _two_stores(env)
    w = env.worker()
    w.run_once()
    ingest(env.events, record())
    drain(w, env.events)
    gone_at = NOW - 8 * 86400  # deleted more than 7 days ago
    env.stores.update(a.id, status="PENDING_DELETION", deleted_time=gone_at)
    env.stores.update(b.id, status="PENDING_DELETION", deleted_time=gone_at)
    env.worker(shards=(2,)).purge(NOW)
    assert sorted(env.stores.stores) == [a.id]  # shard 2's store purged, shard 0's kept
    assert layout.store_dir(env.root, a.id).is_dir() and not layout.store_dir(env.root, b.id).exists()
    env.worker(shards=(0,)).purge(NOW)
    assert env.stores.stores == {} and not layout.store_dir(env.root, a.id).exists()


def test_a_worker_that_lost_its_lease_stops_without_writing_or_deleting(env: Any) -> None:
    """Several nodes: a node paused past its ``lake/<shard>`` lease wakes up with its old cursor
    while another node's worker has written and committed the shard's next files. Its next flush
    checks the lease before uploading and gets LeaseLost: the thread ends there, without writing
    the events it read, without the crash recovery that would delete every file above its stale
    cursor, and without a final flush."""
    a = env.stores.put(eds(id=_id_in(0)))
    stale = env.worker(shards=(0,))
    stale.run_once()  # the store starts at the log's head
    first = ingest(env.events, record(), record())
    drain(stale, env.events)
    # the lease moves: the new holder builds its worker from the committed cursor and goes on
    taker = env.worker(shards=(0,))
    second = ingest(env.events, record(), record())
    drain(taker, env.events)
    committed = sorted(p.name for p in layout.data_files(env.root, a.id))
    assert committed == ["1-2.parquet", "3-4.parquet"]
    ingest(env.events, record(), record())  # not yet ingested by the new holder

    def lost(*args: Any) -> None:
        raise LeaseLost("lake/0", 1)

    stale._state.check_lease = lost  # type: ignore[method-assign]  # its fenced writes fail now
    stale._state.set_cursors = lost  # type: ignore[method-assign]
    inherit_fences()
    with fence(Fence("state_lake_ingest", "lake/0", 1)):  # the thread runs under its lease's fence
        stale.start()
    stale.join(timeout=10)
    assert not stale.is_alive()
    assert sorted(p.name for p in layout.store_dir(env.root, a.id).rglob("*.parquet")) == committed
    assert ids(env.root, a.id) == sorted(first + second)


def test_a_late_upload_of_a_node_that_lost_the_lease_is_superseded_then_deleted(env: Any) -> None:
    store = env.stores.put(eds(id=_id_in(0)))
    old = env.worker(shards=(0,), write_tokens={0: 1})  # the node holding lake/0 with token 1
    old.run_once()
    first = ingest(env.events, record(), record())
    drain(old, env.events)
    day = layout.day_dir(env.root, store.id, dt.date(2024, 5, 1))
    assert sorted(p.name for p in day.iterdir()) == ["1-2.t1.parquet"]
    late = [record(), record()]
    later = ingest(env.events, *late) + ingest(env.events, record())
    # the node is paused while it uploads seqs 3-4; its lease expires, another node takes lake/0
    # with token 2 and starts from the cursor (2)
    new = env.worker(shards=(0,), write_tokens={0: 2})
    write_file(record_table([(r, orjson.dumps(r)) for r in late]), day / layout.file_name(3, 4, 0, 1))  # lands now
    assert ids(env.root, store.id) == sorted(first + later[:2])  # read before the new holder writes: once
    drain(new, env.events)
    assert sorted(p.name for p in day.iterdir()) == ["1-2.t1.parquet", "3-4.t1.parquet", "3-5.t2.parquet"]
    assert ids(env.root, store.id) == sorted(first + later)  # each once: 3-4.t1 is superseded
    new.compact_once()
    assert sorted(p.name for p in day.iterdir()) == ["1-2.t1.parquet", "3-5.t2.parquet"]
    assert ids(env.root, store.id) == sorted(first + later)


def test_compaction_merges_committed_files_only_and_keeps_the_highest_token(env: Any) -> None:
    store = env.stores.put(eds(id=_id_in(0)))
    w = env.worker(shards=(0,), write_tokens={0: 1}, compact_min_files=2, compact_every_s=3600.0)
    w.run_once()
    events = []
    for _ in range(2):
        events += ingest(env.events, record())
        drain(w, env.events)
    day = layout.day_dir(env.root, store.id, dt.date(2024, 5, 1))
    stray = [record()]  # a late upload above the cursor (2) that no holder has written again yet
    write_file(record_table([(r, orjson.dumps(r)) for r in stray]), day / layout.file_name(7, 7, 0, 1))
    assert w.compact_once()
    assert sorted(p.name for p in day.iterdir()) == ["1-2.t1.v1.parquet", "7-7.t1.parquet"]
    one = env.worker(shards=(0,), compact_min_files=2, compact_every_s=3600.0)  # one node again: token 0
    assert sorted(p.name for p in day.iterdir()) == ["1-2.t1.v1.parquet"]  # its recovery: above the cursor
    events += ingest(env.events, record())
    drain(one, env.events)
    assert sorted(p.name for p in day.iterdir()) == ["1-2.t1.v1.parquet", "3-3.parquet"]
    assert one.compact_once()
    assert sorted(p.name for p in day.iterdir()) == ["1-3.t1.v2.parquet"]  # not below a token it replaces
    assert ids(env.root, store.id) == sorted(events)


def test_the_fence_gives_each_shard_lease_token() -> None:
    from opentrail.cluster import LAKE_LEASES
    from opentrail.state_pg import Fences, fence_tokens

    assert fence_tokens(LAKE_LEASES) == {}
    with fence(Fences((Fence("s", "lake/2", 7), Fence("s", "insights/1", 9), Fence("s", "lake/0", 5)))):
        assert fence_tokens(LAKE_LEASES) == {0: 5, 2: 7}
    with fence(Fence("s", "lake/3", 4)):
        assert fence_tokens(LAKE_LEASES) == {3: 4}
