"""The default event bus: a consumer of opentrail's durable event log (and of the CloudWatch alarm
state-change outbox, and of PutEvents' custom events) that matches every event against the rules
of its account and Region and writes one outbox row per (event, rule, target), exactly once per
rule across kill -9.

**Sources and cursors.** Three sources, each read in its own order: the event log
(:meth:`EventStore.read_columns`, CloudTrail records, :func:`.envelope.cloudtrail_event`), the
alarm outbox (``SqliteAlarmStore.events_after``: "CloudWatch Alarm State Change" events, already
envelopes) and custom events (:meth:`EventBusWorker.put_events`, committed to the bus database
before PutEvents answers). Every enabled rule has a cursor per source (:mod:`.bus_state`): a new
rule, or one enabled again (a new RuleConfig.since_seq), starts at since_seq in the event log, at
the first custom event put once the log had reached since_seq, and at the newest alarm event read
so far. Disabled rules are skipped (their cursors stay); deleted rules' cursors are dropped.

**Shards** (several nodes): a rule is in the shard ``crc32(rule ARN) % 4`` (:mod:`opentrail.shards`),
each shard is a lease (``event-bus/<shard>``), and a node runs one worker over the shards it holds
(``shards``; :mod:`opentrail.shard_group`). The worker matches its shards' rules only, and its
dispatcher sends their outbox rows only (:class:`.bus_state.BusState` ``shards``); the rules' own
cursors keep each rule's exactly-once when its shard moves. Custom events are purged only past the
committed cursors of every shard's enabled rules.

**One round** per source: read a batch after the oldest cursor of the enabled rules, build each
event's envelope, ask the compiled :class:`PatternSet` of the event's (account, Region) -- events of
account A never reach account B's rules -- which rules match, keep those whose cursor is before the
event, and write their deliveries (the target's input computed, :mod:`.input_transform`) with the
advanced cursors in one transaction. Rules are compiled again only when the catalog's ``version``
changes. A round that matched nothing saves its cursors at most once a second (re-reading those
events after a crash matches nothing either).

**Which CloudTrail events** (:mod:`.envelope` for the envelope and read-only events): management,
Insights and data events; data and network activity events only when ``data_events`` says a
logging trail takes them (:class:`.trail_gate.TrailDataEvents`; None lets them all through) (AWS: "When using CloudTrail with Amazon S3, you need to configure
CloudTrail to log data events"); not events over 256 KB; and not *imported history*: an event
whose eventTime is more than ``max_event_age_s`` older than the time the store received it
(:meth:`EventStore.received_seq`, per minute) is skipped (0 disables the skip).

**Metrics** (``AWS/Events``): ``MatchedEvents`` (events that matched a rule, no dimension) and
``TriggeredRules`` (per RuleName); the dispatcher counts the invocations (:mod:`.dispatch`).
"""

from __future__ import annotations

import collections
import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Protocol, Sequence

import orjson

from ..shards import SHARDS, shard_set
from ..store.base import EventStore
from .bus_state import ALARMS, CUSTOM, LOG, SOURCES, BusState, CUSTOM_KEEP_S, Delivery, FailedInvocation
from .dispatch import NAMESPACE, Dispatcher, MetricSink
from .envelope import MAX_EVENT_BYTES, cloudtrail_event, fill_id, needs_all_management_events
from .input_transform import target_input
from .model import DEFAULT_BUS, RuleCatalog, RuleConfig
from .pattern import EventPattern, InvalidEventPattern, PatternSet, parse_pattern

log = logging.getLogger(__name__)

#: Events read per source and round.
READ_LIMIT = 1000
#: Cursors of rounds that matched nothing are saved at most this often (clock seconds).
CHECKPOINT_EVERY_S = 1.0
#: How often old custom events are purged (clock seconds).
PURGE_EVERY_S = 60.0
#: Record bytes beyond which an event cannot fit in 256 KB with its envelope (checked exactly then).
_ENVELOPE_SLACK = 512


#: Rows that may wait for one target (a target that is down, with the default retry policy of a
#: day, would otherwise fill the disk and stop ingest): past it a matched event is dropped for that
#: target with a BACKLOG_FULL failure.
MAX_BACKLOG = 100_000


class AlarmEvents(Protocol):
    """The CloudWatch alarm state-change outbox (``SqliteAlarmStore``)."""

    def events_after(self, after_id: int = 0, limit: int = 1000) -> list[tuple[int, dict[str, Any]]]: ...


