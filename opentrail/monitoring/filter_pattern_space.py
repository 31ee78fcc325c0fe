"""Space-delimited patterns: ``[ip, user, ..., status_code = 4* && status_code != 403, bytes]``.

Fields of the message are separated by runs of whitespace (spaces, tabs); a ``"..."`` or ``[...]``
run is one field without its quotes or brackets (an unclosed one is ordinary text). A pattern lists
fields separated by commas: a name (letters, digits, ``_``; not starting with a digit), a name with
conditions (``name = value``, ``name != value``, ``< <= > >=`` with a number; joined with ``&&``
and ``||`` on that same field, optionally in parentheses), an empty entry (an unnamed field), or
``...`` (any number of unnamed fields, at most once). ``[]`` is ``[...]``.

Alignment, as AWS answered TestMetricFilter:

- Without ``...``, a message needs at least as many fields as the pattern; when it has more, the
  last field of the pattern takes the rest of the line as written (``[w1=ERROR, w2]`` on
  ``ERROR request failed`` gives ``$w2`` = ``request failed``; on ``ERROR`` it does not match).
- With ``...``, the fields before it take the first fields of the message, those after it the
  last ones (one field each), and ``...`` the fields in between (zero or more).
- ``extractedValues``: ``$name`` for a named field, ``$N`` (position, 1-based) for an unnamed
  one, e.g. ``[..., status, bytes]`` -> ``$1``..``$5``, ``$status``, ``$bytes``.

Conditions compare the field's text as JSON patterns compare a string (:mod:`.filter_pattern_values`);
``< <= > >=`` read the field as a number and fail when it is not one. Errors (AWS): a name twice ->
"Duplicate field 'word'"; ``...`` twice -> "Duplicate field '...'"; more than 2 regexes -> the quota
message; other malformed patterns -> the grammar error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Union

from .filter_pattern_base import Explanation, FilterPattern, Match, ParsedMessage
from .filter_pattern_errors import MAX_REGEXES, REGEX_COUNT_MESSAGE, InvalidFilterPattern
from .filter_pattern_values import (
    Literal,
    field_number,
    predicate,
    read_quoted,
    read_regex,
    string_literal,
    word_literal,
)

ORDERING = ("<", "<=", ">", ">=")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_WORD_STOP = frozenset(",]&|()=!<>\"%")


@dataclass(frozen=True, slots=True)
class FieldTest:
    op: str
    literal: Literal
    source: str
    test: Callable[[str], bool] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "test", _field_predicate(self.op, self.literal))

    def __call__(self, value: str) -> bool:
        return self.test(value)


@dataclass(frozen=True, slots=True)
class FieldJunction:
    op: str
    children: tuple[Condition, ...]
    source: str

    def __call__(self, value: str) -> bool:
        if self.op == "&&":
            return all(c(value) for c in self.children)
        return any(c(value) for c in self.children)


Condition = Union[FieldTest, FieldJunction]


@dataclass(frozen=True, slots=True)
class Field:
    """One entry of the pattern: ``name`` (None for an unnamed field), its ``condition``, or
    ``ellipsis``."""

    name: str | None = None
    condition: Condition | None = None
    ellipsis: bool = False
    source: str = ""


def _field_predicate(op: str, literal: Literal) -> Callable[[str], bool]:
    if op in ORDERING:
        numeric = predicate(op, literal)

        def ordered(value: str) -> bool:
            number = field_number(value)
            return number is not None and numeric(number)

        return ordered
    return predicate(op, literal)


# -- pattern parser ----------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = text.index("[") + 1
        self.regexes = 0

    def skip(self) -> None:
        text = self.text
        while self.i < len(text) and text[self.i].isspace():
            self.i += 1

    def at(self, s: str) -> bool:
        self.skip()
        return self.text.startswith(s, self.i)

    def fields(self) -> list[Field]:
        fields: list[Field] = []
        while True:
            fields.append(self.entry())
            self.skip()
            if self.at(","):
                self.i += 1
                continue
            if self.at("]"):
                self.i += 1
                break
            raise InvalidFilterPattern.grammar()
        if self.text[self.i :].strip():
            raise InvalidFilterPattern.grammar()
        if len(fields) == 1 and fields[0] == Field():
            return [Field(ellipsis=True, source="...")] if not self.text.strip()[1:-1].strip() else fields
        return fields

    def entry(self) -> Field:
        self.skip()
        start = self.i
        if self.at("..."):
            self.i += 3
            return Field(ellipsis=True, source="...")
        if self.at(",") or self.at("]"):
            return Field()
        self._names: list[str] = []
        node = self._or()
        names = set(self._names)
        if len(names) != 1:
            raise InvalidFilterPattern.grammar()
        name = names.pop()
        source = self.text[start : self.i].strip()
        if isinstance(node, str):
            return Field(name=name, source=source)
        return Field(name=name, condition=node, source=source)

    def _or(self) -> Condition | str:
        start = self.i
        children = [self._and()]
        while self.at("||"):
            self.i += 2
            children.append(self._and())
        if len(children) == 1:
            return children[0]
        if any(isinstance(c, str) for c in children):
            raise InvalidFilterPattern.grammar()
        return FieldJunction("||", tuple(children), self.text[start : self.i].strip())  # type: ignore[arg-type]

    def _and(self) -> Condition | str:
        start = self.i
        children = [self._atom()]
        while self.at("&&"):
            self.i += 2
            children.append(self._atom())
        if len(children) == 1:
            return children[0]
        if any(isinstance(c, str) for c in children):
            raise InvalidFilterPattern.grammar()
        return FieldJunction("&&", tuple(children), self.text[start : self.i].strip())  # type: ignore[arg-type]

    def _atom(self) -> Condition | str:
        self.skip()
        if self.at("("):
            self.i += 1
            node = self._or()
            if not self.at(")"):
                raise InvalidFilterPattern.grammar()
            self.i += 1
            return node
        start = self.i
        name = self._word()
        if not _NAME.match(name):
            raise InvalidFilterPattern.grammar()
        self._names.append(name)
        self.skip()
        op = next((o for o in ("!=", "<=", ">=", "=", "<", ">") if self.text.startswith(o, self.i)), None)
        if op is None:
            return name
        self.i += len(op)
        literal = self._value(op)
        return FieldTest(op, literal, self.text[start : self.i].strip())

    def _word(self) -> str:
        text = self.text
        j = self.i
        while j < len(text) and not text[j].isspace() and text[j] not in _WORD_STOP:
            j += 1
        word = text[self.i : j]
        self.i = j
        return word

    def _value(self, op: str) -> Literal:
        self.skip()
        text = self.text
        start = self.i
        if self.at('"'):
            value, self.i = read_quoted(text, self.i)
            literal = string_literal(value, text[start : self.i])
        elif self.at("%"):
            regex, self.i = read_regex(text, self.i)
            self.regexes += 1
            literal = Literal("regex", text[start : self.i], regex=regex)
        else:
            word = self._word()
            if not word:
                raise InvalidFilterPattern.grammar()
            literal = word_literal(word)
        if op in ORDERING and literal.kind != "number":
            raise InvalidFilterPattern.term(literal.source)
        return literal


def parse_space_pattern(text: str) -> tuple[list[Field], int]:
    parser = _Parser(text)
    fields = parser.fields()
    seen: set[str] = set()
    for f in fields:
        key = "..." if f.ellipsis else f.name
        if key is None:
            continue
        if key in seen:
            raise InvalidFilterPattern(f"Duplicate field '{key}'")
        seen.add(key)
    if parser.regexes > MAX_REGEXES:
        raise InvalidFilterPattern(REGEX_COUNT_MESSAGE)
    return fields, parser.regexes


# -- message fields ----------------------------------------------------------------------------


def split_fields(message: str) -> list[tuple[str, int]]:
    """The fields of ``message`` as ``(value, start)``; ``"..."`` and ``[...]`` runs are one field
    (their content), an unclosed quote or bracket is ordinary text."""
    out: list[tuple[str, int]] = []
    i = 0
    n = len(message)
    while i < n:
        c = message[i]
        if c.isspace():
            i += 1
            continue
        if c == '"' or c == "[":
            close = message.find('"' if c == '"' else "]", i + 1)
            if close >= 0:
                out.append((message[i + 1 : close], i))
                i = close + 1
                continue
        j = i
        while j < n and not message[j].isspace():
            j += 1
        out.append((message[i:j], i))
        i = j
    return out


class SpacePattern(FilterPattern):
    """A space-delimited pattern (module docstring)."""

    kind = "space"

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.fields, self._regexes = parse_space_pattern(text)
        idx = next((k for k, f in enumerate(self.fields) if f.ellipsis), None)
        self._ellipsis = idx
        if idx is None:
            self._before, self._after = self.fields, []
        else:
            self._before, self._after = self.fields[:idx], self.fields[idx + 1 :]
        self._minimum = len(self._before) + len(self._after)

    @property
    def regex_count(self) -> int:
        return self._regexes

    def _assign(self, message: str) -> list[tuple[Field | None, int, str]] | None:
        """``(field, position, value)`` for every field of the message, or None when the message has
        too few fields."""
        tokens = split_fields(message)
        t = len(tokens)
        if t < self._minimum:
            return None
        out: list[tuple[Field | None, int, str]] = []
        if self._ellipsis is None:
            n = len(self._before)
            for k, f in enumerate(self._before[:-1]):
                out.append((f, k + 1, tokens[k][0]))
            last = self._before[-1]
            if t == n:
                value = tokens[n - 1][0]
            else:
                value = message[tokens[n - 1][1] :].rstrip()
            out.append((last, n, value))
            return out
        b = len(self._before)
        a = len(self._after)
        for k, f in enumerate(self._before):
            out.append((f, k + 1, tokens[k][0]))
        for k in range(b, t - a):
            out.append((None, k + 1, tokens[k][0]))
        for k, f in enumerate(self._after):
            pos = t - a + k
            out.append((f, pos + 1, tokens[pos][0]))
        return out

    def _test(self, message: str) -> list[tuple[Field | None, int, str]] | None:
        assigned = self._assign(message)
        if assigned is None:
            return None
        for f, _, value in assigned:
            if f is not None and f.condition is not None and not f.condition(value):
                return None
        return assigned

    def matches_parsed(self, message: ParsedMessage) -> bool:
        return self._test(message.text) is not None

    def matches(self, message: str) -> bool:
        return self._test(message) is not None

    def match_parsed(self, message: ParsedMessage) -> Match | None:
        assigned = self._test(message.text)
        if assigned is None:
            return None
        extracted: dict[str, str] = {}
        by_position: dict[str, str] = {}
        for f, pos, value in assigned:
            by_position[f"${pos}"] = value
            if f is not None and f.name is not None:
                extracted[f"${f.name}"] = value
            else:
                extracted[f"${pos}"] = value
        every = {**by_position, **extracted}
        return Match(extracted, lambda reference: every.get(reference))

    def explain(self, message: str) -> Explanation:
        assigned = self._assign(message)
        head: dict[str, Any] = {"clause": self.text, "kind": self.kind, "result": False, "depth": 0}
        if assigned is None:
            head["reason"] = (
                f"The log event has {len(split_fields(message))} fields; the pattern needs "
                f"{'at least ' if self._ellipsis is not None else ''}{self._minimum}."
            )
            return [head]
        rows: Explanation = []
        ok = True
        for f, pos, value in assigned:
            if f is None or f.condition is None:
                continue
            result = self._explain(f.condition, value, 1, rows, f, pos)
            ok = ok and result
        head["result"] = ok
        head["fields"] = {("$" + f.name if f is not None and f.name else f"${pos}"): value for f, pos, value in assigned}
        return [head, *rows]

    def _explain(self, cond: Condition, value: str, depth: int, rows: Explanation, f: Field, pos: int) -> bool:
        row: dict[str, Any] = {"clause": cond.source, "field": f.name, "position": pos, "value": value, "depth": depth}
        rows.append(row)
        if isinstance(cond, FieldJunction):
            row["kind"] = "and" if cond.op == "&&" else "or"
            results = [self._explain(c, value, depth + 1, rows, f, pos) for c in cond.children]
            row["result"] = all(results) if cond.op == "&&" else any(results)
        else:
            row["kind"] = "comparison"
            row["result"] = cond(value)
        return bool(row["result"])
