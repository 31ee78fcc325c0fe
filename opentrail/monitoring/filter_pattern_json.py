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

from typing import Any, Callable

from .filter_pattern_base import NOT_JSON, Explanation, FilterPattern, Match, ParsedMessage
from .filter_pattern_json_syntax import Compare, Is, Junction, Node, NotExists, exact_string, parse_json_pattern
from .filter_pattern_precheck import affordable, compile_need, need
from .filter_pattern_selectors import MISSING, NAME, Selector, parse_selector
from .filter_pattern_values import Predicate, number_text, predicate, scalar_text

__all__ = ["JsonPattern", "compile_node", "exact_string"]

# -- evaluation --------------------------------------------------------------------------------

Test = Callable[[dict[str, Any]], bool]


def _is_test(what: str) -> Predicate:
    if what == "NULL":
        return lambda v: v is None or (v.__class__ is list and any(x is None for x in v))
    if what == "TRUE":
        return lambda v: v is True
    return lambda v: v is False


def _single_key(selector: Selector) -> str | None:
    steps = selector.steps
    return steps[0][1] if len(steps) == 1 and steps[0][0] == NAME else None


def _leaf_test(selector: Selector, test: Predicate) -> Test:
    if selector.wildcard:
        resolve = selector.resolve
        return lambda root: any(test(v) for v in resolve(root))
    key = _single_key(selector)
    if key is not None:
        return lambda root: test(root.get(key, MISSING))
    get = selector.getter()
    return lambda root: test(get(root))


def _one_of(selector: Selector, values: frozenset[str]) -> Test:
    key = _single_key(selector)
    get = selector.getter()

    def test(root: dict[str, Any]) -> bool:
        v: Any = root.get(key) if key is not None else get(root)
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
            value = exact_string(child)
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

        def any_of(r: dict[str, Any]) -> bool:
            for t in chain:
                if t(r):
                    return True
            return False

        return any_of

    def all_of(r: dict[str, Any]) -> bool:
        for t in chain:
            if not t(r):
                return False
        return True

    return all_of


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
        self._need = compile_need(affordable(need(self.tree)))

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

    def matches_shared(self, message: ParsedMessage) -> bool:
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