#: data_events(account, region, category, record) -> whether a logging trail takes this data or
#: network activity event.
DataEventGate = Callable[[str, str, str, dict[str, Any]], bool]


@dataclass(frozen=True, slots=True)
class RuleStatus:
    """The status read of one rule: its newest matches (envelope id, time s), newest first; its
    newest failed invocations; its cursors per source."""

    matches: list[tuple[str, float]]
    failed_invocations: list[FailedInvocation]
    cursors: dict[str, int]


#: An event read from a source: (position, account, Region, event, its JSON or None, the CloudTrail
#: category or None, ingestion time s).
_Item = tuple[int, str, str, dict[str, Any], "bytes | None", "str | None", float]


class _Group:
    """The enabled rules of one (account, Region), compiled."""

    __slots__ = ("rules", "patterns")

    def __init__(self, rules: dict[str, RuleConfig], patterns: dict[str, EventPattern]) -> None:
        self.rules = rules
        self.patterns: PatternSet[str] = PatternSet(patterns)


def _event_time_s(record: dict[str, Any]) -> float | None:
    value = record.get("eventTime")
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class EventBusWorker(threading.Thread):
    """The bus (module docstring). ``catalog`` gives the rules; ``dispatcher`` sends the outbox
    (started and stopped with the worker; None: rows wait); ``alarms`` is the alarm outbox (None:
    no alarm events); ``metrics`` receives the bus's data points; ``clock`` gives epoch seconds.
    :meth:`step` does one round on the calling thread (tests)."""

    def __init__(self, store: EventStore, catalog: RuleCatalog, state: BusState, dispatcher: Dispatcher | None = None,
                 *, clock: Callable[[], float], alarms: AlarmEvents | None = None, metrics: MetricSink | None = None,
                 max_event_age_s: float = 3600.0, data_events: DataEventGate | None = None,
                 read_limit: int = READ_LIMIT, poll_s: float = 0.05, shards: Sequence[int] | None = None) -> None:
        super().__init__(name="opentrail-eventbridge-bus", daemon=True)
        #: the rule shards (:mod:`opentrail.shards`, the CRC-32 of the rule ARN) this worker matches
        self._shards, self._mine = shard_set(shards)
        self._all_enabled: list[str] = []  # the enabled rules of every shard (custom events' purge)
        self._store, self._catalog, self._state, self._dispatcher = store, catalog, state, dispatcher
        self._clock, self._alarms, self._metrics = clock, alarms, metrics
        self._max_age_s, self._data_events = max_event_age_s, data_events
        self._read_limit, self._poll_s = read_limit, poll_s
        self._stop_event = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()  # one round at a time (the thread, or a test's step())
        self._version: int | None = None
        self._groups: dict[tuple[str, str], _Group] = {}
        self._enabled: dict[str, RuleConfig] = {}
        self._parsed: dict[str, EventPattern | None] = {}
        self._needs_id = False
        self._cursors = state.cursors()
        self._saved = dict(self._cursors)
        self._starts = state.starts()
        self._heads = state.heads()
        self._saved_heads = dict(self._heads)
        self._last_checkpoint = float("-inf")
        self._last_purge = float("-inf")
        self._received: dict[int, int] = {}
        if ALARMS not in self._heads and alarms is not None:
            self._heads[ALARMS] = self._alarm_head()
            state.commit_round({}, {ALARMS: self._heads[ALARMS]}, [], [])
            self._saved_heads = dict(self._heads)
        #: Events skipped since start: imported history, over 256 KB, data events no trail takes.
        self.skipped_old = 0
        self.skipped_large = 0

    # --- thread --------------------------------------------------------------------------------
    def run(self) -> None:
        if self._dispatcher is not None:
            self._dispatcher.start()
        while not self._stop_event.is_set():
            self._wake.clear()
            try:
                n = self.step()
            except Exception:  # the round is redone from durable state
                log.exception("EventBridge bus round failed")
                n = 0
                self._stop_event.wait(1.0)
            if n < self._read_limit:
                self._wake.wait(self._poll_s)
        self._checkpoint(force=True)

    def stop(self) -> None:
        """Stop the bus and its dispatcher (join the thread afterwards)."""
        self._stop_event.set()
        self._wake.set()
        if self._dispatcher is not None:
            self._dispatcher.stop()

    def wake(self) -> None:
        self._wake.set()

    # --- PutEvents -----------------------------------------------------------------------------
    def put_events(self, account_id: str, region: str, events: list[dict[str, Any]]) -> list[str]:
        """The :class:`opentrail.eventbridge.model.EventBus` protocol: commit ``events`` (complete
        envelopes) to the bus database, then return their ids. Raises DataDirectoryFullError."""
        blobs = [orjson.dumps(e) for e in events]
        self._state.append_custom(account_id, region, self._store.last_seq(), self._clock(), blobs)
        self._wake.set()
        return [str(e.get("id", "")) for e in events]

    # --- status --------------------------------------------------------------------------------
    def rule_status(self, rule_arn: str) -> RuleStatus:
        """The rule's newest matches and failed invocations (at most ``state.keep`` each)."""
        with self._lock:
            cursors = {s: q for (arn, s), q in self._cursors.items() if arn == rule_arn}
        return RuleStatus(self._state.matches(rule_arn), self._state.failures(rule_arn), cursors)

    def pending_deliveries(self) -> int:
        """Outbox rows not yet delivered nor given up."""
        return self._state.pending()

    # --- rounds --------------------------------------------------------------------------------
    def step(self) -> int:
        """One round of every source on the calling thread; returns the events read."""
        with self._lock:
            now = self._clock()
            self._refresh()
            n = 0
            for source in SOURCES:
                n += self._round(source, now)
            self._checkpoint(force=False)
            if now - self._last_purge >= PURGE_EVERY_S:
                self._last_purge = now
                self._purge_custom(now)
            return n

    def _refresh(self) -> None:
        version = self._catalog.version
        if version == self._version:
            return
        rules = self._catalog.rules()
        self._version = version
        enabled: dict[str, RuleConfig] = {}
        by_group: dict[tuple[str, str], dict[str, RuleConfig]] = {}
        parsed: dict[str, EventPattern | None] = {}
        all_enabled = []
        for rule in rules:
            if not rule.enabled or rule.event_pattern is None or rule.event_bus_name != DEFAULT_BUS:
                continue
            all_enabled.append(rule.arn)
            if not self._mine(rule.arn):  # another shard's rule: another worker's
                continue
            pattern = self._parsed.get(rule.event_pattern, False)
            if pattern is False:
                try:
                    pattern = parse_pattern(rule.event_pattern)
                except InvalidEventPattern as exc:
                    log.warning("rule %s skipped: %s", rule.arn, exc)
                    pattern = None
            parsed[rule.event_pattern] = pattern  # type: ignore[assignment]
            if pattern is None:
                continue
            enabled[rule.arn] = rule
            by_group.setdefault((rule.account_id, rule.region), {})[rule.arn] = rule
        self._parsed = parsed
        starts: dict[str, int] = {}
        first: dict[tuple[str, str], int] = {}
        for arn, rule in enabled.items():
            if self._starts.get(arn) != rule.since_seq or any((arn, s) not in self._cursors for s in SOURCES):
                starts[arn] = rule.since_seq
                first[(arn, LOG)] = rule.since_seq
                first[(arn, CUSTOM)] = self._state.custom_start(rule.since_seq)
                first[(arn, ALARMS)] = self._heads.get(ALARMS, 0)
        if starts:
            self._state.start_rules(starts, first)
            self._starts.update(starts)
            self._cursors.update(first)
            self._saved.update(first)
        known = {r.arn for r in rules}
        gone = [arn for arn in self._starts if arn not in known and self._mine(arn)]
        if gone:
            self._state.forget_rules(gone)
            for arn in gone:
                del self._starts[arn]
            self._cursors = {k: v for k, v in self._cursors.items() if k[0] in known}
            self._saved = {k: v for k, v in self._saved.items() if k[0] in known}
        self._enabled = enabled
        self._all_enabled = all_enabled
        self._needs_id = any('"id"' in (r.event_pattern or "") for r in enabled.values())
        self._groups = {key: _Group(group, {arn: parsed[r.event_pattern] for arn, r in group.items()})  # type: ignore[misc, index]
                        for key, group in by_group.items()}

    def _round(self, source: str, now: float) -> int:
        if not self._enabled:
            if source == ALARMS and self._alarms is not None:  # keep the head current for new rules
                batch = self._alarms.events_after(self._heads.get(ALARMS, 0), self._read_limit)
                if batch:
                    self._heads[ALARMS] = batch[-1][0]
                return len(batch)
            return 0
        pos = min(self._cursors[(arn, source)] for arn in self._enabled)
        if source == LOG:
            items = self._read_log(pos, now)
        elif source == CUSTOM:
            items = self._read_custom(pos)
        else:
            items = self._read_alarms(pos)
        count, last, events = items
        if not count:
            return 0
        deliveries: list[Delivery] = []
        failures: list[FailedInvocation] = []
        self._round_backlog: collections.Counter[str] = collections.Counter()
        matches: list[tuple[str, str, float]] = []
        triggered: dict[str, int] = {}
        matched_events: dict[tuple[str, str], int] = {}
        for seq, account, region, event, event_json, category, ingested_s in events:
            group = self._groups.get((account, region))
            if group is None:
                continue
            keys = group.patterns.matching(event)
            if not keys:
                continue
            needs_all = category is not None and needs_all_management_events(event["detail"], category)
            hit = False
            for arn in keys:
                rule = group.rules[arn]
                if self._cursors[(arn, source)] >= seq or (needs_all and not rule.all_management_events):
                    continue
                if event_json is None:
                    if not event["id"]:
                        fill_id(event)
                    event_json = orjson.dumps(event)
                    if len(event_json) > MAX_EVENT_BYTES:
                        self.skipped_large += 1
                        break
                hit = True
                matches.append((arn, str(event.get("id", "")), now))
                triggered[arn] = triggered.get(arn, 0) + 1
                deliveries.extend(self._deliveries(rule, event, event_json, ingested_s, now, failures))
            if hit:
                matched_events[(account, region)] = matched_events.get((account, region), 0) + 1
        if self._catalog.version != self._version:
            # The rules changed while this batch was read and matched (PutTargets, say): nothing is
            # committed and the batch is matched again with the new rules, so an event recorded after
            # a change always meets it.
            return 0
        for arn in self._enabled:
            key = (arn, source)
            if self._cursors[key] < last:
                self._cursors[key] = last
        self._heads[source] = max(self._heads.get(source, 0), last)
        if matches:
            committed = self._state.commit_round(self._changed_cursors(), dict(self._heads), deliveries, matches,
                                                 failures)
            self._saved.update(self._cursors)
            self._saved_heads = dict(self._heads)
            if self._dispatcher is not None and committed:
                self._dispatcher.submit(committed)
            self._emit(matched_events, triggered, now)
        return count

    def _deliveries(self, rule: RuleConfig, event: dict[str, Any], event_json: bytes, ingested_s: float,
                    now: float, failures: list[FailedInvocation]) -> list[Delivery]:
        """The rule's outbox rows for ``event``; a target whose input cannot be built (a transformer
        whose result is too large, a value too deeply nested to write) gets a failure instead, never
        invoked, so one target can never stop the bus."""
        out = []
        text: str | None = None
        for target in rule.targets:
            if self._state.backlog(target.arn) + self._round_backlog[target.arn] >= MAX_BACKLOG:
                failures.append(FailedInvocation(rule.arn, target.id, target.arn, str(event.get("id", "")),
                                                 "BACKLOG_FULL", f"{MAX_BACKLOG} events already wait for this target",
                                                 now, 0, "DROPPED"))
                continue
            self._round_backlog[target.arn] += 1
            if target.input is None and target.input_path is None and target.input_transformer is None:
                body = None
            else:
                if text is None:
                    text = event_json.decode()
                try:
                    body = target_input(event, text, input=target.input, input_path=target.input_path,
                                        input_transformer=target.input_transformer, rule_arn=rule.arn,
                                        rule_name=rule.name, ingestion_time_s=ingested_s).encode()
                except (ValueError, TypeError) as exc:  # InputTooLarge; orjson's nesting limit (TypeError)
                    failures.append(FailedInvocation(rule.arn, target.id, target.arn, str(event.get("id", "")),
                                                     "INVALID_PARAMETER", f"the target's input: {exc}", now, 0,
                                                     "DROPPED"))
                    continue
            out.append(Delivery(target.arn, rule.arn, rule.name, rule.account_id, rule.region, target,
                                str(event.get("id", "")), event_json, body, ingested_s, 0, ingested_s))
        return out

    # --- reading the sources -------------------------------------------------------------------
    def _read_log(self, pos: int, now: float) -> tuple[int, int, list[_Item]]:
        cols = self._store.read_columns(pos, self._read_limit)
        n = len(cols)
        if not n:
            return 0, pos, []
        out: list[_Item] = []
        names = cols.partition_names
        # events from outside AWS (PutAuditEvents, category ActivityAuditLog) are in Lake only
        wanted = {pid for pid, (account, region, category) in names.items()
                  if (account, region) in self._groups and category != "ActivityAuditLog"}
        for i in range(n):
            pid = cols.partitions[i]
            if pid not in wanted:
                continue
            raw = cols.records[i]
            if len(raw) + _ENVELOPE_SLACK > MAX_EVENT_BYTES and len(raw) > MAX_EVENT_BYTES:
                self.skipped_large += 1
                continue
            seq = cols.seqs[i]
            account, region, category = names[pid]
            record = orjson.loads(raw)
            if not isinstance(record, dict):
                continue
            if category in ("Data", "NetworkActivity") and self._data_events is not None \
                    and not self._data_events(account, region, category, record):
                continue
            if self._max_age_s > 0 and self._imported(seq, record, now):
                self.skipped_old += 1
                continue
            out.append((seq, account, region, cloudtrail_event(record, account, region, with_id=self._needs_id), None,
                        category, now))
        return n, cols.seqs[-1], out

    def _imported(self, seq: int, record: dict[str, Any], now: float) -> bool:
        """True when the store received the event more than ``max_event_age_s`` after its eventTime
        (events received within a minute past that bound may count either way)."""
        event_time = _event_time_s(record)
        if event_time is None:
            return False
        bound = event_time + self._max_age_s + 60.0
        if bound > now:
            return False  # received before now, so before the bound
        minute = int(bound) // 60
        received = self._received.get(minute)
        if received is None:
            if len(self._received) > 10_000:
                self._received.clear()
            received = self._received[minute] = self._store.received_seq(int(bound))
        return seq > received

    def _read_custom(self, pos: int) -> tuple[int, int, list[_Item]]:
        batch = self._state.custom_after(pos, self._read_limit)
        if not batch:
            return 0, pos, []
        out: list[_Item] = []
        for e in batch:
            event = orjson.loads(e.event)
            if isinstance(event, dict):
                out.append((e.id, e.account_id, e.region, event, e.event, None, e.received_s))
        return len(batch), batch[-1].id, out

    def _read_alarms(self, pos: int) -> tuple[int, int, list[_Item]]:
        if self._alarms is None:
            return 0, pos, []
        batch = self._alarms.events_after(pos, self._read_limit)
        if not batch:
            return 0, pos, []
        now = self._clock()
        out: list[_Item] = [
            (i, str(e.get("account", "")), str(e.get("region", "")), e, None, None, now)
            for i, e in batch if isinstance(e, dict)]
        return len(batch), batch[-1][0], out

    def _alarm_head(self) -> int:
        assert self._alarms is not None
        head = 0
        while True:
            batch = self._alarms.events_after(head, 10_000)
            if not batch:
                return head
            head = batch[-1][0]

    # --- saving --------------------------------------------------------------------------------
    def _changed_cursors(self) -> dict[tuple[str, str], int]:
        return {k: v for k, v in self._cursors.items() if self._saved.get(k) != v}

    def _checkpoint(self, force: bool) -> None:
        now = self._clock()
        if not force and now - self._last_checkpoint < CHECKPOINT_EVERY_S:
            return
        self._last_checkpoint = now
        changed = self._changed_cursors()
        heads = dict(self._heads)
        if changed or force or heads != self._saved_heads:
            self._state.commit_round(changed, heads, [], [])
            self._saved.update(changed)
            self._saved_heads = heads

    def _purge_custom(self, now: float) -> None:
        if len(self._shards) == SHARDS:
            cursors = [self._cursors[(arn, CUSTOM)] for arn in self._enabled if (arn, CUSTOM) in self._cursors]
        else:  # every shard's enabled rules, as committed: purge nothing another shard's rule has not read
            committed = self._state.cursors()
            cursors = [committed[(arn, CUSTOM)] for arn in self._all_enabled if (arn, CUSTOM) in committed]
        through = min(cursors) if cursors else self._state.custom_head()
        self._state.purge_custom(through, now - CUSTOM_KEEP_S)

    def _emit(self, matched: dict[tuple[str, str], int], triggered: dict[str, int], now: float) -> None:
        if self._metrics is None:
            return
        try:
            for (account, region), count in matched.items():
                self._metrics(account, region, NAMESPACE, "MatchedEvents", {}, now, float(count))
            for arn, count in triggered.items():
                rule = self._enabled[arn]
                self._metrics(rule.account_id, rule.region, NAMESPACE, "TriggeredRules", {"RuleName": rule.name}, now,
                              float(count))
        except Exception:
            log.exception("EventBridge bus metrics not recorded")

