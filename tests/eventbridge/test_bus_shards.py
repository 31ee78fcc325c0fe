"""The bus per rule shard (:mod:`opentrail.shards`: the CRC-32 of the rule ARN; on several nodes each
shard is a lease, ``event-bus/<shard>``): a worker of some shards matches its rules only, each rule
gets each event once whichever worker matched it and when its shard moves, and custom events
are purged only past every shard's rules."""

from __future__ import annotations

import time

import pytest

from opentrail.eventbridge.bus import PURGE_EVERY_S
from opentrail.eventbridge.bus_state import BUS_DB, CUSTOM_KEEP_S, BusState
from opentrail.eventbridge.envelope import envelope_id
from opentrail.eventbridge.model import TargetConfig
from opentrail.shards import shard_of
from tests.eventbridge.helpers import ACCOUNT, REGION, iso, record, rule

from .test_bus import QUEUE, Env, drain, env  # noqa: F401  (env: the fixture)

#: two rule names whose ARNs are in different shards
A_NAME, B_NAME = "tampering", next(n for n in (f"other-{i}" for i in range(100))
                                   if shard_of(rule(n).arn) != shard_of(rule("tampering").arn))
SA, SB = shard_of(rule(A_NAME).arn), shard_of(rule(B_NAME).arn)


@pytest.fixture
def rules(env: Env) -> Env:
    """``env`` (test_bus's) with a rule in each of two shards, both catching trail tampering."""
    env.catalog.put(rule(A_NAME, targets=(TargetConfig("a", QUEUE),)))
    env.catalog.put(rule(B_NAME, targets=(TargetConfig("b", QUEUE),)))
    return env


def by_rule(env: Env) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for row in env.rows():
        out.setdefault(row.rule_name, []).append(row.event_id)
    return out


def test_each_shard_worker_matches_its_rules_and_each_rule_gets_each_event_once(rules: Env) -> None:
    env = rules
    first, second = record("StopLogging"), record("DeleteTrail")
    env.ingest(first)
    wa = env.worker(shards=[SA])
    drain(wa)
    assert by_rule(env) == {A_NAME: [envelope_id(ACCOUNT, first["eventID"])]}
    wb = env.worker(shards=[SB])
    drain(wb)
    ids = [envelope_id(ACCOUNT, first["eventID"])]
    assert by_rule(env) == {A_NAME: ids, B_NAME: ids}
    # the shards move to one worker of every shard: it goes on from each rule's cursor
    env.ingest(second)
    drain(env.worker())
    ids.append(envelope_id(ACCOUNT, second["eventID"]))
    assert by_rule(env) == {A_NAME: ids, B_NAME: ids}
    drain(env.worker(shards=[SA]))
    drain(env.worker(shards=[SB]))
    assert by_rule(env) == {A_NAME: ids, B_NAME: ids}
    # each shard's dispatcher sees its rules' rows only
    mine = BusState(env.path / BUS_DB, shards=[SB])
    env.states.append(mine)
    assert {d.rule_name for d in mine.due(QUEUE, time.time() + 1, 100)} == {B_NAME}


def test_custom_events_stay_until_every_shards_rules_have_read_them(rules: Env) -> None:
    env = rules
    now = [time.time()]
    clock = lambda: now[0]  # noqa: E731
    env.catalog.put(rule(A_NAME, pattern='{"source": ["com.example.orders"]}', targets=(TargetConfig("a", QUEUE),)))
    env.catalog.put(rule(B_NAME, pattern='{"source": ["com.example.orders"]}', targets=(TargetConfig("b", QUEUE),)))
    wa, wb = env.worker(shards=[SA], clock=clock), env.worker(shards=[SB], clock=clock)
    drain(wa)
    drain(wb)  # both rules started
    event = {"version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "detail-type": "Order",
             "source": "com.example.orders", "account": ACCOUNT, "time": iso(now[0]), "region": REGION,
             "resources": [], "detail": {"n": 42}}
    wa.put_events(ACCOUNT, REGION, [event])
    now[0] += CUSTOM_KEEP_S + PURGE_EVERY_S + 1  # old enough to purge, and a purge is due
    drain(wa)  # a's rule has read it: a purges what every shard's rules have passed only
    assert by_rule(env) == {A_NAME: [event["id"]]}
    drain(wb)
    assert by_rule(env) == {A_NAME: [event["id"]], B_NAME: [event["id"]]}
    now[0] += PURGE_EVERY_S + 1
    drain(wa)  # now both have: it goes
    check = BusState(env.path / BUS_DB)
    env.states.append(check)
    assert check.custom_after(0, 10) == []
