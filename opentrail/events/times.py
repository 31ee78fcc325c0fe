"""CloudTrail eventTime parsing and formatting.

CloudTrail writes eventTime as ``YYYY-MM-DDTHH:MM:SSZ`` (UTC, second precision; CloudTrail User
Guide, "CloudTrail record contents"). Real-world copies of records are looser, so the parser
accepts, besides that form:

- a space instead of ``T`` (Panther, LookupEvents output rendered by some tools);
- fractional seconds of any length (milliseconds, microseconds, nanoseconds) -- truncated;
- a ``Z``, ``+HH:MM``, ``+HHMM`` or ``+HH`` zone, or no zone at all (taken as UTC).

Times are integer epoch seconds everywhere in opentrail (see :mod:`opentrail.store.base`).
"""

from __future__ import annotations

import calendar
import re
import time

_EVENT_TIME = re.compile(
    r"""^\s*
    (?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})
    [Tt ]
    (?P<h>\d{2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,]\d+)?)?
    \s*
    (?P<zone>[Zz]|(?P<sign>[+-])(?P<zh>\d{2})(?::?(?P<zm>\d{2}))?)?
    \s*$""",
    re.VERBOSE,
)


#: Recently parsed eventTimes (events come in bursts sharing a second); dropped when full.
_RECENT: dict[str, int] = {}
_RECENT_MAX = 65_536


def parse_event_time(value: object) -> int:
    """Parse an eventTime string into epoch seconds (UTC, fractions truncated).

    Raises ValueError when ``value`` is not a string, does not match one of the accepted forms
    (see the module docstring) or names an impossible date or time (month 13, hour 25...).
    """
    if type(value) is str:
        seconds = _RECENT.get(value)
        if seconds is not None:
            return seconds
        seconds = _parse(value)
        if len(_RECENT) >= _RECENT_MAX:
            _RECENT.clear()
        _RECENT[value] = seconds
        return seconds
    return _parse(value)


def _parse(value: object) -> int:
    if not isinstance(value, str):
        raise ValueError(f"eventTime must be a string, got {type(value).__name__}")
    m = _EVENT_TIME.match(value)
    if m is None:
        raise ValueError(f"unrecognised eventTime {value!r}")
    y, mo, d = int(m["y"]), int(m["mo"]), int(m["d"])
    h, mi, s = int(m["h"]), int(m["mi"]), int(m["s"] or 0)
    if y < 1 or not 1 <= mo <= 12 or not 1 <= d <= calendar.monthrange(y, mo)[1]:
        raise ValueError(f"impossible date in eventTime {value!r}")
    if h > 23 or mi > 59 or s > 60:  # 60: a leap second, folded into the next minute
        raise ValueError(f"impossible time of day in eventTime {value!r}")
    offset = 0
    if m["sign"]:
        zh, zm = int(m["zh"]), int(m["zm"] or 0)
        if zh > 23 or zm > 59:
            raise ValueError(f"impossible zone offset in eventTime {value!r}")
        offset = (zh * 3600 + zm * 60) * (1 if m["sign"] == "+" else -1)
    return calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0)) - offset


def format_event_time(epoch_s: int) -> str:
    """Format epoch seconds as CloudTrail writes eventTime: ``YYYY-MM-DDTHH:MM:SSZ`` (UTC)."""
    t = time.gmtime(epoch_s)
    return (
        f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}"
        f"T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}Z"
    )
