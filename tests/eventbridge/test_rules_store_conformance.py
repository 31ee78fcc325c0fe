"""SqliteRulesStore (opentrail/eventbridge/rules_store.py) on both backends (``state_dir``: SQLite
files or schemas of the real PostgreSQL): rules, targets, connections, API destinations and tags
with exact values, and two nodes on one data directory: a rule put through one node's RulesService
is in the other's compiled rules (what its event bus matches against) within PG_RECHECK_S."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator

import pytest

from opentrail.eventbridge.catalog import ApiDestination, Connection, Rule
from opentrail.eventbridge.pattern import parse_pattern
from opentrail.eventbridge.rules_service import RulesService
from opentrail.eventbridge.rules_store import EVENTBRIDGE_DB, SqliteRulesStore
from opentrail.state_watch import PG_RECHECK_S

A, R = "111122223333", "us-east-1"
PATTERN = '{"source":["aws.s3"]}'


@pytest.fixture
def store(state_dir: Path) -> Iterator[SqliteRulesStore]:
    s = SqliteRulesStore(state_dir / EVENTBRIDGE_DB)
    yield s
    s.close()


def _rule(name: str, **kw: object) -> Rule:
    fields: dict[str, object] = dict(account_id=A, region=R, name=name, state="ENABLED", event_pattern=PATTERN,
                                     schedule_expression=None, description=None, role_arn=None, created_by=A,
                                     since_seq=3)
    fields.update(kw)
    return Rule(**fields)  # type: ignore[arg-type]


def test_rules_and_targets(store: SqliteRulesStore) -> None:
    store.put_rule(_rule("b", tags={"k": "v"}))
    store.put_rule(_rule("a", description="first"))
    store.put_rule(_rule("c", region="eu-west-1"))
    store.put_rule(_rule("a", description="second", since_seq=5, tags={"ignored": "x"}))  # keeps tags and creator
    store.put_targets(A, R, "a", [{"Id": "t2", "Arn": "arn:x"}, {"Id": "t1", "Arn": "arn:y"}])
    store.put_targets(A, R, "a", [{"Id": "t2", "Arn": "arn:z", "Input": "{}"}])  # replaced, keeps its place
    store.put_targets(A, R, "b", [{"Id": "t", "Arn": "arn:z"}])
    assert store.rule(A, R, "a") == _rule("a", description="second", since_seq=5,
                                          targets=({"Id": "t2", "Arn": "arn:z", "Input": "{}"}, {"Id": "t1", "Arn": "arn:y"}))
    assert store.rule(A, R, "nope") is None
    assert [r.name for r in store.rules(A, R, prefix=None, after="", limit=10)] == ["a", "b"]
    assert [r.name for r in store.rules(A, R, prefix="b", after="", limit=10)] == ["b"]
    assert [r.name for r in store.rules(A, R, prefix=None, after="a", limit=1)] == ["b"]
    assert [(r.region, r.name, len(r.targets)) for r in store.all_rules()] == [
        ("eu-west-1", "c", 0), (R, "a", 2), (R, "b", 1)]
    assert store.rule_count(A, R) == 2
    assert store.rule_names_by_target(A, R, "arn:z", after="", limit=10) == ["a", "b"]
    assert store.rule_names_by_target(A, R, "arn:z", after="a", limit=10) == ["b"]
    store.set_rule_state(A, R, "a", "DISABLED", 9)
    store.set_rule_tags(A, R, "a", {"x": "1"})
    got = store.rule(A, R, "a")
    assert (got.state, got.since_seq, got.tags) == ("DISABLED", 9, {"x": "1"})  # type: ignore[union-attr]
    store.remove_targets(A, R, "a", ["t2", "missing"])
    assert [t["Id"] for t in store.rule(A, R, "a").targets] == ["t1"]  # type: ignore[union-attr]
    store.delete_rule(A, R, "a")
    assert store.rule(A, R, "a") is None
    assert store.rule_names_by_target(A, R, "arn:y", after="", limit=10) == []


def test_connections_destinations_and_tags(store: SqliteRulesStore) -> None:
    conn = Connection(A, R, "c", "uuid-1", "BASIC", "AUTHORIZED", None, {"BasicAuthParameters": {"Username": "u"}},
                      "secret-1", 1.5, 1.5, 1.5)
    store.insert_connection(conn, b"\x00sealed\xff")
    assert store.connection(A, R, "c") == conn
    assert store.connection_by_arn(conn.arn) == conn
    assert store.sealed_secrets(conn.arn) == b"\x00sealed\xff"
    changed = Connection(A, R, "c", "uuid-1", "API_KEY", "DEAUTHORIZED", "d", {}, "secret-1", 1.5, 2.5, 2.5)
    store.update_connection(changed, b"new")
    assert (store.connection(A, R, "c"), store.sealed_secrets(conn.arn)) == (changed, b"new")
    assert store.connections(A, R, prefix=None, state="DEAUTHORIZED", after="", limit=5) == [changed]
    assert store.connections(A, R, prefix="x", state=None, after="", limit=5) == []
    dest = ApiDestination(A, R, "d", "uuid-2", conn.arn, "https://example.test/x", "POST", 10, None, 3.0, 3.0)
    store.put_api_destination(dest)
    assert store.api_destination(A, R, "d") == dest
    assert store.api_destination_by_arn(dest.arn) == dest
    assert store.api_destinations(A, R, prefix="d", connection_arn=conn.arn, after="", limit=5) == [dest]
    assert store.api_destinations(A, R, prefix=None, connection_arn="arn:other", after="", limit=5) == []
    store.delete_api_destination(dest.arn)
    store.delete_connection(conn.arn)
    assert (store.api_destination(A, R, "d"), store.connection(A, R, "c")) == (None, None)
    assert store.resource_tags("arn:bus") == {}
    store.set_resource_tags("arn:bus", {"a": "1"})
    store.set_resource_tags("arn:bus", {"b": "2"})
    assert store.resource_tags("arn:bus") == {"b": "2"}


def test_a_rule_put_on_one_node_is_matched_by_the_others_compiled_rules(state_dir: Path) -> None:
    one = RulesService(state_dir, lambda: 1796205600.0, head_seq=lambda: 7)
    two = RulesService(state_dir, lambda: 1796205600.0, head_seq=lambda: 7)
    try:
        assert two.rules() == []
        seen = two.version
        one.put_rule(A, R, "s3", event_pattern=PATTERN)
        deadline = time.monotonic() + PG_RECHECK_S + 1
        while two.version == seen and time.monotonic() < deadline:
            time.sleep(0.05)
        [rule] = two.rules()
        assert (rule.name, rule.since_seq, rule.enabled) == ("s3", 7, True)
        assert parse_pattern(rule.event_pattern).matches({"source": "aws.s3", "detail": {}})  # type: ignore[arg-type]
        two.disable_rule(A, R, "s3")
        seen = one.version
        deadline = time.monotonic() + PG_RECHECK_S + 1
        while one.version == seen and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [r.enabled for r in one.rules()] == [False]
    finally:
        one.close()
        two.close()
