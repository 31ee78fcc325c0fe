"""The values a filter pattern compares with: strings with ``*`` wildcards, numbers, ``%regex%``.

Shared by JSON and space-delimited patterns (the regex reader also by term patterns). Semantics, as
AWS answered TestMetricFilter (filter_pattern_errors' capture) and as the syntax page documents:

- A comparison only ever holds for a string or a number; ``null``, booleans, arrays and objects
  satisfy none, ``!=`` included (``{ $.v != "x" }`` is false for ``{"v": null}`` or ``{"v": true}``).
- A string literal (quoted, or an unquoted word such as ``CreateTrail`` or ``123.123.*``) is compared
  with the text of the value; a number's text is its JSON text (``1`` for 1, ``1.0`` for 1.0), so
  ``= "1"`` matches 1 and "1" but not 1.0. ``*`` is a wildcard at the start and/or end only
  ("Ev*ent will only match the actual string Ev*ent"); ``*`` alone matches any string or number.
- A number literal (unquoted, ``[+-]digits[.digits][e[+-]digits]``) compares numerically with a
  number; with a string it compares the string with the literal's text for ``=``/``!=``
  (``= 1`` matches "1" but not "1.0"), and never for ``< <= > >=``.
- ``%regex%`` searches the value's text (``re.search``), so it matches anywhere unless anchored.

Regex subset (FilterAndPatternSyntax "Supported regular expressions"): ASCII letters and digits,
``: _ # = @ / ; , -``, operators ``^ $ ? [ ] { } | \\ * + .`` and the space of the documented
``%^starting|^initializing|^shutting down%``; no ``(`` ``)``, no multi-byte character. ``\\d \\w \\s``
are ASCII classes, as documented (``\\w`` is ``[a-zA-Z_0-9]``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from .filter_pattern_errors import REGEX_COMPILE_MESSAGE, InvalidFilterPattern

_REGEX_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" ":_#=@/;,-" "^$?[]{}|\\*+." " "
)
NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\Z")

Predicate = Callable[[Any], bool]


def read_regex(text: str, start: int) -> tuple[re.Pattern[str], int]:
    """Read the ``%regex%`` at ``text[start]`` (a ``%``); return it compiled and the index after the
    closing ``%``. A character outside the subset raises "Invalid character(s) in term '%...c'"
    (the text read so far and that character, as AWS reports ``'%^('``); an unclosed or empty
    regex raises the same error for what was read; one that does not compile, "Failed to compile
    regular expression."."""
    i = start + 1
    n = len(text)
    while i < n:
        c = text[i]
        if c == "%":
            break
        if c not in _REGEX_CHARS:
            raise InvalidFilterPattern.term(text[start : i + 1])
        i += 1
    else:
        raise InvalidFilterPattern.term(text[start:])
    source = text[start + 1 : i]
    if not source:
        raise InvalidFilterPattern.grammar()
    try:
        compiled = re.compile(source, re.ASCII)
    except re.error:
        raise InvalidFilterPattern(REGEX_COMPILE_MESSAGE) from None
    return compiled, i + 1


def read_quoted(text: str, start: int) -> tuple[str, int]:
    """Read the double-quoted string at ``text[start]``; ``\\"`` and ``\\\\`` (any backslash pair)
    stand for the second character. Return the value and the index after the closing quote; an
    unclosed quote raises "Invalid character(s) in term '\"...'" with the rest of the pattern."""
    out: list[str] = []
    i = start + 1
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n:
            out.append(text[i + 1])
            i += 2
            continue
        if c == '"':
            return "".join(out), i + 1
        out.append(c)
        i += 1
    raise InvalidFilterPattern.term(text[start:])


def number_text(value: int | float) -> str:
    """The JSON text of a parsed number: ``1`` for 1, ``1.5`` for 1.5, ``1.0`` for 1.0."""
    return str(value) if value.__class__ is int else repr(value)


def scalar_text(value: Any) -> str | None:
    """The text of a JSON value as extracted values and metric values show it: strings as they
    are, numbers as :func:`number_text`, booleans ``true``/``false``; ``None`` for null, arrays and
    objects."""
    cls = value.__class__
    if cls is str:
        return str(value)
    if cls is int or cls is float:
        return number_text(value)
    if cls is bool:
        return "true" if value else "false"
    return None


