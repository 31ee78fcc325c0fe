"""CloudWatch metrics and alarms as one service: what the CloudWatch API handlers and the CloudWatch
Logs metric filters call.

:class:`CloudWatchService` owns the metric store (``metrics.db``), the alarm store (``alarms.db``:
alarms, history, tags, pending actions, state-change events), the alarm scheduler and the action
runner. Every state change of an alarm -- by an evaluation or by SetAlarmState -- is written in one
transaction with its ``StateUpdate`` history item, its EventBridge event (the outbox
:meth:`SqliteAlarmStore.events_after` reads) and, when the state value changed and the alarm's
actions are enabled, one pending SNS action per topic of the new state; the action runner then
publishes them (retrying until delivered, see :mod:`.alarm_actions`). Actions run only on
transitions.

Writes made by API calls go through :meth:`staged_changes` (see :mod:`opentrail.staging`): they are
made once the call's CloudTrail record is durable. :meth:`put_metric_points` (metric filters) writes
at once. Errors raised are :mod:`.errors` classes. Times come from the injected ``clock`` (epoch
seconds); ``start()`` runs the scheduler and the action runner on their threads, ``tick()`` runs
them once on the caller's thread (tests move the clock and tick). With several nodes
(:mod:`opentrail.leased_worker`) each node runs its point writer (``start(alarms=False)``) and
the node holding the ``alarms`` lease :meth:`start_alarms`: a fresh scheduler and action runner.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Callable, ContextManager

from ..endpoints import EndpointTimeouts
from ..staging import Staging
from . import alarm_eval, alarm_store, metric_store
from .alarm_actions import AlarmActionRunner, Publisher, SnsPublisher
from .alarm_model import AlarmConfig
from .alarm_message import StateChange, eventbridge_event, sns_message, sns_subject
from .alarm_scheduler import AlarmKey, AlarmScheduler
from .alarm_store import AlarmStateUpdate, PendingAction, SqliteAlarmStore
from .alarm_validation import MetricAlarmDefinition
from .alarms import CONFIGURATION_UPDATE, STATE_UPDATE, HistoryItem, MetricAlarm
from .errors import InvalidFormat, InvalidParameterValue, LimitExceeded, ResourceNotFound
from .javajson import dumps
from .metric_data import MetricDatum, add_datum
from .metric_store import SqliteMetricStore
from .statistics import SIMPLE_STATISTICS, Aggregate

#: Metric alarms per account and Region (opentrail's limit, answered with LimitExceeded).
MAX_ALARMS = 5000
#: Metric filter points are written at most this long after they arrive (seconds), ...
POINT_FLUSH_S = 0.05
#: ... or at once when this many wait.
POINT_BATCH = 5000
#: PutMetricData accepts timestamps up to two weeks old and two hours ahead.
MAX_AGE_S = 14 * 86400
MAX_AHEAD_S = 2 * 3600
#: Tags per alarm (TagResource: "You can associate as many as 50 tags with a CloudWatch resource").
MAX_TAGS = 50

log = logging.getLogger(__name__)

MetricKey = tuple[str, str, str, str, tuple[tuple[str, str], ...]]


def _too_many_alarms() -> LimitExceeded:
    return LimitExceeded(f"The maximum number of alarms ({MAX_ALARMS}) for this account and Region has been reached.")


def metric_key(account_id: str, region: str, namespace: str, metric_name: str,
               dimensions: Mapping[str, str]) -> MetricKey:
    return (account_id, region, namespace, metric_name, tuple(sorted(dimensions.items())))


def check_metric_data(data: Sequence[MetricDatum], now_s: float) -> None:
    """Raise the metric store's error for a malformed datum before anything is written, and
    InvalidParameterValue for timestamps more than two weeks old or two hours ahead of ``now_s``
    (AWS's rule and words, one line per member: ``The parameter MetricData.member.1.Timestamp must
    specify a time within the past two weeks.`` / ``... must specify a time no more than two hours
    in the future.``)."""
    late = [f"The parameter MetricData.member.{i}.Timestamp must specify a time within the past two weeks."
            if d.timestamp_s < now_s - MAX_AGE_S else
            f"The parameter MetricData.member.{i}.Timestamp must specify a time no more than two hours in the future."
            for i, d in enumerate(data, 1) if not now_s - MAX_AGE_S <= d.timestamp_s <= now_s + MAX_AHEAD_S]
    if late:
        raise InvalidParameterValue("\n".join(late))
    for index, datum in enumerate(data, 1):
        add_datum(Aggregate(), datum, index)


class CloudWatchService:
    """See the module docstring. ``publish`` replaces the SNS publisher (tests)."""

    def __init__(self, data_dir: Path, clock: Callable[[], float] = time.time, *, sns_endpoint_url: str = "",
                 timeouts: EndpointTimeouts = EndpointTimeouts(), publish: Publisher | None = None) -> None:
        self._clock = clock
        self.metrics = SqliteMetricStore(Path(data_dir) / metric_store.FILE_NAME, clock)
        self.alarms = SqliteAlarmStore(Path(data_dir) / alarm_store.FILE_NAME)
        self._sns = SnsPublisher(sns_endpoint_url, timeouts) if publish is None else None
        self._publish = publish or self._sns
        self.actions = AlarmActionRunner(self.alarms, self._publish, clock)  # type: ignore[arg-type]
        self.scheduler = AlarmScheduler(self._evaluated_configs, self.evaluate, clock)
        self._lock = threading.RLock()
        self._staging = Staging(self._lock)
        self._by_metric: dict[MetricKey, set[AlarmKey]] = {}
        self._points: list[tuple[str, str, MetricDatum]] = []
        self._points_lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._points_ready = threading.Event()
        self._stopping = threading.Event()
        self._writer: threading.Thread | None = None
        self._indexed_at = -1  # the alarm store's generation _by_metric was built at
        self._reindex()

    # --- life cycle ----------------------------------------------------------------------------

    def start(self, alarms: bool = True) -> None:
        """Run the point writer, and (``alarms``) the scheduler and the action runner, on their
        threads."""
        self._writer = threading.Thread(target=self._write_points, name="opentrail-metric-points", daemon=True)
        self._writer.start()
        if alarms:
            self.scheduler.start()
            self.actions.start()

    def start_alarms(self) -> "AlarmsRunning":
        """A fresh alarm scheduler and action runner (alarms are evaluated from ``alarms.db`` at
        once, pending actions resume), started; stop them with the returned handle's ``stop()``."""
        self.actions = AlarmActionRunner(self.alarms, self._publish, self._clock)  # type: ignore[arg-type]
        self.scheduler = AlarmScheduler(self._evaluated_configs, self.evaluate, self._clock)
        self.scheduler.start()
        self.actions.start()
        return AlarmsRunning(self.scheduler, self.actions)

    def tick(self) -> None:
        """Write the waiting metric filter points, evaluate the alarms due and attempt the actions
        due, now, on this thread."""
        self.flush_points()
        self.scheduler.run_due()
        self.actions.run_due()

    def close(self) -> None:
        self._stopping.set()
        self._points_ready.set()
        if self._writer is not None:
            self._writer.join(timeout=30)
        self.flush_points()
        self.scheduler.stop()
        self.actions.stop()
        if self._sns is not None:
            self._sns.close()
        self.alarms.close()
        self.metrics.close()

    def housekeeping(self) -> None:
        """CloudWatch's retention, at the clock's time: metric rollups folded or dropped by age
        (:meth:`SqliteMetricStore.compact`) and alarm history older than 30 days deleted. Run it
        hourly (the server's retention thread does)."""
        self.metrics.compact()
        self.alarms.purge_history(self._clock() - alarm_store.HISTORY_RETENTION_S)

    def staged_changes(self) -> ContextManager[Callable[[], None]]:
        """Hold the service lock and stage this thread's writes until ``commit`` (the API records
        the call in between)."""
        return self._staging.changes()

    # --- metrics -------------------------------------------------------------------------------

    def now(self) -> float:
        """The service's clock (epoch seconds): PutMetricData's default Timestamp."""
        return self._clock()

    def put_metric_data(self, account_id: str, region: str, data: Sequence[MetricDatum]) -> None:
        """PutMetricData: store ``data`` (checked first: InvalidParameterValue /
        InvalidParameterCombination, :func:`check_metric_data`) and evaluate the alarms on these
        metrics promptly."""
        check_metric_data(data, self._clock())
        keys = {metric_key(account_id, region, d.namespace, d.metric_name, d.dimensions) for d in data}

        def write() -> None:
            self.metrics.put_many(account_id, region, data)
            self._metric_changed(keys)

        self._staging.apply(write)

    def put_metric_points(self, account_id: str, region: str, namespace: str, metric_name: str,
                          dimensions: Mapping[str, str], timestamp_s: float, value: float,
                          unit: str | None = None) -> None:
        """One data point from a metric filter (CloudWatch Logs). Returns at once: points are
        written in batches by the point writer (every :data:`POINT_FLUSH_S`, one transaction per
        account and Region; :meth:`flush_points` writes them now), at one-second resolution (so 10-,
        20- and 30-second alarms see each point in its own period), and the alarms on their metrics
        are then evaluated promptly. Raises InvalidParameterValue for a value CloudWatch refuses
        (NaN, infinite, beyond 2^360)."""
        datum = MetricDatum(namespace, metric_name, dict(dimensions), timestamp_s, value=value, unit=unit,
                            storage_resolution=1)
        add_datum(Aggregate(), datum, 1)
        with self._points_lock:
            self._points.append((account_id, region, datum))
            full = len(self._points) >= POINT_BATCH
        if full:
            self.flush_points()
        else:
            self._points_ready.set()

    def flush_points(self) -> int:
        """Write the metric filter points waiting, and make their alarms due; returns how many."""
        with self._flush_lock:
            with self._points_lock:
                points, self._points = self._points, []
                self._points_ready.clear()
            if not points:
                return 0
            by_scope: dict[tuple[str, str], list[MetricDatum]] = {}
            for account_id, region, datum in points:
                by_scope.setdefault((account_id, region), []).append(datum)
            for (account_id, region), data in by_scope.items():
                self.metrics.put_many(account_id, region, data)
            self._metric_changed({metric_key(a, r, d.namespace, d.metric_name, d.dimensions) for a, r, d in points})
            return len(points)

    def _write_points(self) -> None:
        while not self._stopping.is_set():
            self._points_ready.wait(1.0)
            time.sleep(POINT_FLUSH_S)  # gather what arrives meanwhile into the same transaction
            try:
                self.flush_points()
            except Exception:  # the points of a failed batch are lost, never the thread
                log.exception("metric filter data points could not be written")

    def _evaluated_configs(self) -> list[tuple[AlarmKey, AlarmConfig]]:
        return [((a.account_id, a.region, a.name), a.config()) for a in self.alarms.alarms()]

    def _reindex(self) -> None:
        """Build ``_by_metric`` again when the alarm store read its alarms again (another node
        changed them). Takes no lock of the service (the point writer calls it): the index is
        replaced whole."""
        generation = self.alarms.generation()
        if generation != self._indexed_at:
            by_metric: dict[MetricKey, set[AlarmKey]] = {}
            for alarm in self.alarms.alarms():
                by_metric.setdefault(alarm.metric_key, set()).add((alarm.account_id, alarm.region, alarm.name))
            self._by_metric, self._indexed_at = by_metric, generation

    def _metric_changed(self, keys: set[MetricKey]) -> None:
        self._reindex()
        alarms = [a for k in keys for a in self._by_metric.get(k, ())]
        if alarms:
            self.scheduler.metric_changed(alarms)

    def _index(self, alarm: MetricAlarm) -> None:
        self._by_metric.setdefault(alarm.metric_key, set()).add((alarm.account_id, alarm.region, alarm.name))

    def _unindex(self, alarm: MetricAlarm) -> None:
        keys = self._by_metric.get(alarm.metric_key)
        if keys is not None:
            keys.discard((alarm.account_id, alarm.region, alarm.name))
            if not keys:
                del self._by_metric[alarm.metric_key]

    # --- alarms: configuration -----------------------------------------------------------------

    def put_metric_alarm(self, account_id: str, region: str, definition: MetricAlarmDefinition) -> MetricAlarm:
        """Create the alarm, or update it keeping its state (PutMetricAlarm). Tags are added on
        creation only, as AWS does. Raises LimitExceeded past :data:`MAX_ALARMS`."""
        now = self._clock()
        with self._lock:
            old = self.alarms.get(account_id, region, definition.alarm_name)
            alarm = MetricAlarm.from_definition(definition, account_id, region, now)
            if old is None:
                if self.alarms.count(account_id, region) >= MAX_ALARMS:
                    raise _too_many_alarms()
                kind, summary, data = "Create", f'Alarm "{alarm.name}" created', {"createdAlarm": history_alarm(alarm)}
            else:
                alarm = alarm.replace(state_value=old.state_value, state_reason=old.state_reason,
                                      state_reason_data=old.state_reason_data, state_updated_s=old.state_updated_s,
                                      state_transitioned_s=old.state_transitioned_s)
                kind, summary = "Update", f'Alarm "{alarm.name}" updated'
                data = {"originalUpdatedAlarm": history_alarm(old), "updatedAlarm": history_alarm(alarm)}
            item = HistoryItem(alarm.name, now, CONFIGURATION_UPDATE, summary,
                               dumps({"version": "1.0", "type": kind, **data}))
            tags = dict(definition.tags) if old is None else {}

            def write() -> None:
                self.alarms.put_alarm(alarm, [item], limit=(MAX_ALARMS, _too_many_alarms))
                if tags:
                    self.alarms.tag(alarm.arn, tags)
                if old is not None:
                    self._unindex(old)
                self._index(alarm)
                self.scheduler.alarms_changed([(account_id, region, alarm.name)])

            self._staging.apply(write)
        return alarm

    def delete_alarms(self, account_id: str, region: str, names: Sequence[str]) -> None:
        """DeleteAlarms: the alarms named that exist are deleted (names that do not are ignored);
        their history stays."""
        now = self._clock()
        with self._lock:
            found = [a for a in (self.alarms.get(account_id, region, n) for n in dict.fromkeys(names)) if a]
            items = [HistoryItem(a.name, now, CONFIGURATION_UPDATE, f'Alarm "{a.name}" deleted',
                                 dumps({"version": "1.0", "type": "Delete", "deletedAlarm": history_alarm(a)}))
                     for a in found]

            def write() -> None:
                self.alarms.delete_alarms(account_id, region, [a.name for a in found], items)
                for alarm in found:
                    self._unindex(alarm)
                self.scheduler.alarms_changed([(account_id, region, a.name) for a in found])

            if found:
                self._staging.apply(write)

    def set_actions_enabled(self, account_id: str, region: str, names: Sequence[str], enabled: bool) -> None:
        """EnableAlarmActions / DisableAlarmActions on the alarms named that exist."""
        now = self._clock()
        with self._lock:
            changed = [a.replace(actions_enabled=enabled, configuration_updated_s=now)
                       for a in (self.alarms.get(account_id, region, n) for n in dict.fromkeys(names)) if a]

            def write() -> None:
                for alarm in changed:
                    self.alarms.put_alarm(alarm)

            if changed:
                self._staging.apply(write)

    def alarm(self, account_id: str, region: str, name: str) -> MetricAlarm | None:
        return self.alarms.get(account_id, region, name)

    def alarm_by_arn(self, arn: str) -> MetricAlarm | None:
        """The alarm whose ARN is ``arn``, or None."""
        parts = arn.split(":", 6)
        if len(parts) != 7 or parts[2] != "cloudwatch" or parts[5] != "alarm":
            return None
        return self.alarms.get(parts[4], parts[3], parts[6])

    def tag(self, arn: str, tags: Mapping[str, str]) -> None:
        """TagResource on an alarm's ARN (the caller checked it exists)."""
        self._staging.apply(lambda: self.alarms.tag(arn, dict(tags)))

    def untag(self, arn: str, keys: Sequence[str]) -> None:
        """UntagResource on an alarm's ARN."""
        self._staging.apply(lambda: self.alarms.untag(arn, list(keys)))

    # --- alarms: state -------------------------------------------------------------------------

    def set_alarm_state(self, account_id: str, region: str, name: str, state: str, reason: str,
                        reason_data: str | None) -> None:
        """SetAlarmState: the state is set (actions run when it changes); the next evaluation sets
        it back to what the data says. Raises InvalidFormat when ``reason_data`` is not JSON and
        ResourceNotFound for an unknown alarm."""
        if reason_data is not None:
            try:
                json.loads(reason_data)
            except ValueError:
                raise InvalidFormat("Unrecognized stateReasonData: it must be a JSON document.") from None
        with self._lock:
            alarm = self.alarms.get(account_id, region, name)
            if alarm is None:
                raise ResourceNotFound(f"Alarm {name} not found")
            now = self._clock()
            self._staging.apply(lambda: self._transition(alarm, state, reason, reason_data, now))

    def evaluate(self, key: AlarmKey, now_s: float) -> None:
        """Evaluate one alarm at ``now_s`` (the scheduler's call) and record a change of state."""
        alarm = self.alarms.get(*key)
        if alarm is None:
            return
        config = alarm.config()
        start, end = alarm_eval.query_window(config, now_s)
        simple = config.stat in SIMPLE_STATISTICS
        points = self.metrics.statistics(
            alarm.account_id, alarm.region, alarm.namespace or "", alarm.metric_name or "", dict(alarm.dimensions),
            start, end, config.period_s, statistics=[config.stat] if simple else (),
            extended=() if simple else [config.stat], unit=config.unit, align_start=False, limit=None)
        slots = alarm_eval.slots_from_datapoints(config, start, points)
        outcome = alarm_eval.evaluate(config, slots, alarm.state_value, now_s)
        if not outcome.changed or outcome.reason is None:
            return
        reason, reason_data = outcome.reason, outcome.reason_data
        with self._lock:
            current = self.alarms.get(*key)
            if current is None or current != alarm:  # changed meanwhile: the next evaluation decides
                return
            self._staging.apply(lambda: self._transition(current, outcome.state, reason, reason_data, now_s))

    def _transition(self, alarm: MetricAlarm, state: str, reason: str, reason_data: str | None,
                    now_s: float) -> None:
        """Write a state change of ``alarm`` (module docstring); called under the service lock."""
        moved = state != alarm.state_value
        new = alarm.replace(state_value=state, state_reason=reason, state_reason_data=reason_data,
                            state_updated_s=now_s,
                            state_transitioned_s=now_s if moved else alarm.state_transitioned_s)
        if not moved:
            self.alarms.put_alarm(new)
            return
        change = StateChange(alarm.state_value, alarm.state_reason, alarm.state_reason_data, alarm.state_updated_s,
                             state, reason, reason_data, now_s)
        identity, config = new.identity(), new.config()
        history = HistoryItem(new.name, now_s, STATE_UPDATE, f"Alarm updated from {alarm.state_value} to {state}",
                              state_update_data(alarm, new))
        actions: list[PendingAction] = []
        if new.actions_enabled:
            subject = sns_subject(identity, state)
            message = sns_message(identity, config, change, new.configuration_updated_s)
            actions = [PendingAction(new.account_id, new.region, new.name, target, subject, message, now_s, now_s, now_s)
                       for target in new.actions_for(state)]
        event = eventbridge_event(identity, config, change, str(uuid.uuid4()), str(uuid.uuid4()))
        self.alarms.record_state_change(AlarmStateUpdate(new, history, actions, event))
        if actions:
            self.actions.wake()


