"""The data plane as the server runs it: the bus worker, its dispatcher and the target senders, built
from the settings (``--sqs-endpoint-url``, ``--sns-endpoint-url``, ``--webhook-allow``,
``--rules-max-event-age-s``, the destination timeouts) and closed together."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Sequence

from ..endpoints import EndpointTimeouts
from ..store.base import EventStore
from .bus import AlarmEvents, DataEventGate, EventBusWorker
from .bus_state import BUS_DB, BusState
from .dispatch import Dispatcher, MetricSink
from .egress import EgressPolicy
from .model import RuleCatalog
from .targets import API_DESTINATION, COMMAND, FILE, SNS, SQS, TargetRouter
from .targets_aws import SnsTargets, SqsTargets
from .targets_http import ApiDestinations
from .local_targets import LocalTargetPolicy
from .targets_local import CommandTargets, FileTargets


class EventBusRuntime:
    """``worker`` (start it; it starts the dispatcher) and everything it owns; :meth:`close` after
    the worker stopped. ``shards``: the rule shards it matches and sends (None: every rule)."""

    def __init__(self, data_dir: Path, store: EventStore, catalog: RuleCatalog, *, egress: EgressPolicy,
                 timeouts: EndpointTimeouts, sqs_endpoint_url: str = "", sns_endpoint_url: str = "",
                 max_event_age_s: float = 3600.0, alarms: AlarmEvents | None = None,
                 metrics: MetricSink | None = None, data_events: DataEventGate | None = None,
                 local_targets: LocalTargetPolicy | None = None, clock: Callable[[], float] = time.time,
                 shards: Sequence[int] | None = None) -> None:
        local_targets = local_targets or LocalTargetPolicy.from_settings(Path(data_dir), "", "")
        self.state = BusState(Path(data_dir) / BUS_DB, shards=shards)
        self.sqs = SqsTargets(sqs_endpoint_url, timeouts)
        self.sns = SnsTargets(sns_endpoint_url, timeouts)
        self.http = ApiDestinations(catalog, egress, timeouts)
        router = TargetRouter({API_DESTINATION: self.http, SQS: self.sqs, SNS: self.sns, FILE: FileTargets(local_targets),
                               COMMAND: CommandTargets(local_targets, timeout_s=timeouts.read_s)})
        self.dispatcher = Dispatcher(self.state, router, clock=clock, dead_letters=self.sqs, metrics=metrics)
        self.worker = EventBusWorker(store, catalog, self.state, self.dispatcher, clock=clock, alarms=alarms,
                                     metrics=metrics, max_event_age_s=max_event_age_s, data_events=data_events,
                                     shards=shards)

    def stop(self) -> None:
        """Stop the worker and the dispatcher, wait for them."""
        self.worker.stop()
        if self.worker.is_alive():
            self.worker.join(timeout=30)

    def close(self) -> None:
        self.http.close()
        self.sqs.close()
        self.sns.close()
        self.state.close()


def runtime_kwargs(settings: Any) -> dict[str, Any]:
    """The runtime's keyword arguments taken from :class:`opentrail.settings.Settings`."""
    return {"sqs_endpoint_url": settings.sqs_endpoint_url, "sns_endpoint_url": settings.sns_endpoint_url,
            "max_event_age_s": settings.rules_max_event_age_s}
