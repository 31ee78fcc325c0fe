"""Term patterns: words, ``"exact phrases"`` and ``%regex%``, each optionally ``?`` (any of) or
``-`` (none of).

Semantics (FilterAndPatternSyntax "unstructured log events", checked against AWS's answers):

- A term matches a message that contains it: case-sensitive substring (``ERROR`` is in ``TERROR``
  and ``ERROR_ARGUMENTS``); a regex term searches the message.
- Plain terms must all be present, ``-`` terms all absent, and ``?`` terms (when they are the only
  kind) at least one present. "If you combine ``?`` with other filter patterns, all question mark
  terms will be ignored": ``?ERROR ?ARGUMENTS REQUEST`` is ``REQUEST``, and
  ``?ERROR ?ARGUMENTS -REQUEST`` is ``-REQUEST`` (AWS answered so).
- ``" "`` is a term like any other: it matches messages that contain a space (AWS's answer; the
  page says it "matches everything").
- Unquoted terms are runs of letters, digits and ``_``. Any other character outside quotes is
  rejected alone: ``ERR*`` -> "Invalid character(s) in term '*'" (AWS), ``Status:`` -> ``':'``.
  An unclosed quote -> "Invalid character(s) in term '\"ERROR'" (AWS).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .filter_pattern_base import Explanation, FilterPattern, Match, ParsedMessage
from .filter_pattern_errors import InvalidFilterPattern
from .filter_pattern_values import read_quoted, read_regex


@dataclass(frozen=True, slots=True)
class Term:
    """One term: ``modifier`` ``""``, ``"?"`` or ``"-"``; ``text`` the substring to find (for a
    regex, its source); ``regex`` set for ``%regex%``; ``source`` as written."""

    modifier: str
    text: str
    source: str
    regex: re.Pattern[str] | None = None

    def found(self, message: str) -> bool:
        if self.regex is not None:
            return self.regex.search(message) is not None
        return self.text in message


def _is_word_char(c: str) -> bool:
    return c == "_" or c.isalnum()


def parse_terms(text: str) -> list[Term]:
    """Lex ``text`` into terms (rules in the module docstring)."""
    terms: list[Term] = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        start = i
        modifier = ""
        if c in "?-":
            modifier = c
            i += 1
            while i < n and text[i].isspace():
                i += 1
            if i >= n:
                raise InvalidFilterPattern.term(c)
            c = text[i]
        if c == '"':
            value, i = read_quoted(text, i)
            terms.append(Term(modifier, value, text[start:i]))
        elif c == "%":
            regex, i = read_regex(text, i)
            terms.append(Term(modifier, regex.pattern, text[start:i], regex))
        elif _is_word_char(c):
            j = i
            while j < n and _is_word_char(text[j]):
                j += 1
            terms.append(Term(modifier, text[i:j], text[start:j]))
            i = j
        else:
            raise InvalidFilterPattern.term(c)
    return terms


class TermPattern(FilterPattern):
    """A term pattern (module docstring)."""

    kind = "terms"

    def __init__(self, text: str, terms: list[Term]) -> None:
        super().__init__(text)
        self.terms = terms
        plain = [t for t in terms if t.modifier == ""]
        excluded = [t for t in terms if t.modifier == "-"]
        optional = [t for t in terms if t.modifier == "?"]
        self.optional_ignored = bool(plain or excluded)
        self.required = tuple(plain)
        self.excluded = tuple(excluded)
        self.optional = () if self.optional_ignored else tuple(optional)
        self._required_text = tuple(t.text for t in plain if t.regex is None)
        self._excluded_text = tuple(t.text for t in excluded if t.regex is None)
        self._regex_terms = any(t.regex is not None for t in terms)

    def _test(self, message: str) -> bool:
        if not self._regex_terms:
            for t in self._required_text:
                if t not in message:
                    return False
            for t in self._excluded_text:
                if t in message:
                    return False
        else:
            for term in self.required:
                if not term.found(message):
                    return False
            for term in self.excluded:
                if term.found(message):
                    return False
        if self.optional:
            return any(term.found(message) for term in self.optional)
        return True

    def matches(self, message: str) -> bool:
        return self._test(message)

    def matches_parsed(self, message: ParsedMessage) -> bool:
        return self._test(message.text)

    def could_match(self, message: ParsedMessage) -> bool:
        return self._test(message.text)

    def match_parsed(self, message: ParsedMessage) -> Match | None:
        return Match({}) if self._test(message.text) else None

    @property
    def regex_count(self) -> int:
        return sum(1 for t in self.terms if t.regex is not None)

    def explain(self, message: str) -> Explanation:
        rows: Explanation = []
        for term in self.terms:
            found = term.found(message)
            kind = "regex" if term.regex is not None else ("phrase" if term.source.lstrip("?- ").startswith('"') else "term")
            if term.modifier == "?" and self.optional_ignored:
                role, result = "ignored", None
            elif term.modifier == "?":
                role, result = "optional", found
            elif term.modifier == "-":
                role, result = "excluded", not found
            else:
                role, result = "required", found
            rows.append({"clause": term.source, "kind": kind, "role": role, "found": found, "result": result, "depth": 1})
        head = {"clause": self.text, "kind": self.kind, "result": self._test(message), "depth": 0}
        if self.optional_ignored and self.terms and any(t.modifier == "?" for t in self.terms):
            head["note"] = "?-terms are ignored when the pattern also has plain or - terms"
        return [head, *rows]
