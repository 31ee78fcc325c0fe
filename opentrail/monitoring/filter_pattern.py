"""CloudWatch Logs filter patterns (metric filters, subscription filters, FilterLogEvents,
TestMetricFilter): one parser and evaluator for the whole grammar.

    pattern = compile_pattern('{ $.userIdentity.type = "Root" && $.eventType != "AwsServiceEvent" }')
    pattern.matches(message)            # -> bool
    pattern.match(message)              # -> Match | None (extracted_values as TestMetricFilter)
    pattern.value_of("$.latency", m)    # metricValue / dimension value for a match
    pattern.explain(message)            # which clause held, for the console
    matches_many(patterns, message)     # several patterns, the message parsed as JSON once
    FilterPatternSet(patterns).matches(message)  # the same, faster for a fixed set (metric filters)

The kind is chosen by the first non-blank character: none -> every message matches; ``{`` -> JSON
(:mod:`.filter_pattern_json`); ``[`` -> space-delimited (:mod:`.filter_pattern_space`); anything
else -> terms (:mod:`.filter_pattern_terms`), where ``%regex%`` may stand alone. The semantics are
AWS's: the FilterAndPatternSyntax page (and its JSON, space-delimited and regex subpages) for the
syntax, and AWS's own answers to TestMetricFilter/FilterLogEvents for what the page leaves open
(github radkawar/stackd ``testdata/aws/logs/filters.json``, us-east-1, 2026-09-13; noted in each
module's docstring). docs/monitoring.md lists the grammar and the deviations.

Errors are :class:`InvalidFilterPattern` with AWS's messages (``InvalidParameterException``).
Messages confirmed against AWS: "Invalid character(s) in term '<text>'", "Invalid metric filter
pattern" / "Invalid filter pattern" (FilterLogEvents), "Failed to compile regular expression.",
"Duplicate field '<name>'", and the quota messages in :mod:`.filter_pattern_errors`.
Unconfirmed (opentrail's choice where AWS's answer is unknown): an unclosed ``%regex`` and a
``?``/``-`` with no term after it -> "Invalid character(s) in term" with what was read; an empty
``%%``, a space-delimited condition naming another field, a bad field name, and a JSON ``NOT``
followed by something other than ``EXISTS`` -> the grammar message.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from .filter_pattern_base import Explanation, FilterPattern, Match, ParsedMessage
from .filter_pattern_errors import InvalidFilterPattern
from .filter_pattern_json import JsonPattern
from .filter_pattern_selectors import parse_selector
from .filter_pattern_set import FilterPatternSet
from .filter_pattern_space import SpacePattern
from .filter_pattern_terms import TermPattern, parse_terms

__all__ = [
    "Explanation",
    "FilterPattern",
    "FilterPatternSet",
    "InvalidFilterPattern",
    "JsonPattern",
    "Match",
    "ParsedMessage",
    "SpacePattern",
    "TermPattern",
    "compile_pattern",
    "is_json_selector",
    "matches_many",
]


def compile_pattern(text: str) -> FilterPattern:
    """Compile the filter pattern ``text``. An empty or blank pattern matches every message.

    Raises :class:`InvalidFilterPattern` (AWS's message) when ``text`` is not a valid pattern. The
    pattern's length limit (1,024 characters) is the API's validation, not checked here."""
    stripped = text.strip()
    if not stripped:
        return FilterPattern(text)
    first = stripped[0]
    if first == "{":
        return JsonPattern(text)
    if first == "[":
        return SpacePattern(text)
    return TermPattern(text, parse_terms(text))


def matches_many(patterns: Sequence[FilterPattern], message: str | ParsedMessage) -> list[bool]:
    """Whether each of ``patterns`` matches ``message``, parsing the message as JSON at most once
    (JSON patterns then skip their raw-text pre-checks, which cost about as much as they save when
    the message is parsed anyway)."""
    parsed = message if isinstance(message, ParsedMessage) else ParsedMessage(message)
    return [p.matches_shared(parsed) for p in patterns]


def matching(patterns: Iterable[FilterPattern], message: str | ParsedMessage) -> list[FilterPattern]:
    """The patterns among ``patterns`` that match ``message`` (parsed once, as :func:`matches_many`)."""
    parsed = message if isinstance(message, ParsedMessage) else ParsedMessage(message)
    return [p for p in patterns if p.matches_shared(parsed)]


def is_json_selector(reference: str) -> bool:
    """Whether ``reference`` is one JSON selector without wildcard, as a metric value or dimension
    of a JSON pattern's metric filter must be (AWS refuses ``$.items[*].value``: "Invalid metric
    transformation: metric value $.items[*].value must be a valid number")."""
    selector = parse_selector(reference)
    return selector is not None and not selector.wildcard
