"""``opentrail serve --database-url``: the node's background work, each kind under its lease
(:mod:`.leased_worker`), so several nodes sharing one PostgreSQL database run every kind on exactly
one node at a time and a dead node's work moves within ``--lease-ttl-s``.

The trail work, Lake ingestion, Insights and EventBridge rules are leased per shard
(:mod:`.shards`): a trail's delivery, its Regions' digest chains and its log group delivery are
one unit, in the shard its ARN hashes to; an event data store's ingestion is in the shard of its
ID; an account's Insights in the shard of its ID; a rule's matching and targets in the shard of its
ARN. The other work is leased per worker kind. A node runs one Lake ingestion worker, one Insights
worker and one event bus over the shards whose leases it holds (:class:`~.shard_group.ShardGroup`:
rebuilt when they change, fenced by each held lease), because four workers of a kind on one node
cost a quarter to a third of its ingest rate (docs/benchmarks.md, "Several nodes"). The workers
follow the log through one shared window per node
(:class:`~.store.shared_reads.SharedLogReads`), so several trail shards on one node fetch each
event once:

========================  ===================================================================
lease                     work (a fresh object each time the lease is taken)
========================  ===================================================================
``delivery/0`` .. ``/3``  the trails of that shard: trail delivery
                          (:class:`~.delivery.DeliveryWorker`), digests
                          (:class:`~.digests.DigestWorker`, fed by delivery's ``on_delivered``
                          and waiting on ``delivery_caught_up``) and CloudWatch Logs delivery
                          (:class:`~.delivery.CloudWatchLogsWorker`): coupled, so one lease
``lake/0`` .. ``/3``      Lake ingestion (:class:`~.lake.ingest.LakeIngestWorker`) into the
                          event data stores of that shard (the node's one worker takes the shard)
``lake-imports``          Lake imports (:class:`~.lake.imports.ImportManager`)
``dashboards``            scheduled dashboard refreshes (:class:`~.lake.dashboard_scheduler.DashboardScheduler`)
``insights/0`` .. ``/3``  Insights (:class:`~.insights.worker.InsightsWorker`) of the accounts of
                          that shard (the node's one worker takes the shard)
``alarms``                alarm evaluation and actions (:meth:`~.monitoring.cloudwatch.CloudWatchService.start_alarms`)
``event-bus/0`` .. ``/3`` EventBridge's bus, dispatcher and targets (:class:`~.eventbridge.runtime.EventBusRuntime`)
                          for the rules of that shard (the node's one bus takes the shard)
``retention``             the retention purger (:class:`~.server.RetentionPurger`)
========================  ===================================================================

The leases spread over the live nodes (a fresh heartbeat), :mod:`.lease_balance`: a free lease
goes to a node holding the fewest, and a node holding two more than another hands its latest lease
off (its work stopped, then the lease released) after two heartbeats of imbalance, one at a time;
a lease nobody takes for ``--lease-ttl-s`` is taken by any node. So the nodes hold:

========================  ===================================================================
live nodes                leases held
========================  ===================================================================
1                         all 20 (as without balancing)
2                         10 and 10
3                         7, 7 and 6
4                         5 each
20 or more                1 each (the others none)
========================  ===================================================================

Every node keeps the API-facing objects (trail service, Lake, logs, CloudWatch with its metric
point writer, the event bus's PutEvents, the import manager's StartImport, the Insights counts):
only the background loops move. Workers read new events by polling the store (every 0.05-0.5 s),
so a node's workers see events appended through any node.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .leased_worker import Coordinator, Running, ThreadRunning
from .leases import Leases, new_node_id
from .settings import Settings
from .shard_group import ShardGroup
from .shards import SHARDS, owned_by
from .state_pg import fence_tokens

__all__ = ["DELIVERY_LEASES", "LAKE_LEASES", "INSIGHTS_LEASES", "EVENT_BUS_LEASES", "LEASES", "NodeWork",
           "coordinator_for"]

#: The lease names: one per shard of the trails, of the event data stores, of the accounts'
#: Insights and of the EventBridge rules, then one per other worker kind.
DELIVERY_LEASES = tuple(f"delivery/{shard}" for shard in range(SHARDS))
LAKE_LEASES = tuple(f"lake/{shard}" for shard in range(SHARDS))
INSIGHTS_LEASES = tuple(f"insights/{shard}" for shard in range(SHARDS))
EVENT_BUS_LEASES = tuple(f"event-bus/{shard}" for shard in range(SHARDS))
LEASES = (*DELIVERY_LEASES, *LAKE_LEASES, "lake-imports", "dashboards", *INSIGHTS_LEASES, "alarms", *EVENT_BUS_LEASES,
          "retention")


@dataclass
class NodeWork:
    """The node's shared objects the background work is built from (see :func:`opentrail.server.run_server`)."""

    settings: Settings
    data_dir: Path
    store: Any
    trails: Any
    storage: Any
    keys: Any
    delivery_state: Any
    digest_state: Any
    cwl_state: Any
    notifier: Any
    organizations: Any
    logs: Any
    lake: Any
    lake_files: Any
    dashboards: Any
    monitoring: Any
    eventbridge: Any
    event_bus_kwargs: dict[str, Any]
    lake_group: ShardGroup = field(init=False)
    insights_group: ShardGroup = field(init=False)
    event_bus_group: ShardGroup = field(init=False)

    def __post_init__(self) -> None:
        self.lake_group = ShardGroup("lake ingestion", self._lake_ingest)
        self.insights_group = ShardGroup("insights", self._insights)
        self.event_bus_group = ShardGroup("event bus", self._event_bus)

    def delivery(self, shard: int) -> Running:
        """The trail work of ``shard`` (:mod:`.shards`)."""
        from .delivery import CloudWatchLogsWorker, DeliveryWorker
        from .digests import DigestWorker, delivery_caught_up

        s = self.settings
        owns = owned_by(shard)
        digests = DigestWorker(self.trails, self.storage, self.keys, self.digest_state, clock=time.time,
                               interval_s=s.digest_interval_s, delivery_caught_up=delivery_caught_up(self.delivery_state),
                               owns=owns)
        delivery = DeliveryWorker(self.store, self.trails, self.storage, self.delivery_state, clock=time.time,
                                  interval_s=s.delivery_interval_s, notifier=self.notifier,
                                  on_delivered=digests.recorder.record_log_file, owns=owns)
        cwl = CloudWatchLogsWorker(self.store, self.trails, self.logs, self.delivery_state, self.cwl_state,
                                   clock=time.time, interval_s=s.delivery_interval_s, organizations=self.organizations,
                                   owns=owns)
        delivery.organizations = digests.organizations = self.organizations
        delivery.start()
        cwl.start()
        digests.start()
        return ThreadRunning(delivery, cwl, digests)

    def lake_ingest(self, shard: int) -> Running:
        """Lake ingestion into the event data stores of ``shard``: the node's one ingestion worker
        (:attr:`lake_group`) takes that shard too."""
        return self.lake_group.take(shard)

    def _lake_ingest(self, shards: frozenset[int]) -> Running:
        from .server import start_lake_ingest, stop_lake_ingest

        ingest = start_lake_ingest(self.settings, self.store, self.lake.stores, self.lake_files, shards=sorted(shards),
                                   write_tokens=fence_tokens(LAKE_LEASES))
        return _Stopper(functools.partial(stop_lake_ingest, ingest))

    def lake_imports(self) -> Running:
        from .lake.imports import ImportManager

        imports = ImportManager(self.data_dir, self.lake.files, self.lake.stores, self.storage, time.time)
        imports.start()
        return _Stopper(imports.close)

    def dashboard_refreshes(self) -> Running:
        from .lake.dashboard_scheduler import DashboardScheduler

        scheduler = DashboardScheduler(self.dashboards)
        scheduler.start()
        return ThreadRunning(scheduler)

    def insights(self, shard: int) -> Running:
        """Insights of the accounts of ``shard``: the node's one Insights worker
        (:attr:`insights_group`) takes that shard too."""
        return self.insights_group.take(shard)

    def _insights(self, shards: frozenset[int]) -> Running:
        from .server import insights_worker

        worker: Any = insights_worker(self.data_dir, self.store, self.trails, self.lake.stores, shards=sorted(shards))
        worker.start()
        return ThreadRunning(worker)  # it commits its counts and closes its store when it ends

    def alarms(self) -> Running:
        return self.monitoring.start_alarms()  # type: ignore[no-any-return]

    def event_bus(self, shard: int) -> Running:
        """EventBridge rules of ``shard`` (the CRC-32 of the rule ARN): the node's one bus worker and
        dispatcher (:attr:`event_bus_group`) take that shard too."""
        return self.event_bus_group.take(shard)

    def _event_bus(self, shards: frozenset[int]) -> Running:
        from .eventbridge.runtime import EventBusRuntime

        runtime = EventBusRuntime(self.data_dir, self.store, self.eventbridge, shards=sorted(shards),
                                  **self.event_bus_kwargs)
        runtime.worker.start()

        def stop() -> None:
            runtime.stop()
            runtime.close()

        return _Stopper(stop)

    def retention(self) -> Running:
        from .server import RetentionPurger

        purger = RetentionPurger(self.store, self.settings.event_history_retention_days, lake=self.lake,
                                 monitoring=self.monitoring, logs=self.logs)
        purger.start()
        return ThreadRunning(purger)


class _Stopper:
    def __init__(self, stop: Any) -> None:
        self.stop = stop


def coordinator_for(work: NodeWork, url: str) -> Coordinator:
    """This node's :class:`Coordinator` with a :class:`LeasedWorker` per lease of :data:`LEASES`
    (not started). Raises ValueError for a lease time that is not positive."""
    leases = Leases(work.data_dir, new_node_id(), time.time, ttl_s=work.settings.lease_ttl_s)
    coordinator = Coordinator(leases, url=url)
    starts = [functools.partial(work.delivery, shard) for shard in range(SHARDS)]
    starts += [functools.partial(work.lake_ingest, shard) for shard in range(SHARDS)]
    starts += [work.lake_imports, work.dashboard_refreshes]
    starts += [functools.partial(work.insights, shard) for shard in range(SHARDS)]
    starts += [work.alarms]
    starts += [functools.partial(work.event_bus, shard) for shard in range(SHARDS)]
    starts += [work.retention]
    for name, start in zip(LEASES, starts, strict=True):
        coordinator.supervise(name, start)
    coordinator.before_stop += [work.lake_group.close, work.insights_group.close, work.event_bus_group.close]
    return coordinator
