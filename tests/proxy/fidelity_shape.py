"""How test_fidelity compares a proxy record with a real CloudTrail record: by shape and value
format, not by the values that naturally differ (ids, times, names, account numbers)."""

from __future__ import annotations

import re
from typing import Any

_FORMATS = (
    ("time-comma", re.compile(r"^[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d\d:\d\d [AP]M$")),
    ("time", re.compile(r"^[A-Z][a-z]{2} \d{1,2}, \d{4} \d{1,2}:\d\d:\d\d [AP]M$")),
    ("iso-time", re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")),
)


def value_format(value: Any) -> str:
    """``bool``, ``int``, ``float``, ``null``, ``list``, ``object`` or, for text, the first of
    ``time-comma`` (``Aug 1, 2024, 1:33:28 PM``), ``time`` (``Aug 1, 2024 1:33:28 PM``) and
    ``iso-time`` it matches, else ``text`` (names, ARNs and ids are text: what they look like
    depends on what the caller sent)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if value is None:
        return "null"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    for name, pattern in _FORMATS:
        if pattern.match(str(value)):
            return name
    return "text"


def paths(value: Any, prefix: str = "") -> dict[str, str]:
    """Every member path of ``value`` (``a.b``, lists as ``a.[].b``, first element only) with its
    :func:`value_format`, in document order."""
    out: dict[str, str] = {}
    if isinstance(value, dict):
        for k, v in value.items():
            out[prefix + k] = value_format(v)
            out.update(paths(v, prefix + k + "."))
    elif isinstance(value, list) and value:
        out.update(paths(value[0], prefix + "[]."))
    return out
