"""StateReason and StateReasonData of an evaluated alarm, in AWS's words and layout.

Forms, from alarm states, SNS messages and EventBridge events AWS sent (quoted in public code and
the CloudWatch User Guide; the recordings of LocalStack's AWS-validated snapshot tests):

- alarm with ``DatapointsToAlarm`` set (M of N):
  ``Threshold Crossed: 1 out of the last 1 datapoints [5.0 (02/12/26 10:00:00)] was greater than or
  equal to the threshold (1.0) (minimum 1 datapoint for OK -> ALARM transition).`` -- to OK: ``... was
  not greater than ... (minimum N-M+1 datapoint for ALARM -> OK transition).``; with filled missing
  datapoints ``... the threshold (1.0) and 19 missing datapoints were treated as [NonBreaching]
  (minimum 1 datapoint for OK -> ALARM transition).``;
- alarm without it (short form): ``Threshold Crossed: 1 datapoint [21.5 (26/10/23 16:42:00)] was
  greater than the threshold (2.0).``, ``... and 7 missing datapoints were treated as [Breaching].``;
- five or more datapoints: ``Threshold Crossed: 5 out of the last 5 datapoints were less than the
  threshold (65.0). The most recent datapoints which crossed the threshold: [five newest] (minimum 5
  datapoints for OK -> ALARM transition).`` (short form: ``Threshold Crossed: 24 datapoints were
  greater than the threshold (0.0). The most recent datapoints which crossed the threshold: [...].``);
- only filled datapoints crossed: ``Threshold Crossed: no datapoints were received for 2 periods and 2
  missing datapoints were treated as [Breaching].`` / ``... 1 datapoint was received for 3 periods
  and 2 missing datapoints were treated as [Breaching].``;
- INSUFFICIENT_DATA: ``Insufficient Data: 1 datapoint was unknown.`` / ``5 datapoints were unknown.``

The datapoints listed are those that crossed the threshold towards the new state, newest first,
each as ``<value> (dd/MM/yy HH:mm:ss)`` of its period start (UTC); values as Java prints doubles.

StateReasonData: ``{"version":"1.0","queryDate":...,"startDate":...,"unit":...,"statistic":...,
"period":60,"recentDatapoints":[oldest..newest],"threshold":1.0,"evaluatedDatapoints":[{"timestamp":
...,"sampleCount":1.0,"value":5.0}, {"timestamp": ...} (a missing one), ...]}`` -- ``startDate`` only
when a real datapoint was evaluated, ``unit`` only when the alarm has one; ``extendedStatistic``
replaces ``statistic`` for percentile alarms (opentrail's choice: no AWS sample seen).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

from .alarm_model import ALARM, COMPARISONS, AlarmConfig, Slot
from .javajson import dumps, java_double, java_timestamp

#: At most this many datapoints are listed inline; more use the "most recent datapoints" form.
INLINE_DATAPOINTS = 4
#: The "most recent datapoints which crossed the threshold" list shows this many.
RECENT_LISTED = 5


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _was(count: int) -> str:
    return "was" if count == 1 else "were"


def format_datapoint(slot: Slot) -> str:
    """``5.0 (02/12/26 10:00:00)``."""
    when = datetime.fromtimestamp(slot.timestamp_s, timezone.utc).strftime("%d/%m/%y %H:%M:%S")
    return f"{java_double(slot.value if slot.value is not None else 0.0)} ({when})"


def threshold_reason(
    config: AlarmConfig,
    state: str,
    crossed: Sequence[Slot],
    received: int,
    filled: int,
    fill_as: str | None,
) -> str:
    """The ``Threshold Crossed: ...`` reason of a transition to ``state`` (ALARM or OK).

    ``crossed``: the real datapoints on the new state's side of the threshold, newest first;
    ``received``: the real datapoints evaluated; ``filled``: missing datapoints filled in with
    TreatMissingData, shown as ``fill_as`` (``Breaching`` / ``NonBreaching``)."""
    n = config.evaluation_periods
    fill = f" and {_plural(filled, 'missing datapoint')} {_was(filled)} treated as [{fill_as}]" if filled else ""
    if not crossed:
        got = "no datapoints were" if received == 0 else f"{_plural(received, 'datapoint')} {_was(received)}"
        return f"Threshold Crossed: {got} received for {_plural(n, 'period')}{fill}."
    k = len(crossed)
    words = COMPARISONS[config.comparison_operator][1]
    relation = words if state == ALARM else f"not {words}"
    listed = ", ".join(format_datapoint(s) for s in crossed[:RECENT_LISTED])
    if config.datapoints_to_alarm is not None:
        head = f"{k} out of the last {n} datapoints"
        needed = config.m if state == ALARM else n - config.m + 1
        transition = "OK -> ALARM" if state == ALARM else "ALARM -> OK"
        tail = f" (minimum {_plural(needed, 'datapoint')} for {transition} transition)."
    else:
        head = _plural(k, "datapoint")
        tail = "."
    if k <= INLINE_DATAPOINTS:
        return f"Threshold Crossed: {head} [{listed}] {_was(k)} {relation} the threshold " \
               f"({java_double(config.threshold)}){fill}{tail}"
    recent = f" The most recent datapoints which crossed the threshold: [{listed}]"
    if config.datapoints_to_alarm is not None:
        return f"Threshold Crossed: {head} {_was(k)} {relation} the threshold ({java_double(config.threshold)})" \
               f"{fill}.{recent}{tail}"
    return f"Threshold Crossed: {head} {_was(k)} {relation} the threshold ({java_double(config.threshold)})" \
           f"{fill}.{recent}."


def insufficient_reason(unknown: int) -> str:
    """``Insufficient Data: 1 datapoint was unknown.``"""
    return f"Insufficient Data: {_plural(unknown, 'datapoint')} {_was(unknown)} unknown."


def reason_data(
    config: AlarmConfig,
    now_s: float,
    evaluated: Sequence[Slot],
    listed: Sequence[Slot],
) -> str:
    """StateReasonData (JSON text). ``evaluated``: every datapoint the decision used, real ones
    and filled/unknown ones (value None), any order; ``listed``: those shown in
    ``evaluatedDatapoints`` (real ones with their sampleCount and value)."""
    real = sorted((s for s in evaluated if s.value is not None), key=lambda s: s.timestamp_s)
    data: dict[str, object] = {"version": "1.0", "queryDate": java_timestamp(now_s)}
    if real:
        data["startDate"] = java_timestamp(min(s.timestamp_s for s in evaluated))
    if config.unit:
        data["unit"] = config.unit
    if config.statistic:
        data["statistic"] = config.statistic
    elif config.extended_statistic:
        data["extendedStatistic"] = config.extended_statistic
    data["period"] = config.period_s
    data["recentDatapoints"] = [float(s.value) for s in real if s.value is not None]
    data["threshold"] = float(config.threshold)
    entries: list[dict[str, object]] = []
    for slot in sorted(listed, key=lambda s: -s.timestamp_s):
        entry: dict[str, object] = {"timestamp": java_timestamp(slot.timestamp_s)}
        if slot.value is not None:
            entry["sampleCount"] = float(slot.sample_count if slot.sample_count is not None else 0.0)
            entry["value"] = float(slot.value)
        entries.append(entry)
    data["evaluatedDatapoints"] = entries
    return dumps(data)