@dataclass(frozen=True, slots=True)
class Literal:
    """A value on the right of an operator. ``kind``: ``string`` (``core`` between optional leading
    and trailing ``*``), ``number`` (``number``), ``regex`` (``regex``) or ``any`` (``*``).
    ``source`` is the text as written (with its quotes or percent signs)."""

    kind: str
    source: str
    core: str = ""
    leading: bool = False
    trailing: bool = False
    number: float = 0.0
    regex: re.Pattern[str] | None = None

    @property
    def text(self) -> str:
        """The literal's text without quotes (what a string value is compared with)."""
        if self.kind == "number":
            return self.source
        return ("*" if self.leading else "") + self.core + ("*" if self.trailing else "")


def string_literal(value: str, source: str) -> Literal:
    """A string literal: ``*`` alone matches any string or number, a leading/trailing ``*`` is a
    wildcard, one in the middle is itself."""
    if value and value.strip("*") == "":
        return Literal("any", source)
    leading = value.startswith("*")
    trailing = len(value) > 1 and value.endswith("*")
    core = value[1 if leading else 0 : len(value) - 1 if trailing else len(value)]
    return Literal("string", source, core=core, leading=leading, trailing=trailing)


def word_literal(word: str) -> Literal:
    """An unquoted value: a number when it reads as one, else a string with wildcards."""
    if NUMBER_RE.match(word):
        return Literal("number", word, number=float(word))
    return string_literal(word, word)


def _text_matcher(lit: Literal) -> Callable[[str], bool]:
    core = lit.core
    if lit.leading and lit.trailing:
        return lambda s: core in s
    if lit.leading:
        return lambda s: s.endswith(core)
    if lit.trailing:
        return lambda s: s.startswith(core)
    return lambda s: s == core


def predicate(op: str, lit: Literal) -> Predicate:
    """The test ``value <op> lit`` for one JSON value (or one space-delimited field, a ``str``).
    ``op`` is one of ``= != < <= > >=``; ordering operators take number literals only (the parsers
    reject others)."""
    kind = lit.kind
    if kind == "number":
        return _number_predicate(op, lit)
    if kind == "any":
        if op == "=":
            return lambda v: v.__class__ is str or v.__class__ is int or v.__class__ is float
        return lambda v: False
    if kind == "regex":
        assert lit.regex is not None
        search = lit.regex.search
        positive = op == "="

        def regex_test(v: Any) -> bool:
            cls = v.__class__
            if cls is str:
                return (search(v) is not None) is positive
            if cls is int or cls is float:
                return (search(number_text(v)) is not None) is positive
            return False

        return regex_test
    if not (lit.leading or lit.trailing):
        core = lit.core
        if op == "=":

            def equals(v: Any) -> bool:
                cls = v.__class__
                if cls is str:
                    return core == v
                if cls is int or cls is float:
                    return number_text(v) == core
                return False

            return equals

        def differs(v: Any) -> bool:
            cls = v.__class__
            if cls is str:
                return core != v
            if cls is int or cls is float:
                return number_text(v) != core
            return False

        return differs
    test = _text_matcher(lit)
    positive = op == "="

    def wildcard(v: Any) -> bool:
        cls = v.__class__
        if cls is str:
            return test(v) is positive
        if cls is int or cls is float:
            return test(number_text(v)) is positive
        return False

    return wildcard


def _number_predicate(op: str, lit: Literal) -> Predicate:
    x = lit.number
    text = lit.source
    if op == "=":
        return lambda v: (v == text) if v.__class__ is str else ((v.__class__ is int or v.__class__ is float) and v == x)
    if op == "!=":
        return lambda v: (v != text) if v.__class__ is str else ((v.__class__ is int or v.__class__ is float) and v != x)
    if op == "<":
        return lambda v: (v.__class__ is int or v.__class__ is float) and v < x
    if op == "<=":
        return lambda v: (v.__class__ is int or v.__class__ is float) and v <= x
    if op == ">":
        return lambda v: (v.__class__ is int or v.__class__ is float) and v > x
    if op == ">=":
        return lambda v: (v.__class__ is int or v.__class__ is float) and v >= x
    raise ValueError(op)


def field_number(text: str) -> float | None:
    """A space-delimited field read as a number (``None`` when it is not one)."""
    return float(text) if NUMBER_RE.match(text) else None