class AlarmsRunning:
    """The started scheduler and action runner of :meth:`CloudWatchService.start_alarms`."""

    def __init__(self, scheduler: AlarmScheduler, actions: AlarmActionRunner) -> None:
        self._scheduler, self._actions = scheduler, actions

    def stop(self) -> None:
        self._scheduler.stop()
        self._actions.stop()


def history_alarm(alarm: MetricAlarm) -> dict[str, object]:
    """The alarm as a ConfigurationUpdate item's HistoryData shows it (camelCase members)."""
    out: dict[str, object] = {"alarmName": alarm.name, "alarmArn": alarm.arn}
    if alarm.description is not None:
        out["alarmDescription"] = alarm.description
    out.update({
        "actionsEnabled": alarm.actions_enabled, "okactions": list(alarm.ok_actions),
        "alarmActions": list(alarm.alarm_actions), "insufficientDataActions": list(alarm.insufficient_data_actions),
        "metricName": alarm.metric_name, "namespace": alarm.namespace,
        "dimensions": [{"name": n, "value": v} for n, v in alarm.dimensions],
    })
    if alarm.statistic:
        out["statistic"] = alarm.statistic
    if alarm.extended_statistic:
        out["extendedStatistic"] = alarm.extended_statistic
    out.update({"period": alarm.period_s, "evaluationPeriods": alarm.evaluation_periods,
                "threshold": float(alarm.threshold or 0.0), "comparisonOperator": alarm.comparison_operator})
    for name, value in (("unit", alarm.unit), ("datapointsToAlarm", alarm.datapoints_to_alarm),
                        ("treatMissingData", alarm.treat_missing_data),
                        ("evaluateLowSampleCountPercentile", alarm.evaluate_low_sample_count_percentile)):
        if value is not None:
            out[name] = value
    return out


def state_update_data(old: MetricAlarm, new: MetricAlarm) -> str:
    """HistoryData of a StateUpdate item: ``{"version":"1.0","oldState":{"stateValue":...,
    "stateReason":...},"newState":{"stateValue":...,"stateReason":...,"stateReasonData":{...}}}``."""

    def state(alarm: MetricAlarm) -> dict[str, object]:
        out: dict[str, object] = {"stateValue": alarm.state_value, "stateReason": alarm.state_reason}
        if alarm.state_reason_data is not None:
            try:
                out["stateReasonData"] = json.loads(alarm.state_reason_data)
            except ValueError:
                pass
        return out

    return dumps({"version": "1.0", "oldState": state(old), "newState": state(new)})
