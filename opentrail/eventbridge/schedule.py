"""PutRule's ScheduleExpression, syntax-checked as EventBridge documents it ("Creating an Amazon
EventBridge rule that runs on a schedule"): ``rate(<value> <unit>)`` with a positive whole value
and the unit ``minute``/``hour``/``day`` for 1, ``minutes``/``hours``/``days`` otherwise; or
``cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>)`` with the documented
ranges and wildcards (``, - * / ? L W #``), one of day-of-month and day-of-week being ``?``.

opentrail accepts and keeps schedules but does not fire them (see docs/eventbridge.md).
"""

from __future__ import annotations

import re

_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_CRON = re.compile(r"cron\(([^()]*)\)")
_MONTHS = {m: i for i, m in enumerate(
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1)}
_DAYS = {d: i for i, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), 1)}
#: Field -> (low, high, names).
_FIELDS: tuple[tuple[int, int, dict[str, int]], ...] = (
    (0, 59, {}), (0, 23, {}), (1, 31, {}), (1, 12, _MONTHS), (1, 7, _DAYS), (1970, 2199, {}))
_DAY_OF_MONTH, _DAY_OF_WEEK = 2, 4


def is_valid_schedule(expression: str) -> bool:
    """True when ``expression`` is a ``rate(...)`` or ``cron(...)`` expression EventBridge accepts."""
    m = _RATE.fullmatch(expression)
    if m is not None:
        value = int(m.group(1))
        return value > 0 and (value == 1) == (not m.group(2).endswith("s"))
    m = _CRON.fullmatch(expression)
    if m is None:
        return False
    fields = m.group(1).split()
    if len(fields) != 6:
        return False
    if (fields[_DAY_OF_MONTH] == "?") == (fields[_DAY_OF_WEEK] == "?"):
        return False  # exactly one of day-of-month and day-of-week is "?"
    return all(_field_ok(i, text) for i, text in enumerate(fields))


def _value(text: str, low: int, high: int, names: dict[str, int]) -> int | None:
    if text.upper() in names:
        return names[text.upper()]
    if text.isdigit() and low <= int(text) <= high:
        return int(text)
    return None


def _field_ok(index: int, text: str) -> bool:
    low, high, names = _FIELDS[index]
    if text == "?":
        return index in (_DAY_OF_MONTH, _DAY_OF_WEEK)
    for item in text.split(","):
        if not _item_ok(index, item, low, high, names):
            return False
    return True


def _item_ok(index: int, item: str, low: int, high: int, names: dict[str, int]) -> bool:
    if index == _DAY_OF_MONTH and (item in ("L", "LW") or (item.endswith("W") and _value(item[:-1], 1, 31, {}))):
        return True
    if index == _DAY_OF_WEEK:
        if item == "L" or (item.endswith("L") and _value(item[:-1], low, high, names) is not None):
            return True
        if "#" in item:
            day, _, nth = item.partition("#")
            return _value(day, low, high, names) is not None and nth in ("1", "2", "3", "4", "5")
    base, slash, step = item.partition("/")
    if slash and not (step.isdigit() and int(step) > 0):
        return False
    if base == "*":
        return True
    first, dash, last = base.partition("-")
    if _value(first, low, high, names) is None:
        return False
    return not dash or _value(last, low, high, names) is not None
