"""The CloudWatch service without HTTP: staged writes, prompt evaluation of late metric filter data,
evaluation boundaries, and pending SNS actions that survive a restart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opentrail.monitoring.alarm_validation import validate_put_metric_alarm
from opentrail.monitoring.errors import InvalidParameterValue
from opentrail.monitoring.cloudwatch import CloudWatchService

from .conftest import T0, ManualClock

ACCOUNT, REGION = "111122223333", "us-east-1"
TOPIC = "arn:aws:sns:us-east-1:123456789012:alarms"


class Sns:
    """A publisher that fails while ``down`` and keeps what it published."""

    def __init__(self, down: bool = False) -> None:
        self.down = down
        self.published: list[tuple[str, str, str]] = []

    def __call__(self, topic: str, subject: str, message: str) -> str | None:
        if self.down:
            return "ServiceUnavailable"
        self.published.append((topic, subject, message))
        return None


def put_alarm(service: CloudWatchService, name: str = "root-use", **extra: object) -> None:
    request = {"AlarmName": name, "Namespace": "CIS", "MetricName": "RootUse", "Statistic": "Sum", "Period": 10,
               "EvaluationPeriods": 1, "Threshold": 1.0, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
               "AlarmActions": [TOPIC], **extra}
    service.put_metric_alarm(ACCOUNT, REGION, validate_put_metric_alarm(request, REGION))


def state(service: CloudWatchService, name: str = "root-use") -> tuple[str, float]:
    alarm = service.alarm(ACCOUNT, REGION, name)
    assert alarm is not None
    return alarm.state_value, alarm.state_updated_s


def test_staged_changes_are_dropped_without_commit(tmp_path: Path) -> None:
    service = CloudWatchService(tmp_path, ManualClock(), publish=Sns())
    with service.staged_changes():
        put_alarm(service)
        assert service.alarm(ACCOUNT, REGION, "root-use") is None  # not written yet
    assert service.alarm(ACCOUNT, REGION, "root-use") is None
    assert service.alarms.history(ACCOUNT, REGION) == []
    with service.staged_changes() as commit:
        put_alarm(service)
        commit()
    assert state(service) == ("INSUFFICIENT_DATA", T0)
    service.close()


def test_late_metric_filter_point_is_evaluated_at_once(tmp_path: Path) -> None:
    clock = ManualClock()
    sns = Sns()
    service = CloudWatchService(tmp_path, clock, publish=sns)
    put_alarm(service)
    clock.advance(20)
    service.tick()  # evaluates [T0-10, T0+20): no data
    assert state(service) == ("INSUFFICIENT_DATA", T0)
    clock.advance(1)  # T0+21: a point for the period [T0+10, T0+20) arrives late
    service.put_metric_points(ACCOUNT, REGION, "CIS", "RootUse", {}, T0 + 15, 1.0)
    service.tick()
    assert state(service) == ("ALARM", T0 + 21)
    ((topic, subject, message),) = sns.published
    assert (topic, subject) == (TOPIC, 'ALARM: "root-use" in US East (N. Virginia)')
    assert json.loads(message)["NewStateReason"] == (
        "Threshold Crossed: 1 datapoint [1.0 (02/12/26 10:00:10)] was greater than or equal to the threshold (1.0).")
    service.close()


def test_evaluation_waits_for_the_end_of_the_period(tmp_path: Path) -> None:
    clock = ManualClock()
    service = CloudWatchService(tmp_path, clock, publish=Sns())
    put_alarm(service)
    service.tick()
    clock.advance(5)
    service.put_metric_points(ACCOUNT, REGION, "CIS", "RootUse", {}, T0 + 4, 3.0)
    service.tick()  # prompt, but [T0, T0+10) has not ended
    assert state(service) == ("INSUFFICIENT_DATA", T0)
    clock.advance(4.9)
    assert service.scheduler.run_due() == 0  # the next boundary is T0+10
    clock.advance(0.1)
    assert service.scheduler.run_due() == 1
    assert state(service) == ("ALARM", T0 + 10)
    service.put_metric_points(ACCOUNT, REGION, "Other", "RootUse", {}, T0 + 10, 3.0)  # another metric: not due
    assert service.flush_points() == 1
    assert service.scheduler.run_due() == 0
    service.put_metric_points(ACCOUNT, REGION, "CIS", "RootUse", {}, T0 + 10, 3.0)
    service.put_metric_points(ACCOUNT, REGION, "CIS", "RootUse", {}, T0 + 11, 3.0)
    assert service.flush_points() == 2
    assert service.scheduler.run_due() == 1  # its metric changed: evaluated now
    with pytest.raises(InvalidParameterValue) as info:
        service.put_metric_points(ACCOUNT, REGION, "CIS", "RootUse", {}, T0 + 11, float("nan"))
    assert info.value.message.endswith(" for parameter MetricData.member.1.Value is invalid.")  # h-alarms' wording
    assert service.flush_points() == 0
    service.close()


def test_pending_actions_survive_a_restart(tmp_path: Path) -> None:
    clock = ManualClock()
    down = Sns(down=True)
    service = CloudWatchService(tmp_path, clock, publish=down)
    put_alarm(service)
    service.set_alarm_state(ACCOUNT, REGION, "root-use", "ALARM", "by hand", None)
    service.actions.run_due()
    service.close()

    clock.advance(1)
    up = Sns()
    again = CloudWatchService(tmp_path, clock, publish=up)
    assert [a.attempts for a in again.alarms.pending_actions()] == [1]
    again.actions.run_due()
    assert [t for t, _, _ in up.published] == [TOPIC]
    assert again.alarms.pending_actions() == []
    summaries = [i.summary for i in again.alarms.history(ACCOUNT, REGION, item_type="Action", ascending=True)]
    assert summaries == [f'Failed to execute action {TOPIC}. Received error: "ServiceUnavailable"',
                         f"Successfully executed action {TOPIC}"]
    assert state(again) == ("ALARM", T0)
    again.close()


def test_update_keeps_state_and_history_stays_after_delete(tmp_path: Path) -> None:
    clock = ManualClock()
    service = CloudWatchService(tmp_path, clock, publish=Sns())
    put_alarm(service)
    service.set_alarm_state(ACCOUNT, REGION, "root-use", "OK", "fine", '{"a": 1}')
    clock.advance(60)
    put_alarm(service, Threshold=5.0)
    alarm = service.alarm(ACCOUNT, REGION, "root-use")
    assert alarm is not None
    assert (alarm.state_value, alarm.state_reason, alarm.threshold, alarm.configuration_updated_s) == (
        "OK", "fine", 5.0, T0 + 60)
    service.delete_alarms(ACCOUNT, REGION, ["root-use"])
    service.close()
    reopened = CloudWatchService(tmp_path, clock, publish=Sns())
    assert reopened.alarm(ACCOUNT, REGION, "root-use") is None
    assert [i.summary for i in reopened.alarms.history(ACCOUNT, REGION, ascending=True)] == [
        'Alarm "root-use" created', "Alarm updated from INSUFFICIENT_DATA to OK", 'Alarm "root-use" updated',
        'Alarm "root-use" deleted']
    reopened.close()
