"""Many filter patterns on one stream of messages (a log group's metric filters): each message is
parsed as JSON once, and JSON patterns that require a field to equal one of some strings (every CIS
pattern but one: ``$.eventName = CreateTrail || ...``) are looked up by that field's value instead
of being evaluated one by one.

Exact: a pattern left out by the lookup has a condition ``text(field) in values`` joined with
``&&`` to the rest (or is that condition), which the message's value fails.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Callable, Sequence

from .filter_pattern_base import NOT_JSON, FilterPattern, ParsedMessage
from .filter_pattern_json import JsonPattern
from .filter_pattern_json_syntax import Compare, Junction, Node, exact_string
from .filter_pattern_values import number_text

Requirement = tuple[str, Any, frozenset[str]]  # (selector source, getter, allowed texts)


def _requirements(node: Node) -> list[Requirement]:
    """Every ``field in values`` the whole of ``node`` implies."""
    value = exact_string(node)
    if value is not None:
        assert isinstance(node, Compare)
        return [(node.selector.source, node.selector.getter(), frozenset([value]))]
    if isinstance(node, Junction) and node.op == "||":
        values: set[str] = set()
        selector = None
        for child in node.children:
            v = exact_string(child)
            if v is None:
                return []
            assert isinstance(child, Compare)
            if selector is not None and child.selector.source != selector.source:
                return []
            selector = child.selector
            values.add(v)
        assert selector is not None
        return [(selector.source, selector.getter(), frozenset(values))]
    if isinstance(node, Junction):
        return [r for child in node.children for r in _requirements(child)]
    return []


class FilterPatternSet:
    """``patterns`` compiled for evaluation together. :meth:`matches` gives one bool per pattern,
    in order; :meth:`matching` the indexes of the patterns that match."""

    def __init__(self, patterns: Sequence[FilterPattern]) -> None:
        self.patterns = list(patterns)
        found: dict[int, list[Requirement]] = {}
        for i, p in enumerate(self.patterns):
            if isinstance(p, JsonPattern):
                found[i] = _requirements(p.tree)
        popularity = Counter(source for reqs in found.values() for source, _, _ in {r[0]: r for r in reqs}.values())
        # selector source -> (getter, {text: [pattern indexes]})
        self._index: dict[str, tuple[Callable[[Any], Any], dict[str, list[int]]]] = {}
        self._always: list[int] = []
        for i in range(len(self.patterns)):
            reqs = found.get(i)
            if not reqs:
                self._always.append(i)
                continue
            source, getter, values = max(reqs, key=lambda r: (popularity[r[0]], -len(r[2])))
            by_value = self._index.setdefault(source, (getter, {}))[1]
            for v in values:
                by_value.setdefault(v, []).append(i)
        self._json = any(isinstance(p, JsonPattern) for p in self.patterns)

    def matching(self, message: str | ParsedMessage) -> list[int]:
        """Indexes (in order) of the patterns that match ``message``."""
        parsed = message if isinstance(message, ParsedMessage) else ParsedMessage(message)
        patterns = self.patterns
        hits = [i for i in self._always if patterns[i].matches_shared(parsed)]
        if self._index:
            doc = parsed.doc
            if doc is not NOT_JSON:
                for getter, by_value in self._index.values():
                    v = getter(doc)
                    cls = v.__class__
                    if cls is str:
                        candidates = by_value.get(v)
                    elif cls is int or cls is float:
                        candidates = by_value.get(number_text(v))
                    else:
                        continue
                    if candidates:
                        hits.extend(i for i in candidates if patterns[i].matches_shared(parsed))
                hits.sort()
        return hits

    def matches(self, message: str | ParsedMessage) -> list[bool]:
        """Whether each pattern matches ``message``."""
        out = [False] * len(self.patterns)
        for i in self.matching(message):
            out[i] = True
        return out
