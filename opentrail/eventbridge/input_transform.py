"""What a target receives: the event, or its Input / InputPath / InputTransformer.

AWS's rules (EventBridge User Guide, "Transforming Amazon EventBridge target input"; API
Reference, "Target", "InputTransformer"), and opentrail with them:

- No input setting: the event's JSON.
- ``Input``: that JSON text, as given.
- ``InputPath``: the JSON of the part of the event the path selects. Paths are the JSONPath subset
  EventBridge documents: ``$``, ``$.a.b`` (names may hold ``-``), ``$.a[0]``, ``$['a']``
  (:func:`select`). A path that selects nothing gives ``null``.
- ``InputTransformer``: ``InputPathsMap`` names values (same paths); ``InputTemplate`` holds
  ``<name>`` placeholders for them and for the predefined ``<aws.events.rule-arn>``,
  ``<aws.events.rule-name>``, ``<aws.events.event.ingestion-time>``, ``<aws.events.event>`` (the
  event) and ``<aws.events.event.json>`` (the event's JSON text). A template that is a JSON object
  or array yields JSON: a placeholder outside a JSON string is replaced by the value's JSON (a
  string gets its quotes), one inside a string by the value itself, unescaped (a string's
  characters, anything else its JSON) -- "EventBridge doesn't escape values extracted by Input
  Path". The result is sent minified when it is valid JSON, as it is otherwise. Any other template
  (a quoted string, plain text) yields text, every placeholder replaced by the value itself. A
  name whose path selects nothing is replaced by nothing (by ``null`` outside a JSON string).
  ``<name>`` with a name the transformer does not define stays as written.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Mapping

import orjson

#: The predefined variables (reserved names).
RULE_ARN = "aws.events.rule-arn"
RULE_NAME = "aws.events.rule-name"
INGESTION_TIME = "aws.events.event.ingestion-time"
EVENT = "aws.events.event"
EVENT_JSON = "aws.events.event.json"
PREDEFINED = frozenset({RULE_ARN, RULE_NAME, INGESTION_TIME, EVENT, EVENT_JSON})

_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")
_STEP = re.compile(r"""\.([^.\[\]]+)|\[(\d+)\]|\[(?:'([^']*)'|"([^"]*)")\]""")
_MISSING: Any = object()


def select(event: Any, path: str) -> Any:
    """The value ``path`` selects in ``event``, or :data:`_MISSING`. Raises ValueError for a path
    outside the subset (not starting with ``$``, or an unreadable step)."""
    if not path.startswith("$"):
        raise ValueError(f"{path!r} is not a JSON path")
    value, pos = event, 1
    while pos < len(path):
        m = _STEP.match(path, pos)
        if m is None:
            raise ValueError(f"{path!r} is not a JSON path EventBridge reads")
        name, index, quoted1, quoted2 = m.groups()
        key = name if name is not None else quoted1 if quoted1 is not None else quoted2
        if key is not None:
            if not isinstance(value, dict) or key not in value:
                return _MISSING
            value = value[key]
        else:
            if not isinstance(value, list) or int(index) >= len(value):
                return _MISSING
            value = value[int(index)]
        pos = m.end()
    return value


def _select_or_missing(event: Any, path: str) -> Any:
    try:
        return select(event, path)
    except ValueError:
        return _MISSING


def iso_time(epoch_s: float) -> str:
    """``2026-01-02T03:04:05Z`` (second precision, UTC), the form of the envelope's ``time``."""
    return datetime.fromtimestamp(int(epoch_s), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _raw(value: Any) -> str:
    return value if isinstance(value, str) else _json(value)


#: The largest target input a transformer may build, in characters (PutEvents' 1 MB entry limit).
MAX_INPUT_CHARS = 1024 * 1024


class InputTooLarge(ValueError):
    """An InputTransformer's result would exceed :data:`MAX_INPUT_CHARS`."""


def render_template(template: str, values: Mapping[str, Any]) -> str:
    """``template`` with its placeholders replaced (module docstring); ``values`` maps each defined
    name to its value or :data:`_MISSING`. A value may be :class:`RawJson` (inserted as its text
    both inside and outside strings)."""
    is_json = template.lstrip().startswith(("{", "["))
    out: list[str] = []
    size = len(template)  # the template's own characters, plus each value put in
    in_string = False
    i, n = 0, len(template)
    while i < n:
        c = template[i]
        if c == "\\" and in_string:
            out.append(template[i:i + 2])
            i += 2
            continue
        if c == '"':
            in_string = not in_string
        elif c == "<":
            m = _PLACEHOLDER.match(template, i)
            if m is not None and m.group(1) in values:
                value = values[m.group(1)]
                if isinstance(value, RawJson):
                    piece = value.text
                elif value is _MISSING:
                    piece = "null" if is_json and not in_string else ""
                elif is_json and not in_string:
                    piece = _json(value)
                else:
                    piece = _raw(value)
                size += len(piece)
                if size > MAX_INPUT_CHARS:  # before it is built: 8 KB of placeholders can ask for GBs
                    raise InputTooLarge(f"the transformed input is over {MAX_INPUT_CHARS} characters")
                out.append(piece)
                i = m.end()
                continue
        out.append(c)
        i += 1
    text = "".join(out)
    if is_json:
        try:
            return _json(orjson.loads(text))
        except (orjson.JSONDecodeError, orjson.JSONEncodeError):  # not JSON, or nested past orjson's writer
            return text
    return text


class RawJson:
    """JSON text inserted as it is, inside or outside a JSON string (the event's own JSON)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def target_input(event: dict[str, Any], event_json: str, *, input: str | None = None,
                 input_path: str | None = None, input_transformer: Mapping[str, Any] | None = None,
                 rule_arn: str = "", rule_name: str = "", ingestion_time_s: float = 0.0) -> str:
    """The text a target receives for ``event`` (whose JSON is ``event_json``), per its
    ``Input`` / ``InputPath`` / ``InputTransformer`` (at most one set; checked in that order)."""
    if input is not None:
        return input
    if input_path is not None:
        value = _select_or_missing(event, input_path)
        return "null" if value is _MISSING else _json(value)
    if input_transformer is not None:
        values: dict[str, Any] = {
            name: _select_or_missing(event, path)
            for name, path in (input_transformer.get("InputPathsMap") or {}).items()
            if name not in PREDEFINED
        }
        values[RULE_ARN] = rule_arn
        values[RULE_NAME] = rule_name
        values[INGESTION_TIME] = iso_time(ingestion_time_s)
        values[EVENT] = RawJson(event_json)
        values[EVENT_JSON] = RawJson(event_json)
        return render_template(str(input_transformer.get("InputTemplate", "")), values)
    return event_json
