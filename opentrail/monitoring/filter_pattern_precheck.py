"""The raw-text pre-check of JSON patterns: what a message's text must contain for the pattern to
hold, tested before parsing the message (exact: it never rules out a match; a hypothesis test
checks it against the evaluator over escaped spellings)."""

from __future__ import annotations

import re
from typing import Any, Callable, Union

from .filter_pattern_base import ParsedMessage
from .filter_pattern_json_syntax import Compare, Is, Junction, Node, NotExists, exact_string
from .filter_pattern_selectors import NAME

#: A necessary condition on the raw message: None (none known), ("lit", s) (``s`` in the text, or
#: the text has a ``\u`` escape), ("raw", s) (``s`` in the text), ("key", (name, values)) (some
#: ``"name": "v"`` in the text has ``v`` in ``values``, or an escaped value, or a ``\u`` escape),
#: ("any"|"all", parts).
Need = Union[None, tuple[str, Any]]

_UNSAFE = frozenset('"\\/')
_NUMBERISH = frozenset("0123456789+-.eE")


def _numberish(text: str) -> bool:
    return all(c in _NUMBERISH for c in text)


def _text_need(core: str, leading: bool, trailing: bool) -> Need:
    if any(c in _UNSAFE or c < " " for c in core) or _numberish(core):
        return None  # could be escaped otherwise than \u, or be a number's text
    if leading and trailing:
        return ("lit", core) if core else None
    if leading:
        return ("lit", core + '"')
    if trailing:
        return ("lit", '"' + core)
    return ("lit", '"' + core + '"')


def _key_need(node: Junction) -> Need:
    """For ``$.a.name = "x" || $.a.name = "y" || ...``: some ``"name": "<v>"`` in the text must have
    ``v`` among the strings (any occurrence of the key, at any depth, counts: a superset of the one
    the selector reads)."""
    values: set[str] = set()
    selector = None
    for child in node.children:
        value = exact_string(child)
        if value is None or not isinstance(child, Compare):
            return None
        if selector is not None and child.selector.source != selector.source:
            return None
        selector = child.selector
        values.add(value)
    if selector is None or not selector.steps or selector.steps[-1][0] != NAME:
        return None
    key = selector.steps[-1][1]
    if any(c in _UNSAFE or c < " " for c in key) or any(_numberish(v) for v in values):
        return None
    return ("key", (key, frozenset(values)))


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
    if node.op == "||" and len(node.children) > MAX_SEARCHES:
        keyed = _key_need(node)
        if keyed is not None:
            return keyed
    parts = [need(child) for child in node.children]
    if node.op == "||":
        if any(p is None for p in parts):
            return None
        return ("any", parts)
    known = [p for p in parts if p is not None]
    if not known:
        return None
    return known[0] if len(known) == 1 else ("all", known)


#: At most this many substring searches in a pre-check (each costs about a third of parsing a
#: 1.3 KB CloudTrail record with orjson; bench/bench_filter_patterns.py).
MAX_SEARCHES = 3


def _cost(n: Need) -> int:
    if n is None:
        return 0
    kind, arg = n
    return sum(_cost(p) for p in arg) if kind in ("any", "all") else 1


def affordable(n: Need) -> Need:
    """``n`` cut to at most :data:`MAX_SEARCHES` searches, still a necessary condition: an ``all``
    keeps its cheapest parts, an ``any`` over budget is dropped (None)."""
    if n is None or n[0] in ("lit", "raw", "key"):
        return n
    kind, arg = n
    parts = [affordable(p) for p in arg]
    if kind == "any":
        if any(p is None for p in parts) or sum(_cost(p) for p in parts) > MAX_SEARCHES:
            return None
        return ("any", parts)
    kept: list[Need] = []
    budget = MAX_SEARCHES
    for p in sorted((p for p in parts if p is not None), key=_cost):
        if _cost(p) <= budget:
            kept.append(p)
            budget -= _cost(p)
    if not kept:
        return None
    return kept[0] if len(kept) == 1 else ("all", kept)


def _key_check(key: str, values: frozenset[str]) -> Callable[[ParsedMessage], bool]:
    needle = '"' + key + '"'
    value_at = re.compile(re.escape(needle) + r'\s*:\s*"([^"\\]*)(["\\])').match

    def check(m: ParsedMessage) -> bool:
        text = m.text
        i = text.find(needle)
        while i >= 0:
            found = value_at(text, i)
            if found is not None and (found.group(2) == "\\" or found.group(1) in values):
                return True
            i = text.find(needle, i + 1)
        return m.has_unicode_escape

    return check


def compile_need(n: Need) -> Callable[[ParsedMessage], bool] | None:
    if n is None:
        return None
    kind, arg = n
    if kind == "lit":
        return lambda m: arg in m.text or m.has_unicode_escape
    if kind == "raw":
        return lambda m: arg in m.text
    if kind == "key":
        return _key_check(*arg)
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
