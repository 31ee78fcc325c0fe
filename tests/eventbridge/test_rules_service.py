"""The EventBridge control plane in process: schedule expressions, sealed secrets, the store across
a restart, staged changes (a call whose record cannot be made durable changes nothing and hands
nothing to the bus) and the RuleCatalog the bus reads."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any, Sequence

import pytest

from opentrail.api.calls import run_recorded, staging_of
from opentrail.api.errors import ServiceUnavailable
from opentrail.eventbridge.errors import InvalidEventPattern, LimitExceeded
from opentrail.eventbridge.rules_service import RulesService
from opentrail.eventbridge.schedule import is_valid_schedule
from opentrail.eventbridge.secrets import SecretBox, SecretUnreadable
from opentrail.store.errors import DataDirectoryFullError
from opentrail.store.memory import MemoryEventStore

ACCOUNT, REGION = "111122223333", "eu-west-1"
PATTERN = '{"source": ["my.app"]}'


@pytest.mark.parametrize("expression,valid", [
    ("rate(1 minute)", True), ("rate(5 minutes)", True), ("rate(1 hour)", True), ("rate(12 hours)", True),
    ("rate(1 day)", True), ("rate(7 days)", True), ("rate(1 minutes)", False), ("rate(5 minute)", False),
    ("rate(0 minutes)", False), ("rate(-1 minutes)", False), ("rate(5 weeks)", False), ("rate(5  minutes)", False),
    ("cron(0 10 * * ? *)", True), ("cron(15 12 * * ? *)", True), ("cron(0 18 ? * MON-FRI *)", True),
    ("cron(0 8 1 * ? *)", True), ("cron(0/15 * * * ? *)", True), ("cron(0/10 * ? * MON-FRI *)", True),
    ("cron(0/5 8-17 ? * MON-FRI *)", True), ("cron(0 9 ? * 2#1 *)", True), ("cron(0 0 L * ? *)", True),
    ("cron(0 0 15W * ? 2027)", True), ("cron(0 0 ? * 6L *)", True), ("cron(0,30 1,2 ? JAN,JUL SUN *)", True),
    ("cron(0 10 * * * *)", False), ("cron(0 10 ? * ? *)", False), ("cron(0 10 * * ?)", False),
    ("cron(60 10 * * ? *)", False), ("cron(0 24 * * ? *)", False), ("cron(0 0 32 * ? *)", False),
    ("cron(0 0 ? 13 * *)", False), ("cron(0 0 ? * 8 *)", False), ("cron(0 0 * * ? 1969)", False),
    ("cron(0/0 * * * ? *)", False), ("cron(a b c d e f)", False), ("every day", False), ("", False),
])
def test_schedule_expressions(expression: str, valid: bool) -> None:
    assert is_valid_schedule(expression) is valid


def test_secret_box(tmp_path: Path) -> None:
    box = SecretBox(tmp_path)
    sealed = box.seal(b"hunter2", "arn:a")
    assert b"hunter2" not in sealed and len(sealed) == 1 + 12 + 7 + 16
    key = tmp_path / "eventbridge.key"
    assert (stat.S_IMODE(key.stat().st_mode), len(key.read_bytes())) == (0o600, 32)
    assert SecretBox(tmp_path).open(sealed, "arn:a") == b"hunter2"  # the same key file, read again
    assert box.seal(b"hunter2", "arn:a") != sealed  # a fresh nonce each time
    with pytest.raises(SecretUnreadable):
        box.open(sealed, "arn:b")  # bound to its connection
    with pytest.raises(SecretUnreadable):
        box.open(sealed[:-1] + bytes([sealed[-1] ^ 1]), "arn:a")
    with pytest.raises(SecretUnreadable):
        SecretBox(tmp_path / "other").open(sealed, "arn:a")


def test_the_catalog_survives_a_restart(tmp_path: Path) -> None:
    head = [7]
    service = RulesService(tmp_path, lambda: 1796205600.0, head_seq=lambda: head[0])
    assert service.version == 0
    service.put_rule(ACCOUNT, REGION, "r", event_pattern=PATTERN, tags={"k": "v"})
    assert service.put_targets(ACCOUNT, REGION, "r", [
        {"Id": "t", "Arn": f"arn:aws:sns:{REGION}:{ACCOUNT}:topic", "InputPath": "$.detail"}]) == []
    connection = service.create_connection(ACCOUNT, REGION, "c", "BASIC",
                                           {"BasicAuthParameters": {"Username": "u", "Password": "p"}})
    destination = service.create_api_destination(ACCOUNT, REGION, "d", connection_arn=connection.arn,
                                                 invocation_endpoint="http://127.0.0.1:1/x", http_method="GET")
    assert service.version == 4
    service.close()
    head[0] = 9
    again = RulesService(tmp_path, lambda: 1796205600.0, head_seq=lambda: head[0])
    [rule] = again.rules()
    assert (rule.arn, rule.state, rule.event_pattern, rule.since_seq, rule.enabled) == (
        f"arn:aws:events:{REGION}:{ACCOUNT}:rule/r", "ENABLED", PATTERN, 7, True)
    assert [(t.id, t.arn, t.input_path) for t in rule.targets] == [("t", f"arn:aws:sns:{REGION}:{ACCOUNT}:topic",
                                                                    "$.detail")]
    assert again.rules() is again.rules()  # rebuilt only when the version moves
    assert again.connection_auth(connection.arn).basic == ("u", "p")  # type: ignore[union-attr]
    config = again.api_destination(destination.arn)
    assert config is not None and (config.connection_arn, config.http_method, config.rate_limit_per_s) == (
        connection.arn, "GET", 300)
    assert again.api_destination("arn:aws:events:x") is None and again.connection_auth("arn:x") is None
    again.disable_rule(ACCOUNT, REGION, "r")
    again.put_rule(ACCOUNT, REGION, "r", event_pattern=PATTERN)  # enabled again by PutRule: starts after head
    assert [(r.state, r.since_seq) for r in again.rules()] == [("ENABLED", 9)]
    again.close()
    (tmp_path / "eventbridge.key").unlink()  # the key is lost: the secrets are unreadable, not wrong
    third = RulesService(tmp_path)
    (tmp_path / "eventbridge.key").write_bytes(b"\x00" * 32)
    assert third.connection_auth(connection.arn) is None
    third.close()


def test_domain_refusals(tmp_path: Path) -> None:
    service = RulesService(tmp_path)
    with pytest.raises(InvalidEventPattern) as info:
        service.put_rule(ACCOUNT, REGION, "r", event_pattern='{"detail": {"n": [{"numeric": [">"]}]}}')
    assert info.value.code == "InvalidEventPatternException"
    assert info.value.message.startswith("Event pattern is not valid. Reason: ")
    service.put_rule(ACCOUNT, REGION, "r", event_pattern=PATTERN)
    targets = [{"Id": f"t{i}", "Arn": f"arn:opentrail:file:::t{i}.jsonl"} for i in range(6)]
    with pytest.raises(LimitExceeded):
        service.put_targets(ACCOUNT, REGION, "r", targets)
    assert service.rule(ACCOUNT, REGION, "r").targets == ()
    failures = service.put_targets(ACCOUNT, REGION, "r", [{"Id": "up", "Arn": "arn:opentrail:file:::../up.jsonl"},
                                                          {"Id": "abs", "Arn": "arn:opentrail:file:::/etc/cron.d/x"},
                                                          {"Id": "cmd", "Arn": "arn:opentrail:command:::sh"},
                                                          {"Id": "empty", "Arn": "arn:opentrail:command::: "}])
    folder = tmp_path / "targets"
    assert [(f.target_id, f.code, f.message) for f in failures] == [
        ("up", "ValidationException", f"Target up is not allowed: the file target '../up.jsonl' is not inside the file"
                                      f" targets folder {folder} (--file-targets-dir)."),
        ("abs", "ValidationException", f"Target abs is not allowed: the file target '/etc/cron.d/x' is not inside the"
                                       f" file targets folder {folder} (--file-targets-dir)."),
        ("cmd", "ValidationException", "Target cmd is not allowed: command targets are off on this server: its operator"
                                       " allows them with --command-targets-dir."),
        ("empty", "ValidationException",
         "Parameter arn:opentrail:command:::  is not valid. Reason: Provided Arn is not in correct format.")]
    service.close()


RECORD = {"eventVersion": "1.11", "eventTime": "2026-12-02T10:00:00Z", "eventSource": "events.amazonaws.com",
          "eventName": "PutRule", "awsRegion": REGION, "eventID": "5b1b7c40-0000-4000-8000-000000000001",
          "recipientAccountId": ACCOUNT}


class FullStore(MemoryEventStore):
    """An event store whose disk is full: every append fails as the SQLite store's does."""

    def __init__(self, directory: Path) -> None:
        super().__init__()
        self.directory = directory

    def append(self, events: Sequence[Any], *, wait_visible: bool = True) -> Any:
        raise DataDirectoryFullError(self.directory)


