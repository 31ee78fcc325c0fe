"""ShardGroup (:mod:`opentrail.shard_group`): one worker for the shards a node holds, rebuilt on each
change of them, under the fences of every held shard's lease (:class:`opentrail.state_pg.Fences`,
checked on the real PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from opentrail.leases import Leases
from opentrail.shard_group import ShardGroup
from opentrail.state_db import open_state_db
from opentrail.state_pg import Fence, Fences, LeaseLost, current_fence, fence
from tests.state_backends import HandClock as Clock


class Workers:
    """A ``build`` that notes what happens, in order, and the fence each worker was built under."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.fences: list[object] = []
        self.fail: set[frozenset[int]] = set()

    def build(self, shards: frozenset[int]) -> "Workers.Running":
        if shards in self.fail:
            self.log.append(f"failed {sorted(shards)}")
            raise RuntimeError("storage down")
        self.log.append(f"start {sorted(shards)}")
        self.fences.append(current_fence())
        return Workers.Running(self, shards)

    class Running:
        def __init__(self, workers: "Workers", shards: frozenset[int]) -> None:
            self.workers, self.shards = workers, shards

        def stop(self) -> None:
            self.workers.log.append(f"stop {sorted(self.shards)}")


def test_one_worker_runs_the_held_shards_and_is_rebuilt_on_each_change() -> None:
    workers = Workers()
    group = ShardGroup("lake ingestion", workers.build)
    held0 = group.take(0)
    held2 = group.take(2)
    assert group.shards == {0, 2}
    held2.stop()
    held2.stop()  # a second stop changes nothing
    held3 = group.take(3)
    held0.stop()
    held3.stop()
    assert group.shards == frozenset() and group.builds == 5
    assert workers.log == ["start [0]", "stop [0]", "start [0, 2]", "stop [0, 2]", "start [0]",
                           "stop [0]", "start [0, 3]", "stop [0, 3]", "start [3]", "stop [3]"]
    assert workers.fences == [None] * 5  # SQLite leases: nothing to fence


def test_a_shard_whose_worker_cannot_be_built_is_not_added() -> None:
    workers = Workers()
    group = ShardGroup("insights", workers.build)
    group.take(1)
    workers.fail.add(frozenset({1, 2}))
    with pytest.raises(RuntimeError, match="storage down"):
        group.take(2)
    assert group.shards == {1}
    assert workers.log == ["start [1]", "stop [1]", "failed [1, 2]", "start [1]"]


@pytest.mark.parametrize("state_backend", ["postgres"])
def test_the_worker_is_fenced_by_every_held_shard_and_a_lost_one_is_named(state_dir: Path) -> None:
    clock = Clock(1_700_000_000.0)
    a, b = Leases(state_dir, "node-a", clock, ttl_s=10), Leases(state_dir, "node-b", clock, ttl_s=10)
    work = open_state_db(state_dir / "work.db")
    work.executescript("CREATE TABLE IF NOT EXISTS done (who TEXT NOT NULL);")
    workers = Workers()
    group = ShardGroup("lake ingestion", workers.build)
    fences: dict[int, Fence] = {}
    for shard in (0, 1):
        token = a.acquire(f"lake/{shard}")
        assert token == 1
        f = a.fence(f"lake/{shard}", token)
        assert f is not None
        fences[shard] = f
        with fence(f):
            group.take(shard)
    built = workers.fences[-1]
    assert built == Fences((fences[0], fences[1]))
    with fence(built):  # type: ignore[arg-type]
        work.execute("INSERT INTO done (who) VALUES (?)", ("a, both held",))  # type: ignore[attr-defined]
    clock.now += 11  # a is paused past its leases; b takes lake/1 over (lake/0 expired, not taken)
    assert b.acquire("lake/1") == 2
    with fence(built):  # type: ignore[arg-type]
        with pytest.raises(LeaseLost, match="lease 'lake/1' is no longer held with token 1"):
            work.execute("INSERT INTO done (who) VALUES (?)", ("a, late",))  # type: ignore[attr-defined]
    assert fences[1].lost.is_set() and not fences[0].lost.is_set()
    assert [tuple(r) for r in work.execute("SELECT who FROM done").fetchall()] == [("a, both held",)]  # type: ignore[attr-defined]
    for x in (a, b, work):
        x.close()  # type: ignore[attr-defined]


def test_a_closed_group_stops_its_worker_and_builds_none_again() -> None:
    workers = Workers()
    group = ShardGroup("lake ingestion", workers.build)
    held = [group.take(shard) for shard in (0, 1, 2)]
    group.close()  # the node stops: then its leases are released one by one
    for h in held:
        h.stop()
    late = group.take(3)  # a lease taken while the node stops
    late.stop()
    assert workers.log == ["start [0]", "stop [0]", "start [0, 1]", "stop [0, 1]", "start [0, 1, 2]",
                           "stop [0, 1, 2]"]
    assert group.shards == frozenset()
