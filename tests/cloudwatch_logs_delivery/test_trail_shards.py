"""Trail shards and the CloudWatch Logs delivery (:mod:`opentrail.shards`): the worker of one
shard sends its trails' events to their log groups and keeps its own trails' cursors, never
forgetting or redoing another shard's (both state backends)."""

from __future__ import annotations

from pathlib import Path

from opentrail.delivery import CloudWatchLogsState, DeliveringTrailService, DeliveryState
from opentrail.objectstore import LocalFolderStorage
from opentrail.store.memory import MemoryEventStore
from opentrail.shards import owned_by, shard_of
from tests.cloudwatch_logs_delivery.conftest import REGION, CountingLogs, CwlEnv
from tests.delivery.conftest import ACCOUNT, BUCKET, Clock, record


def test_each_shards_worker_sends_its_own_trails_events_and_keeps_the_other_shards_cursors(state_dir: Path) -> None:
    clock, store = Clock(), MemoryEventStore()
    storage = LocalFolderStorage(state_dir / "buckets")
    storage.create_bucket(BUCKET)
    logs = CountingLogs(state_dir, clock)
    state = DeliveryState(state_dir / "delivery.db")
    cwl_state = CloudWatchLogsState(state_dir / "cloudwatch-logs.db")
    trails = DeliveringTrailService(state_dir, storage, clock, state=state, store=store, log_groups=logs)
    env = CwlEnv(state_dir, clock, store, storage, state, cwl_state, logs, trails)
    try:
        arn = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/"
        b_name = next(f"beta{i}" for i in range(100) if shard_of(arn + f"beta{i}") != shard_of(arn + "alpha"))
        for group in ("group-a", "group-b"):
            logs.create_log_group(ACCOUNT, REGION, group)
        a = env.trail("alpha", group="group-a")
        b = env.trail(b_name, group="group-b")
        sa, sb = shard_of(a), shard_of(b)
        assert sa != sb
        sent = [record() for _ in range(3)]
        env.ingest(*sent)
        ids = [r["eventID"] for r in sent]

        worker_a = env.worker(owns=owned_by(sa))
        worker_a.step()
        clock.now += 2
        worker_a.step()
        assert env.event_ids("group-a") == ids and env.event_ids("group-b") == []
        assert set(cwl_state.read_seqs()) == {a}

        worker_b = env.worker(owns=owned_by(sb))
        worker_b.step()
        clock.now += 2
        worker_b.step()
        assert env.event_ids("group-b") == ids
        assert set(cwl_state.read_seqs()) == {a, b}

        # shard A's work restarts elsewhere: B's cursor stays, nothing is sent twice
        again = env.worker(owns=owned_by(sa))
        for _ in range(3):
            again.step()
            clock.now += 2
        assert set(cwl_state.read_seqs()) == {a, b}
        assert env.event_ids("group-a") == ids and env.event_ids("group-b") == ids
        assert cwl_state.pending_plans() == []
    finally:
        state.close()
        cwl_state.close()
        trails.close()
        logs.close()
