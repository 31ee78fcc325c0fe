"""Many event patterns against one event: the bus's rule matching, compiled once per rule set.

Each pattern is filed under one *anchor*: a top-level field of the pattern whose values are all
exact strings (``detail.eventName``, ``source`` ...), chosen to be as selective as possible. Per
event, the set reads each anchor field once, looks its values up in a dict and evaluates only the
patterns filed under a value the event has (with the anchor field already known to hold), plus the
patterns that have no anchor. Event fields are read once per event per field, whatever the number
of patterns that test them.
"""

from __future__ import annotations

from typing import Any, Generic, Mapping, TypeVar

from opentrail.eventbridge.pattern_eval import NodeTest, compile_node, memo_lookup
from opentrail.eventbridge.pattern_syntax import Field, Node

K = TypeVar("K")

#: Envelope fields that few values cover many events (worst anchors last).
_ANCHOR_RANK = {"source": 1, "account": 2, "region": 2, "detail-type": 3, "version": 4}


def _anchor(node: Node) -> Field | None:
    """The pattern's best top-level field of exact strings only, or None."""
    best: Field | None = None
    best_key: tuple[int, int] | None = None
    for field in node.fields:
        if not all(m.kind == "exact" and type(m.arg) is str for m in field.matchers):
            continue
        key = (_ANCHOR_RANK.get(field.name, 0), len(field.matchers))
        if best_key is None or key < best_key:
            best, best_key = field, key
    return best


def _always(lookup: Any) -> bool:
    return True


class PatternSet(Generic[K]):
    """Patterns by key (a rule's ARN, say); :meth:`matching` answers the keys of every pattern
    an event matches, in the mapping's order. Immutable: build a new set when rules change."""

    def __init__(self, patterns: Mapping[K, Any]) -> None:
        self._keys: list[K] = list(patterns)
        self._tests: list[NodeTest] = []
        #: anchor field -> value -> indexes of the patterns filed under it
        self._index: dict[str, dict[str, list[int]]] = {}
        self._unanchored: list[int] = []
        for i, key in enumerate(self._keys):
            tree: Node = patterns[key].tree
            anchor = _anchor(tree)
            if anchor is None:
                self._unanchored.append(i)
                self._tests.append(compile_node(tree))
                continue
            rest = Node(tuple(f for f in tree.fields if f is not anchor), tree.ors)
            self._tests.append(compile_node(rest) if rest.fields or rest.ors else _always)
            table = self._index.setdefault(anchor.name, {})
            for value in dict.fromkeys(m.arg for m in anchor.matchers):
                table.setdefault(value, []).append(i)
        self._index_items = tuple(self._index.items())

    def __len__(self) -> int:
        return len(self._keys)

    @property
    def anchored(self) -> int:
        """How many patterns are filed under an anchor (the rest are tried on every event)."""
        return len(self._keys) - len(self._unanchored)

    def matching(self, event: Mapping[str, Any]) -> list[K]:
        """Keys of every pattern that ``event`` (a parsed EventBridge event) matches."""
        lookup = memo_lookup(event)
        tests = self._tests
        candidates: set[int] = set()
        for name, table in self._index_items:
            for value in lookup(name):
                if type(value) is str:
                    filed = table.get(value)
                    if filed is not None:
                        candidates.update(filed)
        keys = self._keys
        if not self._unanchored:
            return [keys[i] for i in sorted(candidates) if tests[i](lookup)]
        candidates.update(self._unanchored)
        return [keys[i] for i in sorted(candidates) if tests[i](lookup)]
