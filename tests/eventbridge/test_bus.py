"""The bus over a real SqliteEventStore: matching, account/Region isolation, per-rule cursors,
exactly one outbox row per (event, rule, target) across restarts, rule states, read-only events,
imported history, custom and alarm events, metrics and the status read."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import orjson
import pytest

from opentrail.eventbridge.bus import EventBusWorker
from opentrail.eventbridge.bus_state import BUS_DB, BusState
from opentrail.eventbridge.envelope import envelope_id
from opentrail.eventbridge.model import TargetConfig
from opentrail.events.record import read_record
from opentrail.store.memory import MemoryEventStore
from opentrail.store.sqlite import SqliteEventStore
from tests.eventbridge.helpers import ACCOUNT, OTHER, REGION, AlarmOutbox, Catalog, iso, record, rule

QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:alerts"
HOOK = f"arn:aws:events:{REGION}:{ACCOUNT}:api-destination/hook/0b1c"


@dataclass
class Env:
    path: Path
    store: Any
    catalog: Catalog = field(default_factory=Catalog)
    points: list[tuple[Any, ...]] = field(default_factory=list)
    alarms: AlarmOutbox = field(default_factory=AlarmOutbox)
    states: list[BusState] = field(default_factory=list)

    def ingest(self, *records: dict[str, Any]) -> None:
        assert self.store.append([read_record(r) for r in records]).accepted == len(records)

    def worker(self, **kw: Any) -> EventBusWorker:
        state = BusState(self.path / BUS_DB)
        self.states.append(state)
        kw.setdefault("clock", time.time)
        return EventBusWorker(self.store, self.catalog, state, None, alarms=self.alarms,
                              metrics=lambda *p: self.points.append(p), **kw)

    def rows(self) -> list[Any]:
        return BusState(self.path / BUS_DB).deliveries()


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    store = SqliteEventStore(tmp_path / "events")
    e = Env(tmp_path, store)
    yield e
    for s in e.states:
        s.close()
    store.close()


def drain(worker: EventBusWorker) -> None:
    while worker.step():
        pass


def test_matching_event_gives_one_row_per_target_with_its_input(env: Env) -> None:
    targets = (TargetConfig("q", QUEUE), TargetConfig("h", HOOK, input_path="$.detail.eventName"))
    env.catalog.put(rule(targets=targets))
    stop = record("StopLogging")
    env.ingest(record("CreateTrail"), stop, record("RunInstances", source="ec2.amazonaws.com"))
    w = env.worker()
    assert w.step() == 3
    rows = env.rows()
    assert [(r.lane, r.rule_name, r.target.id, r.event_id, r.body) for r in rows] == [
        (QUEUE, "tampering", "q", envelope_id(ACCOUNT, stop["eventID"]), None),
        (HOOK, "tampering", "h", envelope_id(ACCOUNT, stop["eventID"]), b'"StopLogging"'),
    ]
    event = orjson.loads(rows[0].event)
    assert event["detail"] == stop and event["source"] == "aws.cloudtrail"
    assert event["detail-type"] == "AWS API Call via CloudTrail"
    status = w.rule_status(rule().arn)
    assert [m[0] for m in status.matches] == [envelope_id(ACCOUNT, stop["eventID"])]
    assert status.cursors == {"log": 3, "custom": 0, "alarms": 0}
    names = sorted((p[3], dict(p[4]), p[6]) for p in env.points)
    assert names == [("MatchedEvents", {}, 1.0), ("TriggeredRules", {"RuleName": "tampering"}, 1.0)]


def test_events_reach_only_rules_of_their_account_and_region(env: Env) -> None:
    rules = [rule("a-east", targets=(TargetConfig("t", QUEUE),)),
             rule("b-east", account=OTHER, targets=(TargetConfig("t", QUEUE),)),
             rule("a-west", region="eu-west-1", targets=(TargetConfig("t", QUEUE),))]
    env.catalog.put(*rules)
    a_east, b_east, a_west = record(), record(account=OTHER), record(region="eu-west-1")
    env.ingest(a_east, b_east, a_west, record(account="777788889999"))
    drain(env.worker())
    got = {(r.rule_name, r.account_id, r.region, orjson.loads(r.event)["detail"]["eventID"]) for r in env.rows()}
    assert got == {("a-east", ACCOUNT, REGION, a_east["eventID"]), ("b-east", OTHER, REGION, b_east["eventID"]),
                   ("a-west", ACCOUNT, "eu-west-1", a_west["eventID"])}


def test_each_matched_event_is_written_once_per_rule_across_restarts(env: Env) -> None:
    env.catalog.put(rule("r1", targets=(TargetConfig("t", QUEUE),)), rule("r2", targets=(TargetConfig("t", HOOK),)))
    matched: list[str] = []
    for round_ in range(4):
        batch = [record("StopLogging" if i % 3 == 0 else "CreateTrail") for i in range(30)]
        matched += [r["eventID"] for r in batch if r["eventName"] == "StopLogging"]
        env.ingest(*batch)
        w = env.worker(read_limit=7)  # a new worker over the same files each time: a restart
        for _ in range(round_ + 2):  # part of the backlog, then "crash"
            w.step()
    drain(env.worker(read_limit=7))
    counts = Counter((r.rule_name, r.event_id) for r in env.rows())
    expected = {(name, envelope_id(ACCOUNT, e)) for name in ("r1", "r2") for e in matched}
    assert set(counts) == expected and set(counts.values()) == {1}


def test_new_rule_starts_after_since_seq_and_disabled_rules_skip(env: Env) -> None:
    env.ingest(record(), record())
    env.catalog.put(rule(targets=(TargetConfig("t", QUEUE),), since_seq=2))
    w = env.worker()
    late = record()
    env.ingest(late)
    drain(w)
    assert [r.event_id for r in env.rows()] == [envelope_id(ACCOUNT, late["eventID"])]
    env.catalog.set_state(rule().arn, "DISABLED")
    env.ingest(record())  # seq 4, while disabled
    drain(w)
    env.catalog.set_state(rule().arn, "ENABLED", since_seq=4)  # enabled again after seq 4
    again = record()
    env.ingest(again)
    drain(w)
    assert [r.event_id for r in env.rows()] == [envelope_id(ACCOUNT, late["eventID"]),
                                                 envelope_id(ACCOUNT, again["eventID"])]
    env.catalog.delete(rule().arn)
    drain(w)
    assert w.rule_status(rule().arn).cursors == {}


def test_read_only_events_reach_only_rules_with_all_management_events(env: Env) -> None:
    pattern = '{"source": ["aws.cloudtrail"]}'
    env.catalog.put(rule("enabled", pattern=pattern, targets=(TargetConfig("t", QUEUE),)),
                    rule("all", pattern=pattern, targets=(TargetConfig("t", QUEUE),),
                         state="ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"))
    describe = record("DescribeTrails", readOnly=True)
    lookup = record("LookupEvents", readOnly=True)
    stop = record("StopLogging")
    env.ingest(describe, lookup, stop)
    drain(env.worker())
    got = sorted((r.rule_name, orjson.loads(r.event)["detail"]["eventName"]) for r in env.rows())
    assert got == [("all", "DescribeTrails"), ("all", "LookupEvents"), ("all", "StopLogging"),
                   ("enabled", "LookupEvents"), ("enabled", "StopLogging")]


def test_a_pattern_on_the_envelope_id(env: Env) -> None:
    first, second = record(), record()
    env.catalog.put(rule(pattern=orjson.dumps({"id": [envelope_id(ACCOUNT, second["eventID"])]}).decode(),
                         targets=(TargetConfig("t", QUEUE),)))
    env.ingest(first, second)
    drain(env.worker())
    assert [r.event_id for r in env.rows()] == [envelope_id(ACCOUNT, second["eventID"])]


def test_data_events_need_the_gate_and_large_events_are_skipped(env: Env) -> None:
    pattern = '{"source": ["aws.s3"]}'
    env.catalog.put(rule(pattern=pattern, targets=(TargetConfig("t", QUEUE),)))
    taken = record("PutObject", source="s3.amazonaws.com", managementEvent=False, eventCategory="Data",
                   requestParameters={"bucketName": "logged"})
    not_taken = record("PutObject", source="s3.amazonaws.com", managementEvent=False, eventCategory="Data",
                       requestParameters={"bucketName": "other"})
    big = record("CreateBucket", source="s3.amazonaws.com", requestParameters={"pad": ""})
    big["requestParameters"]["pad"] = "x" * (262_100 - len(orjson.dumps(big)))  # fits, its envelope does not
    env.ingest(taken, not_taken, big)
    seen: list[tuple[str, str, str]] = []

    def gate(account: str, region: str, category: str, rec: dict[str, Any]) -> bool:
        seen.append((account, region, category))
        return bool(rec["requestParameters"]["bucketName"] == "logged")

    w = env.worker(data_events=gate)
    drain(w)
    assert [orjson.loads(r.event)["detail"]["eventID"] for r in env.rows()] == [taken["eventID"]]
    assert seen == [(ACCOUNT, REGION, "Data")] * 2
    assert w.skipped_large == 1


def test_imported_history_is_skipped_by_receive_time(tmp_path: Path) -> None:
    now = [1_800_000_000.0]
    store = MemoryEventStore(clock=lambda: now[0])
    env = Env(tmp_path, store)
    env.catalog.put(rule(targets=(TargetConfig("t", QUEUE),)))
    old = record(at=now[0] - 7200)  # an hour past the 3600 s bound when received
    fresh = record(at=now[0] - 30)
    env.ingest(old, fresh)
    now[0] += 5000  # the bus reads them much later: still judged by when the store received them
    w = env.worker(clock=lambda: now[0], max_event_age_s=3600)
    drain(w)
    assert [orjson.loads(r.event)["detail"]["eventID"] for r in env.rows()] == [fresh["eventID"]]
    assert w.skipped_old == 1
    env2 = Env(tmp_path / "all", store, env.catalog)
    drain(env2.worker(clock=lambda: now[0], max_event_age_s=0))
    assert len(env2.rows()) == 2
    for s in env.states + env2.states:
        s.close()


def test_custom_events_are_durable_and_matched(env: Env) -> None:
    w = env.worker()
    env.catalog.put(rule("orders", pattern='{"source": ["com.example.orders"]}',
                         targets=(TargetConfig("t", QUEUE, input_transformer={
                             "InputPathsMap": {"n": "$.detail.n"}, "InputTemplate": '"order <n>"'}),)))
    event = {"version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "detail-type": "Order",
             "source": "com.example.orders", "account": ACCOUNT, "time": iso(time.time()), "region": REGION,
             "resources": [], "detail": {"n": 42}}
    other = dict(event, id="6a7e8feb-b491-4cf7-a9f1-bf3703467719", source="com.example.other")
    assert w.put_events(ACCOUNT, REGION, [event, other]) == [event["id"], other["id"]]
    assert w.put_events(OTHER, REGION, [dict(event, id="6a7e8feb-b491-4cf7-a9f1-bf370346771a",
                                                 account=OTHER)]) == ["6a7e8feb-b491-4cf7-a9f1-bf370346771a"]
    drain(w)
    (row,) = env.rows()
    assert (row.event_id, row.body, orjson.loads(row.event)) == (event["id"], b'"order 42"', event)


def test_alarm_state_changes_reach_rules(env: Env) -> None:
    env.alarms.add({"id": "old", "source": "aws.cloudwatch", "account": ACCOUNT, "region": REGION,
                    "detail-type": "CloudWatch Alarm State Change", "detail": {}})
    w = env.worker()
    env.catalog.put(rule("alarms", pattern='{"source": ["aws.cloudwatch"], '
                                           '"detail-type": ["CloudWatch Alarm State Change"]}',
                         targets=(TargetConfig("t", QUEUE),)))
    change = {"version": "0", "id": "c0ffee00-0000-4000-8000-000000000001", "detail-type": "CloudWatch Alarm State Change",
              "source": "aws.cloudwatch", "account": ACCOUNT, "time": iso(time.time()), "region": REGION,
              "resources": [f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:root-use"],
              "detail": {"alarmName": "root-use", "state": {"value": "ALARM"}}}
    env.alarms.add(change)
    drain(w)
    assert [(r.event_id, orjson.loads(r.event)) for r in env.rows()] == [(change["id"], change)]


def test_a_batch_read_while_the_rules_change_is_matched_again_with_the_new_rules(env: Env) -> None:
    """PutTargets commits after the bus took its rule set but before it read the log: the event
    recorded after PutTargets goes to the new target too (the round is matched again)."""
    env.catalog.put(rule(targets=(TargetConfig("q", QUEUE),)))
    w = env.worker()
    w.step()  # the rule set is read
    store_read = env.store.read_columns

    def read_then_change(after: int, limit: int) -> Any:
        cols = store_read(after, limit)
        if len(cols) and len(env.catalog.rules()[0].targets) == 1:  # PutTargets lands mid-round, once
            env.catalog.put(rule(targets=(TargetConfig("q", QUEUE), TargetConfig("h", HOOK))))
        return cols

    env.store.read_columns = read_then_change
    stop = record("StopLogging")
    env.ingest(stop)
    assert w.step() == 0  # matched with the old rules: nothing committed
    assert env.rows() == []
    drain(w)
    assert [(r.target.id, r.event_id) for r in env.rows()] == [
        ("q", envelope_id(ACCOUNT, stop["eventID"])), ("h", envelope_id(ACCOUNT, stop["eventID"]))]


def test_a_target_whose_input_cannot_be_built_fails_alone_and_the_bus_goes_on(env: Env) -> None:
    """A transformer whose result would be huge (430 copies of the event) or is nested past what
    orjson writes: that target gets a failure (never invoked), the rule's other target and the next
    events go on."""
    huge = {"InputPathsMap": {}, "InputTemplate": "[" + ",".join(["<aws.events.event>"] * 430) + "]"}
    deep = {"InputPathsMap": {}, "InputTemplate": "[" * 300 + "<aws.events.rule-name>" + "]" * 300}
    env.catalog.put(rule(targets=(TargetConfig("huge", QUEUE, input_transformer=huge),
                                  TargetConfig("deep", HOOK, input_transformer=deep),
                                  TargetConfig("plain", QUEUE + "2"))))
    big, small = record("StopLogging", requestParameters={"pad": "x" * 5000}), record("DeleteTrail")
    env.ingest(big, small)
    w = env.worker()
    drain(w)
    rows = env.rows()
    assert [(r.target.id, orjson.loads(r.event)["detail"]["eventID"]) for r in rows] == [
        ("deep", big["eventID"]), ("plain", big["eventID"]),
        ("huge", small["eventID"]), ("deep", small["eventID"]), ("plain", small["eventID"])]
    assert rows[0].body == b"[" * 300 + b'"tampering"' + b"]" * 300  # as built: too deep to re-print
    failures = w.rule_status(rule().arn).failed_invocations
    assert [(f.target_id, f.error_code, f.error_message, f.attempts, f.outcome) for f in failures] == [
        ("huge", "INVALID_PARAMETER", "the target's input: the transformed input is over 1048576 characters", 0,
         "DROPPED")]


def test_a_target_with_a_full_backlog_loses_new_events_not_the_others(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """A target that is down keeps at most MAX_BACKLOG rows (here 3): more matched events are failures
    (BACKLOG_FULL, dropped) for it alone, another target gets them; a row sent frees a place."""
    import opentrail.eventbridge.bus as bus_module

    monkeypatch.setattr(bus_module, "MAX_BACKLOG", 3)
    env.catalog.put(rule(targets=(TargetConfig("down", HOOK),)))
    w = env.worker()
    w.step()
    env.ingest(*[record("StopLogging") for _ in range(3)])
    drain(w)
    env.catalog.put(rule(targets=(TargetConfig("down", HOOK), TargetConfig("up", QUEUE))))
    env.ingest(*[record("StopLogging") for _ in range(2)])
    drain(w)
    rows = env.rows()
    assert Counter(r.target.id for r in rows) == {"down": 3, "up": 2}
    failures = w.rule_status(rule().arn).failed_invocations
    assert [(f.target_id, f.error_code, f.outcome) for f in failures] == [("down", "BACKLOG_FULL", "DROPPED")] * 2
    state = env.states[0]
    state.finish(next(r.id for r in rows if r.target.id == "down"))  # one sent
    assert (state.backlog(HOOK), state.backlog(QUEUE)) == (2, 2)
    env.ingest(record("StopLogging"))
    drain(w)
    assert Counter(r.target.id for r in env.rows()) == {"down": 3, "up": 3}
    assert BusState(env.path / BUS_DB).backlog(HOOK) == 3  # counted again from the table on open
