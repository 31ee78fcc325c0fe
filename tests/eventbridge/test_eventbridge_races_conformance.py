"""Check-and-write races of EventBridge rules, targets, connections and API destinations on both
state backends (``state_dir``): several store objects on one database (several nodes) writing at
once. Limits and names are checked in the write transaction (issue 17): exactly as many creates
succeed as the limit allows, one create of a name wins, and the others get AWS's error."""

from __future__ import annotations

from pathlib import Path

from opentrail.eventbridge.catalog import ApiDestination, Connection, Rule
from opentrail.eventbridge.errors import AlreadyExists, LimitExceeded
from opentrail.eventbridge.rules_store import EVENTBRIDGE_DB, SqliteRulesStore
from tests.state_backends import outcomes, race

A, R = "111122223333", "us-east-1"
NODES = 6
LIMIT = "LimitExceeded: The requested resource exceeds the maximum number allowed."


def _rule(name: str) -> Rule:
    return Rule(account_id=A, region=R, name=name, state="ENABLED", event_pattern='{"source":["aws.s3"]}',
                schedule_expression=None, description=None, role_arn=None, created_by=A, since_seq=3)


def _stores(state_dir: Path) -> list[SqliteRulesStore]:
    return [SqliteRulesStore(state_dir / EVENTBRIDGE_DB) for _ in range(2)]


def test_rules_put_at_once_stop_at_the_limit_per_bus(state_dir: Path) -> None:
    nodes = _stores(state_dir)
    nodes[0].put_rule(_rule("first"), limit=(3, LimitExceeded))
    results = race([lambda i=i: nodes[i % 2].put_rule(_rule(f"r{i}"), limit=(3, LimitExceeded)) for i in range(NODES)])
    assert outcomes(results) == [LIMIT] * 4 + ["ok"] * 2
    assert nodes[1].rule_count(A, R) == 3
    nodes[1].put_rule(_rule("first"), limit=(3, LimitExceeded))  # a rule that exists is replaced, not counted
    for node in nodes:
        node.close()


def test_targets_put_at_once_stop_at_the_limit_per_rule(state_dir: Path) -> None:
    nodes = _stores(state_dir)
    nodes[0].put_rule(_rule("r"))
    nodes[0].put_targets(A, R, "r", [{"Id": "t0", "Arn": "arn:a"}], limit=(3, LimitExceeded))
    results = race([lambda i=i: nodes[i % 2].put_targets(A, R, "r", [{"Id": f"t{i + 1}", "Arn": "arn:b"}],
                                                         limit=(3, LimitExceeded)) for i in range(NODES)])
    assert outcomes(results) == [LIMIT] * 4 + ["ok"] * 2
    rule = nodes[1].rule(A, R, "r")
    assert rule is not None and len(rule.targets) == 3
    # a target the rule has is replaced, not counted
    nodes[1].put_targets(A, R, "r", [{"Id": "t0", "Arn": "arn:c"}], limit=(3, LimitExceeded))
    for node in nodes:
        node.close()


def test_one_connection_or_api_destination_name_created_at_once_is_created_once(state_dir: Path) -> None:
    nodes = _stores(state_dir)

    def connection(i: int) -> Connection:
        return Connection(A, R, "c", f"uuid-{i}", "BASIC", "AUTHORIZED", None, {}, f"secret-{i}", 1.5, 1.5, 1.5)

    results = race([lambda i=i: nodes[i % 2].insert_connection(connection(i), b"sealed",
                                                               taken=lambda: AlreadyExists.connection("c"))
                    for i in range(NODES)])
    assert outcomes(results) == ["AlreadyExists: Connection c already exists."] * 5 + ["ok"]
    arn = nodes[0].connection(A, R, "c").arn  # type: ignore[union-attr]

    def destination(i: int) -> ApiDestination:
        return ApiDestination(A, R, "d", f"uuid-d{i}", arn, f"https://example.test/{i}", "POST", 10, None, 3.0, 3.0)

    results = race([lambda i=i: nodes[i % 2].put_api_destination(destination(i),
                                                                 taken=lambda: AlreadyExists.api_destination("d"))
                    for i in range(NODES)])
    assert outcomes(results) == ["AlreadyExists: An api-destination 'd' already exists."] * 5 + ["ok"]
    winner = next(i for i, r in enumerate(results) if r is None)
    assert nodes[1].api_destination(A, R, "d") == destination(winner)
    for node in nodes:
        node.close()
