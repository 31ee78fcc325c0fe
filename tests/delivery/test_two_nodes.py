"""Two nodes on one state database (``state_dir``, both backends): trails started and stopped
through one node's trail service are delivered by the other node's worker, which notices the
change by itself (trail and mark versions follow the database) and adds no marks of its own."""

from __future__ import annotations

import time
from pathlib import Path

from opentrail.delivery import DeliveringTrailService, DeliveryState, DeliveryWorker
from opentrail.delivery.state import Mark
from opentrail.objectstore import LocalFolderStorage
from opentrail.store.memory import MemoryEventStore
from opentrail.trails import TrailSettings
from opentrail.state_watch import PG_RECHECK_S
from tests.delivery.conftest import ACCOUNT, BUCKET, Clock, Env, record


def test_a_trail_changed_on_one_node_is_delivered_by_the_other_nodes_worker(state_dir: Path) -> None:
    clock, store = Clock(), MemoryEventStore()
    storage = LocalFolderStorage(state_dir / "buckets")
    storage.create_bucket(BUCKET)
    nodes = []
    for _ in range(2):
        state = DeliveryState(state_dir / "delivery.db")
        nodes.append(Env(state_dir, clock, store, storage, state,
                         DeliveringTrailService(state_dir, storage, clock, state=state, store=store)))
    api, delivering = nodes
    worker = DeliveryWorker(store, delivering.trails, storage, delivering.state, clock=clock, interval_s=2.0)
    assert worker.step() == 0
    arn = api.trails.create_trail(ACCOUNT, "us-east-1", "main", TrailSettings(s3_bucket_name=BUCKET)).arn
    api.trails.start_logging(ACCOUNT, "us-east-1", "main")
    logged = [record(), record()]
    api.ingest(*logged)
    taken = [r["eventID"] for r in logged]
    time.sleep(PG_RECHECK_S)
    assert worker.step() == 2
    clock.now += 2
    worker.step()
    assert delivering.delivered_ids() == taken
    api.trails.stop_logging(ACCOUNT, "us-east-1", "main")
    api.ingest(record())
    time.sleep(PG_RECHECK_S)
    worker.step()
    clock.now += 2
    worker.step()
    assert delivering.delivered_ids() == taken
    assert delivering.state.marks() == {arn: [Mark(0, True), Mark(2, False)]}
    for node in nodes:
        node.trails.close()
        node.state.close()
