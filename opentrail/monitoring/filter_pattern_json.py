"""JSON patterns: ``{ <conditions> }``.

A condition is ``SELECTOR <op> VALUE`` (``= != < <= > >=``), ``SELECTOR IS NULL|TRUE|FALSE`` or
``SELECTOR NOT EXISTS``; conditions combine with ``&&`` and ``||`` and parentheses, precedence
``()`` > ``&&`` > ``||``. Values: ``"quoted"``, unquoted words (``CreateTrail``,
``kms.amazonaws.com``, ``123.123.*``), numbers (``-1``, ``1e+3``), ``*`` and ``%regex%``. Comparison
rules are :mod:`.filter_pattern_values`'; selectors :mod:`.filter_pattern_selectors`'.

Semantics beyond the syntax page, from AWS's TestMetricFilter answers:

- Only a message that is a JSON object can match (not text, an array, bad JSON); for a duplicated
  key the last value counts.
- A comparison holds when any value the selector yields satisfies it (each condition on its own:
  ``$.items[*].a = 1 && $.items[*].b = 2`` may be satisfied by different elements).
- ``IS NULL`` holds for null, and for an array that holds a null (``{"v": [1, "a", null]}``);
  ``IS TRUE``/``IS FALSE`` for the booleans only; ``NOT EXISTS`` when the selector yields nothing
  (a null value exists; ``$.a.b`` does not exist when ``a`` is null, ``{}`` or an array).
- TestMetricFilter's ``extractedValues`` is ``{}`` for JSON patterns.

Errors (AWS): ``{ $.v EXISTS }``, ``{ $.v == 1 }``, ``{ $.v = null }``, ``AND`` -> grammar error;
``{ $.v IS NOT NULL }`` -> "Invalid character(s) in term 'NOT'"; ``{ $.v > "Alpha" }`` ->
"... term '\"Alpha\"'"; ``{ !($.v = 1) }`` -> "... term '!('"; ``{ "v": [1] }`` -> "... term ':'";
more than 3 wildcard selectors or 2 regexes -> the quota messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Union

from .filter_pattern_base import NOT_JSON, Explanation, FilterPattern, Match, ParsedMessage
from .filter_pattern_errors import (
    MAX_REGEXES,
    MAX_WILDCARD_SELECTORS,
    PATTERN_WILDCARDS_MESSAGE,
    REGEX_COUNT_MESSAGE,
    InvalidFilterPattern,
)
from .filter_pattern_selectors import MISSING, Selector, parse_selector, read_selector
from .filter_pattern_values import (
    Literal,
    Predicate,
    number_text,
    predicate,
    read_quoted,
    read_regex,
    scalar_text,
    string_literal,
    word_literal,
)

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


# -- evaluation --------------------------------------------------------------------------------

Test = Callable[[dict[str, Any]], bool]


def _is_test(what: str) -> Predicate:
    if what == "NULL":
        return lambda v: v is None or (v.__class__ is list and any(x is None for x in v))
    if what == "TRUE":
        return lambda v: v is True
    return lambda v: v is False


def _leaf_test(selector: Selector, test: Predicate) -> Test:
    if selector.wildcard:
        resolve = selector.resolve
        return lambda root: any(test(v) for v in resolve(root))
    get = selector.getter()
    return lambda root: test(get(root))


def _exact_string(node: Node) -> str | None:
    """The string ``node`` compares its selector with for equality (no wildcard), else None."""
    if isinstance(node, Compare) and node.op == "=" and node.literal.kind == "string":
        lit = node.literal
        if not (lit.leading or lit.trailing) and not node.selector.wildcard:
            return lit.core
    return None


def _one_of(selector: Selector, values: frozenset[str]) -> Test:
    get = selector.getter()

    def test(root: dict[str, Any]) -> bool:
        v = get(root)
        cls = v.__class__
        if cls is str:
            return v in values
        if cls is int or cls is float:
            return number_text(v) in values
        return False

    return test


def compile_node(node: Node) -> Test:
    """A fast test of a parsed JSON object for ``node``. ``||`` of equalities of one selector with
    plain strings (CIS patterns list 4 to 18 event names) becomes one set lookup."""
    if isinstance(node, Compare):
        return _leaf_test(node.selector, predicate(node.op, node.literal))
    if isinstance(node, Is):
        return _leaf_test(node.selector, _is_test(node.what))
    if isinstance(node, NotExists):
        if node.selector.wildcard:
            resolve = node.selector.resolve
            return lambda root: not resolve(root)
        get = node.selector.getter()
        return lambda root: get(root) is MISSING
    tests: list[Test] = []
    if node.op == "||":
        groups: dict[str, tuple[Selector, set[str]]] = {}
        rest: list[Node] = []
        for child in node.children:
            value = _exact_string(child)
            if value is None:
                rest.append(child)
            else:
                assert isinstance(child, Compare)
                groups.setdefault(child.selector.source, (child.selector, set()))[1].add(value)
        tests = [_one_of(sel, frozenset(values)) for sel, values in groups.values()]
        tests += [compile_node(child) for child in rest]
    else:
        tests = [compile_node(child) for child in node.children]
    if len(tests) == 1:
        return tests[0]
    if len(tests) == 2:
        a, b = tests
        return (lambda r: a(r) or b(r)) if node.op == "||" else (lambda r: a(r) and b(r))
    chain = tuple(tests)
    if node.op == "||":
        return lambda r: any(t(r) for t in chain)
    return lambda r: all(t(r) for t in chain)


# -- raw-text pre-check --------------------------------------------------------------------------

#: A necessary condition on the raw message: None (none known), ("lit", s) (``s`` in the text, or
#: the text has a ``\u`` escape), ("raw", s) (``s`` in the text), ("any"|"all", parts).
Need = Union[None, tuple[str, Any]]

_UNSAFE = frozenset('"\\/')
_NUMBERISH = frozenset("0123456789+-.eE")


def _text_need(core: str, leading: bool, trailing: bool) -> Need:
    if any(c in _UNSAFE or c < " " for c in core) or all(c in _NUMBERISH for c in core):
        return None  # could be escaped otherwise than \u, or be a number's text
    if leading and trailing:
        return ("lit", core) if core else None
    if leading:
        return ("lit", core + '"')
    if trailing:
        return ("lit", '"' + core)
    return ("lit", '"' + core + '"')


def need(node: Node) -> Need:
    """What the raw text must contain for ``node`` to hold (exact: never rules out a match). A
    string value equal to ``L`` appears as ``"L"`` unless spelled with escapes; for ``L`` without
    ``"``, ``\\``, ``/`` or control characters the only escape is ``\\u``. ``null``, ``true``,
    ``false`` cannot be escaped. Numbers and ``!=`` give nothing."""
    if isinstance(node, Compare):
        lit = node.literal
        if node.op == "=" and lit.kind == "string":
            return _text_need(lit.core, lit.leading, lit.trailing)
        return None
    if isinstance(node, Is):
        return ("raw", node.what.lower())
    if isinstance(node, NotExists):
        return None
    parts = [need(child) for child in node.children]
    if node.op == "||":
        if any(p is None for p in parts):
            return None
        return ("any", parts)
    known = [p for p in parts if p is not None]
    if not known:
        return None
    return known[0] if len(known) == 1 else ("all", known)


def compile_need(n: Need) -> Callable[[ParsedMessage], bool] | None:
    if n is None:
        return None
    kind, arg = n
    if kind == "lit":
        return lambda m: arg in m.text or m.has_unicode_escape
    if kind == "raw":
        return lambda m: arg in m.text
    if kind == "any":
        lits = [p[1] for p in arg if p[0] == "lit"]
        others = [compile_need(p) for p in arg if p[0] != "lit"]
        if not others:
            lits_t = tuple(lits)

            def any_lit(m: ParsedMessage) -> bool:
                text = m.text
                for s in lits_t:
                    if s in text:
                        return True
                return m.has_unicode_escape

            return any_lit
        subs = [compile_need(p) for p in arg]
        return lambda m: any(s(m) for s in subs if s is not None)
    subs = [compile_need(p) for p in arg]
    return lambda m: all(s(m) for s in subs if s is not None)


# -- the pattern -------------------------------------------------------------------------------


def _render(v: Any) -> Any:
    if v.__class__ is dict:
        return "<object>"
    if v.__class__ is list:
        return "<array>"
    return v


class JsonPattern(FilterPattern):
    """A JSON pattern (module docstring)."""

    kind = "json"

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.tree, self._regexes = parse_json_pattern(text)
        self._test = compile_node(self.tree)
        self._need = compile_need(need(self.tree))

    @property
    def regex_count(self) -> int:
        return self._regexes

    def could_match(self, message: ParsedMessage) -> bool:
        return self._need is None or self._need(message)

    def matches_parsed(self, message: ParsedMessage) -> bool:
        if self._need is not None and not self._need(message):
            return False
        doc = message.doc
        return doc is not NOT_JSON and self._test(doc)

    def matches_doc(self, doc: dict[str, Any]) -> bool:
        """The test on an already-parsed JSON object (no pre-check)."""
        return self._test(doc)

    def match_parsed(self, message: ParsedMessage) -> Match | None:
        if not self.matches_parsed(message):
            return None
        doc = message.doc

        def resolve(reference: str) -> str | None:
            selector = parse_selector(reference)
            if selector is None:
                return None
            values = selector.resolve(doc)
            return scalar_text(values[0]) if values else None

        return Match({}, resolve)

    def explain(self, message: str) -> Explanation:
        parsed = ParsedMessage(message)
        doc = parsed.doc
        if doc is NOT_JSON:
            return [
                {
                    "clause": self.text,
                    "kind": self.kind,
                    "result": False,
                    "depth": 0,
                    "reason": "The log event message is not a JSON object.",
                }
            ]
        rows: Explanation = []
        result = self._explain(self.tree, doc, 1, rows)
        return [{"clause": self.text, "kind": self.kind, "result": result, "depth": 0}, *rows]

    def _explain(self, node: Node, doc: dict[str, Any], depth: int, rows: Explanation) -> bool:
        if isinstance(node, Junction):
            row: dict[str, Any] = {"clause": node.source, "kind": "and" if node.op == "&&" else "or", "depth": depth}
            rows.append(row)
            results = [self._explain(child, doc, depth + 1, rows) for child in node.children]
            row["result"] = all(results) if node.op == "&&" else any(results)
            return bool(row["result"])
        values = node.selector.resolve(doc)
        if isinstance(node, Compare):
            kind = "comparison"
        elif isinstance(node, Is):
            kind = "is " + node.what.lower()
        else:
            kind = "not exists"
        result = compile_node(node)(doc)
        rows.append(
            {
                "clause": node.source,
                "kind": kind,
                "selector": node.selector.source,
                "values": [_render(v) for v in values],
                "result": result,
                "depth": depth,
            }
        )
        return result