def test_a_call_that_cannot_be_recorded_changes_nothing(tmp_path: Path) -> None:
    service = RulesService(tmp_path)
    store = FullStore(tmp_path)
    handed: list[Any] = []

    def attempt(call: Any) -> None:
        with pytest.raises(ServiceUnavailable):
            run_recorded(operation="PutRule", call=call, make_record=lambda r, e: RECORD, store=store,
                         staging=staging_of(service), read_only=False)

    def put_rule() -> dict[str, Any]:
        service.put_rule(ACCOUNT, REGION, "r", event_pattern=PATTERN)
        return {}

    def put_events() -> dict[str, Any]:
        service.defer(lambda: handed.append("event"))
        return {}

    attempt(put_rule)
    attempt(put_events)
    assert (service.rules(), handed, service.version) == ([], [], 0)
    with service.staged_changes() as commit:
        put_rule()
        put_events()
        assert (service.rules(), handed) == ([], [])  # not yet
        commit()
    assert ([r.name for r in service.rules()], handed, service.version) == (["r"], ["event"], 1)
    service.close()
    store.close()


def test_every_domain_error_code_is_a_wire_error_of_the_model_or_common() -> None:
    import opentrail.eventbridge.errors as domain
    from opentrail.api.events_errors import WIRE_ERRORS
    from opentrail.api.model import service_description

    classes = [c for c in vars(domain).values() if isinstance(c, type) and issubclass(c, domain.EventBridgeError)]
    codes = {c.code for c in classes}
    assert codes == {"ValidationException", "ResourceNotFoundException", "ResourceAlreadyExistsException",
                     "LimitExceededException", "InvalidEventPatternException"}
    modeled = {n for n, s in service_description("events")["shapes"].items() if s.get("exception")}
    assert codes <= set(WIRE_ERRORS) and codes - {"ValidationException"} <= modeled


def test_enable_rule_keeps_an_enabled_rules_state(tmp_path: Path) -> None:
    head = [5]
    service = RulesService(tmp_path, lambda: 1796205600.0, head_seq=lambda: head[0])
    service.put_rule(ACCOUNT, REGION, "all", event_pattern=PATTERN, state="ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS")
    head[0] = 9
    service.enable_rule(ACCOUNT, REGION, "all")
    rule = service.rule(ACCOUNT, REGION, "all")
    assert (rule.state, [r.since_seq for r in service.rules()]) == ("ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS", [5])
    service.disable_rule(ACCOUNT, REGION, "all")
    service.enable_rule(ACCOUNT, REGION, "all")
    assert (service.rule(ACCOUNT, REGION, "all").state, [r.since_seq for r in service.rules()]) == ("ENABLED", [9])
    service.close()
