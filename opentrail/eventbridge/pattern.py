"""Amazon EventBridge event patterns: parse (with EventBridge's validation and messages), match one
event, explain a mismatch, and match an event against many patterns at once (:class:`PatternSet`).

The language is EventBridge's ("Amazon EventBridge event patterns", "Content filtering in event
patterns", "Comparison operators for use in event patterns", "Arrays in event patterns" in the
EventBridge User Guide): exact values (strings, numbers compared as IEEE-754 doubles, booleans,
null), ``prefix`` and ``suffix`` (each also with ``equals-ignore-case``), ``equals-ignore-case``,
``anything-but`` (a value, a list, or its ``prefix`` / ``suffix`` / ``equals-ignore-case`` /
``wildcard`` forms), ``numeric`` ranges, ``exists``, ``cidr`` (IPv4 and IPv6), ``wildcard`` and
``$or``. An array in the pattern is OR, fields are AND, an array in the event matches when any
element matches (not array-consistent, as EventBridge by default).

``event`` arguments are parsed JSON objects (``orjson.loads``) in EventBridge's envelope
(``version, id, detail-type, source, account, time, region, resources, detail``).
"""

from __future__ import annotations

from typing import Any, Mapping

from opentrail.eventbridge.pattern_eval import compile_node, memo_lookup
from opentrail.eventbridge.pattern_explain import explain_node
from opentrail.eventbridge.pattern_set import PatternSet
from opentrail.eventbridge.pattern_syntax import Node, PatternSyntaxError, load_json, parse_tree

__all__ = [
    "EventPattern",
    "InvalidEventPattern",
    "InvalidTestEvent",
    "PatternSet",
    "parse_pattern",
    "parse_test_event",
]

#: The fields TestEventPattern requires in its Event (EventBridge API Reference, TestEventPattern).
TEST_EVENT_REQUIRED = ("id", "account", "source", "time", "region", "resources", "detail-type")


class InvalidEventPattern(ValueError):
    """EventBridge's InvalidEventPatternException: ``message`` is
    ``"Event pattern is not valid. Reason: <reason>"``."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        self.message = f"Event pattern is not valid. Reason: {reason}"
        super().__init__(self.message)


class InvalidTestEvent(ValueError):
    """TestEventPattern's Event is not an EventBridge event (AWS answers ValidationException
    "Parameter Event is not valid.")."""

    def __init__(self, message: str = "Parameter Event is not valid.") -> None:
        self.message = message
        super().__init__(message)


class EventPattern:
    """A validated, compiled event pattern. ``text`` is the pattern's JSON as given; ``tree`` its
    syntax tree (:mod:`.pattern_syntax`)."""

    __slots__ = ("text", "tree", "_test")

    def __init__(self, text: str, tree: Node) -> None:
        self.text = text
        self.tree = tree
        self._test = compile_node(tree)

    def matches(self, event: Mapping[str, Any]) -> bool:
        """True when ``event`` (a parsed EventBridge event) matches the pattern."""
        return self._test(memo_lookup(event))

    def explain(self, event: Mapping[str, Any]) -> str | None:
        """None when ``event`` matches, else a one-line reason naming the first field that fails,
        e.g. ``detail.eventName: "StopLogging" is not one of ["DeleteTrail"]``."""
        return explain_node(self.tree, memo_lookup(event))

    def __repr__(self) -> str:
        return f"EventPattern({self.text!r})"


def parse_pattern(text: str) -> EventPattern:
    """Validate and compile a pattern's JSON text (PutRule's / TestEventPattern's EventPattern).
    Raises :class:`InvalidEventPattern` with EventBridge's reason. The 4096-character limit on the
    text is the API model's, checked by the API layer."""
    try:
        tree = parse_tree(text)
    except PatternSyntaxError as exc:
        raise InvalidEventPattern(exc.reason) from None
    return EventPattern(text, tree)


def parse_test_event(text: str) -> dict[str, Any]:
    """TestEventPattern's Event: a JSON object with ``id, account, source, time, region,
    resources, detail-type``; ``resources`` a list of strings, the others strings; ``detail``
    when present an object. Raises :class:`InvalidTestEvent`."""
    try:
        event = load_json(text)
    except ValueError:
        raise InvalidTestEvent() from None
    if not isinstance(event, dict) or any(key not in event for key in TEST_EVENT_REQUIRED):
        raise InvalidTestEvent()
    resources = event["resources"]
    if not isinstance(resources, list) or not all(isinstance(r, str) for r in resources):
        raise InvalidTestEvent()
    if not all(isinstance(event[k], str) for k in TEST_EVENT_REQUIRED if k != "resources"):
        raise InvalidTestEvent()
    if "detail" in event and not isinstance(event["detail"], dict):
        raise InvalidTestEvent()
    return event

