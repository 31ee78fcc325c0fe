"""PutMetricAlarm's parameters checked as CloudWatch checks them, for metric alarms on one metric.

:func:`validate_put_metric_alarm` takes the request as botocore parses it (wire member names,
``Dimensions`` as ``[{"Name", "Value"}]``) and returns a :class:`MetricAlarmDefinition`, or raises
the first error in this order (model constraints first, as AWS's front end does):

1. model constraints -> ``ValidationError`` in AWS's generated form, e.g. ``1 validation error
   detected: Value 'Mean' at 'statistic' failed to satisfy constraint: Member must satisfy enum value
   set: [Maximum, SampleCount, Sum, Minimum, Average]`` (AWS lists that enum in this order) or
   ``... Value '[a, b, c, d, e, f]' at 'alarmActions' failed to satisfy constraint: Member must have
   length less than or equal to 5``; several violations are joined by ``; `` and counted;
2. ``Statistic should not be set if list of Metrics is set.`` / ``MetricName must not be null``
   (ValidationError, AWS's answers quoted in cfn-lint#766 and #771); metric math and anomaly
   detection alarms are refused (opentrail does not evaluate them yet, its own wording);
3. Statistic xor ExtendedStatistic (ValidationError; wording as another emulator recorded it);
   ``The value 90 for parameter ExtendedStatistic is not supported.`` (InvalidParameterValue, moto's
   AWS-matched test); ``Option unknown is not supported. Supported options for parameter
   EvaluateLowSampleCountPercentile are evaluate and ignore.`` (ValidationError, same source);
4. ``The value x is not supported for TreatMissingData parameter. Supported values are [breaching,
   notBreaching, ignore, missing].`` (ValidationError, LocalStack's provider);
5. ``Period must be 10, 20, 30 or a multiple of 60`` (ValidationError; AWS answered "Period must be
   10, 30 or a multiple of 60" before 20-second alarms existed, awsdocs/aws-cloudformation-user-guide
   #777); Period x EvaluationPeriods at most 86,400 s for periods under an hour and 604,800 s
   otherwise (the model's Period documentation): ``Metrics cannot be checked across more than a day
   (EvaluationPeriods * Period must be <= 86400).`` (InvalidParameterCombination, as Eucalyptus, an
   AWS-compatible implementation, words it) and ``... more than a week (... <= 604800).``;
6. ``DatapointsToAlarm must be less than or equal to EvaluationPeriods`` (ValidationError,
   hashicorp/terraform#24070);
7. actions: SNS topic ARNs of the alarm's Region; another Region gives ``Invalid region eu-west-1
   specified. Only us-east-1 is supported.`` (ValidationError, quoted in many public Terraform
   projects); an ARN that does not parse gives ``Invalid arn syntax: <arn>``; other action types
   (EC2, Auto Scaling, Lambda, Systems Manager) are refused in opentrail's words: it cannot run them.

Messages not seen from AWS are listed as opentrail's in docs/monitoring-metrics.md.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .alarm_model import ANOMALY_COMPARISONS, COMPARISONS, TREAT_MISSING_DATA, AlarmConfig
from .errors import InvalidParameterCombination, InvalidParameterValue, ValidationError
from .statistics import parse_extended_statistic

#: The Statistic enum in the order AWS's validation message lists it.
STATISTIC_ENUM_MESSAGE = "[Maximum, SampleCount, Sum, Minimum, Average]"
COMPARISON_ENUM = tuple(COMPARISONS) + ANOMALY_COMPARISONS
UNITS = (
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
    "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
    "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second",
    "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
)
ACTION_LISTS = ("OKActions", "AlarmActions", "InsufficientDataActions")
MAX_ACTIONS = 5
DAY_S = 86400
WEEK_S = 604800
_ARN = re.compile(r"^arn:(aws[a-z-]*):([a-z0-9-]+):([a-z0-9-]*):([^:]*):(.+)$")
_SNS_TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,256}(\.fifo)?$")


@dataclass(frozen=True)
class MetricAlarmDefinition:
    """A validated PutMetricAlarm for a metric alarm: the evaluator's :class:`AlarmConfig` plus
    what the alarm store and the messages need."""

    alarm_name: str
    config: AlarmConfig
    metric_name: str
    namespace: str | None
    dimensions: tuple[tuple[str, str], ...]
    alarm_description: str | None = None
    actions_enabled: bool = True
    ok_actions: tuple[str, ...] = ()
    alarm_actions: tuple[str, ...] = ()
    insufficient_data_actions: tuple[str, ...] = ()
    tags: tuple[tuple[str, str], ...] = field(default=())


def _java_list(values: Sequence[object]) -> str:
    return "[" + ", ".join(str(v) for v in values) + "]"


def _constraint_errors(request: Mapping[str, Any]) -> list[str]:
    """Model-constraint violations as ``Value '<v>' at '<member>' failed to satisfy constraint: ...``."""
    errors: list[str] = []

    def add(member: str, value: object, constraint: str) -> None:
        shown = "null" if value is None else f"'{value}'"
        errors.append(f"Value {shown} at '{member}' failed to satisfy constraint: {constraint}")

    def length(member: str, value: object, low: int, high: int) -> None:
        if value is None:
            return
        if len(value) < low:  # type: ignore[arg-type]
            add(member, value, f"Member must have length greater than or equal to {low}")
        elif len(value) > high:  # type: ignore[arg-type]
            add(member, value, f"Member must have length less than or equal to {high}")

    name = request.get("AlarmName")
    if name is None:
        add("alarmName", None, "Member must not be null")
    length("alarmName", name, 1, 255)
    length("alarmDescription", request.get("AlarmDescription"), 0, 1024)
    for member in ACTION_LISTS:
        actions = request.get(member)
        if actions is not None and len(actions) > MAX_ACTIONS:
            add(member[0].lower() + member[1:], _java_list(actions),
                f"Member must have length less than or equal to {MAX_ACTIONS}")
    length("metricName", request.get("MetricName"), 1, 255)
    namespace = request.get("Namespace")
    length("namespace", namespace, 1, 255)
    if namespace and namespace.startswith(":"):
        add("namespace", namespace, "Member must satisfy regular expression pattern: [^:].*")
    statistic = request.get("Statistic")
    if statistic is not None and statistic not in ("SampleCount", "Average", "Sum", "Minimum", "Maximum"):
        add("statistic", statistic, f"Member must satisfy enum value set: {STATISTIC_ENUM_MESSAGE}")
    dimensions = request.get("Dimensions")
    if dimensions is not None and len(dimensions) > 30:
        add("dimensions", _java_list(dimensions), "Member must have length less than or equal to 30")
    for member, key in (("period", "Period"), ("evaluationPeriods", "EvaluationPeriods"),
                        ("datapointsToAlarm", "DatapointsToAlarm")):
        number = request.get(key)
        if number is not None and number < 1:
            add(member, number, "Member must have value greater than or equal to 1")
    unit = request.get("Unit")
    if unit is not None and unit not in UNITS:
        add("unit", unit, f"Member must satisfy enum value set: {_java_list(UNITS)}")
    operator = request.get("ComparisonOperator")
    if operator is not None and operator not in COMPARISON_ENUM:
        add("comparisonOperator", operator, f"Member must satisfy enum value set: {_java_list(COMPARISON_ENUM)}")
    length("treatMissingData", request.get("TreatMissingData"), 1, 255)
    length("evaluateLowSampleCountPercentile", request.get("EvaluateLowSampleCountPercentile"), 1, 255)
    return errors


def check_actions(request: Mapping[str, Any], region: str) -> None:
    """Each action must be an SNS topic ARN in ``region`` (see the module docstring)."""
    for member in ACTION_LISTS:
        for arn in request.get(member) or ():
            match = _ARN.match(arn)
            if not match:
                raise ValidationError(f"Invalid arn syntax: {arn}")
            service, arn_region, resource = match.group(2), match.group(3), match.group(5)
            if service != "sns":
                raise ValidationError(
                    f"opentrail runs only Amazon SNS alarm actions; {arn} is not an SNS topic ARN."
                )
            if not re.fullmatch(r"\d{12}", match.group(4)) or not _SNS_TOPIC.match(resource):
                raise ValidationError(f"Invalid arn syntax: {arn}")
            if arn_region != region:
                raise ValidationError(f"Invalid region {arn_region} specified. Only {region} is supported.")


def validate_put_metric_alarm(request: Mapping[str, Any], region: str) -> MetricAlarmDefinition:
    """The validated alarm of a PutMetricAlarm ``request`` made in ``region``.

    Raises ValidationError, InvalidParameterValue or InvalidParameterCombination (module docstring).
    """
    errors = _constraint_errors(request)
    if errors:
        count = "1 validation error" if len(errors) == 1 else f"{len(errors)} validation errors"
        raise ValidationError(f"{count} detected: {'; '.join(errors)}")
    statistic, extended = request.get("Statistic"), request.get("ExtendedStatistic")
    if request.get("Metrics"):
        if statistic is not None or extended is not None:
            raise ValidationError("Statistic should not be set if list of Metrics is set.")
        raise ValidationError("opentrail does not evaluate metric math alarms (Metrics) yet; "
                              "give MetricName, Namespace, Statistic and Period instead.")
    for unsupported in ("EvaluationCriteria", "EvaluationInterval", "EvaluationWindow", "WarmUpConfiguration"):
        if request.get(unsupported) is not None:
            raise ValidationError(f"opentrail does not support {unsupported} in PutMetricAlarm yet.")
    operator = request.get("ComparisonOperator")
    if request.get("ThresholdMetricId") is not None or operator in ANOMALY_COMPARISONS:
        raise ValidationError("opentrail does not evaluate anomaly detection alarms (ThresholdMetricId) yet.")
    if request.get("MetricName") is None:
        raise ValidationError("MetricName must not be null")
    if statistic is not None and extended is not None:
        raise ValidationError("PutMetricAlarm request can not be made with both Statistic and ExtendedStatistic "
                              "parameters. Only one of them should be present")
    if statistic is None and extended is None:
        raise ValidationError("PutMetricAlarm request should have a Statistic parameter")
    if extended is not None and parse_extended_statistic(extended) is None:
        raise InvalidParameterValue(f"The value {extended} for parameter ExtendedStatistic is not supported.")
    low_sample = request.get("EvaluateLowSampleCountPercentile")
    if low_sample is not None:
        if low_sample not in ("evaluate", "ignore"):
            raise ValidationError(f"Option {low_sample} is not supported. Supported options for parameter "
                                  "EvaluateLowSampleCountPercentile are evaluate and ignore.")
        parsed = parse_extended_statistic(extended) if extended else None
        if parsed is None or parsed.kind != "p":
            raise ValidationError(f"Option evaluateLowSampleCountPercentile can not be applied with statistic "
                                  f"{statistic or extended}. This option is enabled only for percentile statistics.")
    treat = request.get("TreatMissingData")
    if treat is not None and treat not in TREAT_MISSING_DATA:
        raise ValidationError(f"The value {treat} is not supported for TreatMissingData parameter. "
                              "Supported values are [breaching, notBreaching, ignore, missing].")
    for required in ("Period", "EvaluationPeriods", "Threshold", "ComparisonOperator"):
        if request.get(required) is None:
            raise ValidationError(f"{required} must not be null")
    period, n = int(request["Period"]), int(request["EvaluationPeriods"])
    if period not in (10, 20, 30) and period % 60:
        raise ValidationError("Period must be 10, 20, 30 or a multiple of 60")
    if period < 3600 and period * n > DAY_S:
        raise InvalidParameterCombination(
            f"Metrics cannot be checked across more than a day (EvaluationPeriods * Period must be <= {DAY_S})."
        )
    if period * n > WEEK_S:
        raise InvalidParameterCombination(
            f"Metrics cannot be checked across more than a week (EvaluationPeriods * Period must be <= {WEEK_S})."
        )
    m = request.get("DatapointsToAlarm")
    if m is not None and int(m) > n:
        raise ValidationError("DatapointsToAlarm must be less than or equal to EvaluationPeriods")
    threshold = float(request["Threshold"])
    if math.isnan(threshold) or math.isinf(threshold):
        raise InvalidParameterValue(f"The value {request['Threshold']} for parameter Threshold is not supported.")
    check_actions(request, region)
    config = AlarmConfig(
        period_s=period,
        evaluation_periods=n,
        threshold=threshold,
        comparison_operator=str(operator),
        statistic=statistic,
        extended_statistic=extended,
        datapoints_to_alarm=int(m) if m is not None else None,
        treat_missing_data=treat,
        evaluate_low_sample_count_percentile=low_sample,
        unit=request.get("Unit"),
        namespace=request.get("Namespace"),
    )
    return MetricAlarmDefinition(
        alarm_name=request["AlarmName"],
        config=config,
        metric_name=request["MetricName"],
        namespace=request.get("Namespace"),
        dimensions=tuple((d["Name"], d["Value"]) for d in request.get("Dimensions") or ()),
        alarm_description=request.get("AlarmDescription"),
        actions_enabled=bool(request.get("ActionsEnabled", True)),
        ok_actions=tuple(request.get("OKActions") or ()),
        alarm_actions=tuple(request.get("AlarmActions") or ()),
        insufficient_data_actions=tuple(request.get("InsufficientDataActions") or ()),
        tags=tuple((t["Key"], t.get("Value", "")) for t in request.get("Tags") or ()),
    )
