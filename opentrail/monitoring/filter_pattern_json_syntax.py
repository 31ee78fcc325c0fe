"""JSON patterns' syntax: tokens, the tree and the parser (semantics and AWS's error cases in
:mod:`.filter_pattern_json`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from .filter_pattern_errors import (
    MAX_REGEXES,
    MAX_WILDCARD_SELECTORS,
    PATTERN_WILDCARDS_MESSAGE,
    REGEX_COUNT_MESSAGE,
    InvalidFilterPattern,
)
from .filter_pattern_selectors import Selector, read_selector
from .filter_pattern_values import Literal, read_quoted, read_regex, string_literal, word_literal

ORDERING = ("<", "<=", ">", ">=")
_BARE_EXTRA = frozenset("_.*-+")


# -- syntax tree -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Compare:
    selector: Selector
    op: str
    literal: Literal
    source: str


@dataclass(frozen=True, slots=True)
class Is:
    selector: Selector
    what: str  # NULL, TRUE, FALSE
    source: str


@dataclass(frozen=True, slots=True)
class NotExists:
    selector: Selector
    source: str


@dataclass(frozen=True, slots=True)
class Junction:
    op: str  # "&&" or "||"
    children: tuple[Node, ...]
    source: str


Node = Union[Compare, Is, NotExists, Junction]


# -- lexer -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Token:
    type: str  # { } ( ) && || OP SEL STR REGEX WORD END
    start: int
    end: int
    value: Any = None


def _bare_char(c: str) -> bool:
    return c in _BARE_EXTRA or c.isalnum()


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c in "{}()":
            tokens.append(Token(c, i, i + 1))
            i += 1
        elif c in "&|":
            if i + 1 < n and text[i + 1] == c:
                tokens.append(Token(c + c, i, i + 2))
                i += 2
            else:
                raise InvalidFilterPattern.term(text[i : i + 2])
        elif c == "=":
            tokens.append(Token("OP", i, i + 1, "="))
            i += 1
        elif c == "!":
            if i + 1 < n and text[i + 1] == "=":
                tokens.append(Token("OP", i, i + 2, "!="))
                i += 2
            else:
                raise InvalidFilterPattern.term(text[i : i + 2])
        elif c in "<>":
            op = c + "=" if i + 1 < n and text[i + 1] == "=" else c
            tokens.append(Token("OP", i, i + len(op), op))
            i += len(op)
        elif c == "$":
            selector, end = read_selector(text, i)
            tokens.append(Token("SEL", i, end, selector))
            i = end
        elif c == '"':
            value, end = read_quoted(text, i)
            tokens.append(Token("STR", i, end, value))
            i = end
        elif c == "%":
            regex, end = read_regex(text, i)
            tokens.append(Token("REGEX", i, end, regex))
            i = end
        elif _bare_char(c):
            j = i
            while j < n and _bare_char(text[j]):
                j += 1
            tokens.append(Token("WORD", i, j, text[i:j]))
            i = j
        else:
            raise InvalidFilterPattern.term(c)
    tokens.append(Token("END", n, n))
    return tokens


# -- parser ------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.pos = 0
        self.regexes = 0
        self.wildcard_selectors = 0

    def peek(self) -> Token:
        return self.tokens[self.pos]

    def take(self, type_: str) -> Token:
        token = self.tokens[self.pos]
        if token.type != type_:
            raise InvalidFilterPattern.grammar()
        self.pos += 1
        return token

    def pattern(self) -> Node:
        self.take("{")
        node = self.disjunction()
        self.take("}")
        self.take("END")
        return node

    def _junction(self, op: str, children: list[Node], start: int, end: int) -> Node:
        if len(children) == 1:
            return children[0]
        return Junction(op, tuple(children), self.text[start:end])

    def disjunction(self) -> Node:
        start = self.peek().start
        children = [self.conjunction()]
        while self.peek().type == "||":
            self.pos += 1
            children.append(self.conjunction())
        return self._junction("||", children, start, self.tokens[self.pos - 1].end)

    def conjunction(self) -> Node:
        start = self.peek().start
        children = [self.primary()]
        while self.peek().type == "&&":
            self.pos += 1
            children.append(self.primary())
        return self._junction("&&", children, start, self.tokens[self.pos - 1].end)

    def primary(self) -> Node:
        token = self.peek()
        if token.type == "(":
            self.pos += 1
            node = self.disjunction()
            self.take(")")
            return node
        selector_token = self.take("SEL")
        selector: Selector = selector_token.value
        if selector.wildcard:
            self.wildcard_selectors += 1
        token = self.peek()
        if token.type == "WORD" and token.value.upper() == "IS":
            self.pos += 1
            what = self.take("WORD")
            if what.value.upper() not in ("NULL", "TRUE", "FALSE"):
                raise InvalidFilterPattern.term(what.value)
            return Is(selector, what.value.upper(), self.text[selector_token.start : what.end])
        if token.type == "WORD" and token.value.upper() == "NOT":
            self.pos += 1
            what = self.take("WORD")
            if what.value.upper() != "EXISTS":
                raise InvalidFilterPattern.grammar()
            return NotExists(selector, self.text[selector_token.start : what.end])
        op = self.take("OP").value
        value = self.peek()
        self.pos += 1
        literal = self.literal(op, value)
        return Compare(selector, op, literal, self.text[selector_token.start : value.end])

    def literal(self, op: str, token: Token) -> Literal:
        source = self.text[token.start : token.end]
        if token.type == "STR":
            literal = string_literal(token.value, source)
        elif token.type == "REGEX":
            self.regexes += 1
            literal = Literal("regex", source, regex=token.value)
        elif token.type == "WORD":
            if token.value.upper() == "NULL":
                raise InvalidFilterPattern.grammar()
            literal = word_literal(token.value)
        else:
            raise InvalidFilterPattern.grammar()
        if op in ORDERING and literal.kind != "number":
            raise InvalidFilterPattern.term(source)
        return literal


def parse_json_pattern(text: str) -> tuple[Node, int]:
    """Parse the JSON pattern ``text``; return its tree and its number of regexes."""
    parser = _Parser(text)
    node = parser.pattern()
    if parser.wildcard_selectors > MAX_WILDCARD_SELECTORS:
        raise InvalidFilterPattern(PATTERN_WILDCARDS_MESSAGE)
    if parser.regexes > MAX_REGEXES:
        raise InvalidFilterPattern(REGEX_COUNT_MESSAGE)
    return node, parser.regexes


def exact_string(node: Node) -> str | None:
    """The string ``node`` compares its selector with for equality (no wildcard), else None."""
    if isinstance(node, Compare) and node.op == "=" and node.literal.kind == "string":
        lit = node.literal
        if not (lit.leading or lit.trailing) and not node.selector.wildcard:
            return lit.core
    return None
