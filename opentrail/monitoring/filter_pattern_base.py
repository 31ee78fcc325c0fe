"""What every kind of filter pattern shares: the compiled pattern's interface, a match, and a log
event message that is parsed as JSON at most once however many patterns read it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import orjson

#: A message that is not a JSON object (JSON patterns never match it).
NOT_JSON: Any = object()

Explanation = list[dict[str, Any]]


class ParsedMessage:
    """One log event message. :attr:`doc` is its JSON object, parsed on first use (with orjson) and
    kept, or :data:`NOT_JSON` when the message is not a JSON object (an array, a scalar, text, bad
    JSON). ``has_unicode_escape`` tells the JSON pre-checks whether a string may be spelled with
    ``\\u`` escapes (then raw-text checks cannot rule a match out)."""

    __slots__ = ("text", "_doc", "_escapes")

    def __init__(self, text: str) -> None:
        self.text = text
        self._doc: Any = None
        self._escapes: bool | None = None

    @property
    def doc(self) -> Any:
        doc = self._doc
        if doc is None:
            doc = NOT_JSON
            text = self.text
            if text[:1] == "{" or text.lstrip()[:1] == "{":
                try:
                    parsed = orjson.loads(text)
                except orjson.JSONDecodeError:
                    parsed = None
                if parsed.__class__ is dict:
                    doc = parsed
            self._doc = doc
        return doc

    @property
    def has_unicode_escape(self) -> bool:
        escapes = self._escapes
        if escapes is None:
            text = self.text
            escapes = self._escapes = "\\" in text and "\\u" in text
        return escapes


@dataclass(frozen=True, slots=True)
class Match:
    """A message the pattern matched. ``extracted_values`` is what TestMetricFilter returns for it:
    ``$name``/``$N`` fields for space-delimited patterns, ``{}`` for term and JSON patterns (AWS
    returns ``{}`` for JSON patterns too). :meth:`value` resolves a metric value or dimension
    reference (``$.field``, ``$name``, ``$7``) against the message."""

    extracted_values: dict[str, str]
    resolver: Callable[[str], str | None] | None = field(default=None, repr=False, compare=False)

    def value(self, reference: str) -> str | None:
        """The text ``reference`` names in the matched message, or ``None`` (no such field, null,
        an array or object, or a reference of the other pattern kind)."""
        if self.resolver is None:
            return None
        return self.resolver(reference)


class FilterPattern:
    """A compiled CloudWatch Logs filter pattern (made by
    :func:`opentrail.monitoring.filter_pattern.compile_pattern`). ``text`` is the pattern as given,
    ``kind`` one of ``all``, ``terms``, ``json``, ``space``."""

    kind = "all"

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.text!r}>"

    def matches(self, message: str) -> bool:
        """Whether the pattern matches the log event message ``message``."""
        return self.matches_parsed(ParsedMessage(message))

    def matches_parsed(self, message: ParsedMessage) -> bool:
        """:meth:`matches` for a message shared with other patterns (parsed at most once)."""
        return True

    def matches_shared(self, message: ParsedMessage) -> bool:
        """:meth:`matches_parsed` for a message many patterns read: JSON patterns skip their raw-text
        pre-check (the message is parsed for the others anyway)."""
        return self.matches_parsed(message)

    def match(self, message: str) -> Match | None:
        """The :class:`Match` for ``message``, or ``None`` when the pattern does not match it."""
        return self.match_parsed(ParsedMessage(message))

    def match_parsed(self, message: ParsedMessage) -> Match | None:
        return Match({})

    def value_of(self, reference: str, match: Match) -> str | None:
        """The value a metric transformation's ``metricValue`` or dimension ``reference`` takes for
        a match of this pattern (see :meth:`Match.value`)."""
        return match.value(reference)

    def explain(self, message: str) -> Explanation:
        """Which clause was true or false for ``message``, for the console: a list of plain dicts
        (JSON-ready), the whole pattern first, then its clauses in order, each with ``clause``
        (its source text), ``kind``, ``result`` and ``depth`` (nesting, 0 for the pattern), plus
        what the kind adds (``values`` seen for a JSON selector, ``value`` of a field, ...)."""
        return [{"clause": self.text, "kind": self.kind, "result": True, "depth": 0}]

    @property
    def regex_count(self) -> int:
        """How many ``%regex%`` the pattern holds (AWS allows 5 regex patterns per log group)."""
        return 0

    def could_match(self, message: ParsedMessage) -> bool:
        """A cheap test on the raw text: ``False`` only when the pattern cannot match ``message``
        (used before parsing JSON; exact, never a false ``False``)."""
        return True
