"""The error an invalid filter pattern raises, with CloudWatch Logs' messages.

CloudWatch Logs answers every invalid pattern with ``InvalidParameterException``. The messages below
are the ones AWS returned to TestMetricFilter and FilterLogEvents in us-east-1 (captured
2026-09-13, github radkawar/stackd ``testdata/aws/logs/filters.json``); the two APIs differ only
for grammar errors ("Invalid metric filter pattern" vs "Invalid filter pattern").
"""

from __future__ import annotations

#: A pattern that lexes but does not parse (``{ $.v == 1 }``, ``{ $.v EXISTS }``, ``{ $.v = null }``).
METRIC_GRAMMAR_MESSAGE = "Invalid metric filter pattern"
#: The same error as FilterLogEvents words it.
FILTER_GRAMMAR_MESSAGE = "Invalid filter pattern"
#: More than one wildcard in one JSON property selector (``$.items[*].*``).
SELECTOR_WILDCARDS_MESSAGE = (
    "Your filter pattern has a JSON path selector that exceeds the maximum of 1 wildcard allowed per json selector."
)
#: More than three wildcard selectors in one pattern.
PATTERN_WILDCARDS_MESSAGE = "Your input has exceeded the maximum of 3 JSON wildcard selectors allowed per filter pattern."
#: More than two ``%regex%`` in a JSON or space-delimited pattern.
REGEX_COUNT_MESSAGE = "Your input has exceeded the maximum of 2 regular expressions per filter pattern."
#: A regex made of allowed characters that does not compile (``%[abc%``).
REGEX_COMPILE_MESSAGE = "Failed to compile regular expression."

MAX_REGEXES = 2
MAX_WILDCARD_SELECTORS = 3


class InvalidFilterPattern(Exception):
    """An invalid filter pattern. ``message`` is AWS's text as PutMetricFilter/TestMetricFilter
    answer it, ``filter_log_events_message`` as FilterLogEvents does; both go out as
    ``InvalidParameterException`` (:attr:`code`)."""

    code = "InvalidParameterException"

    def __init__(self, message: str, filter_log_events_message: str | None = None) -> None:
        self.message = message
        self.filter_log_events_message = filter_log_events_message or message
        super().__init__(message)

    @classmethod
    def grammar(cls) -> InvalidFilterPattern:
        """The error for a pattern that does not parse."""
        return cls(METRIC_GRAMMAR_MESSAGE, FILTER_GRAMMAR_MESSAGE)

    @classmethod
    def term(cls, text: str) -> InvalidFilterPattern:
        """"Invalid character(s) in term '<text>'": ``text`` is the token read so far up to and
        including the offending character (``'%^('``, ``'$..'``, ``'[-'``, ``'*'``)."""
        return cls(f"Invalid character(s) in term '{text}'")
