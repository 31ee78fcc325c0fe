"""Why an event does not match a pattern, in one line, for the console's pattern tester.

The reason names the first field (in the pattern's own order) whose test fails, with the event's
value(s) and the pattern's, e.g. ``detail.eventName: "StopLogging" is not one of ["DeleteTrail"]``.
"""

from __future__ import annotations

from typing import Any

import orjson

from opentrail.eventbridge.pattern_eval import Lookup, compile_field, compile_node
from opentrail.eventbridge.pattern_syntax import Field, Node


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _field_reason(field: Field, values: list[Any]) -> str:
    name = field.name
    wanted = [m.source for m in field.matchers]
    if not values:
        return f"{name}: missing; the pattern wants {_json(wanted)}"
    shown = _json(values[0]) if len(values) == 1 else _json(list(values))
    kinds = {m.kind for m in field.matchers}
    if kinds == {"exact"}:
        return f"{name}: {shown} is not one of {_json(wanted)}"
    if kinds == {"exists"}:
        return f"{name}: {shown} exists; the pattern wants it absent"
    return f"{name}: {shown} does not match {_json(wanted)}"


def explain_node(node: Node, lookup: Lookup) -> str | None:
    """None when ``node`` matches, else the reason of its first failing field or ``$or`` group."""
    for field in node.fields:
        values = lookup(field.name)
        if not compile_field(field.matchers)(values):
            return _field_reason(field, values)
    for group in node.ors:
        if any(compile_node(alternative)(lookup) for alternative in group):
            continue
        reasons = [explain_node(alternative, lookup) for alternative in group]
        return "no $or branch matches: " + "; ".join(r for r in reasons if r)
    return None
