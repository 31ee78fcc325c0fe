"""Syntax tree → closures that test an event, compiled once per pattern.

An event field's values are its *leaves* under the field's name (keys joined by dots): arrays met
on the way (or at the end) are flattened, and only strings, numbers, booleans and null count; an
object at the end is not a leaf (``exists`` works on leaf nodes only, as EventBridge documents).
A field test passes when any leaf passes any of the field's matchers (arrays are OR on both sides,
not array-consistent: EventBridge's default).

A compiled field test takes the field's leaves (a list, computed once per event per field by the
caller's ``lookup``) and splits the work by the leaf's type: exact strings and numbers are set
look-ups, the other operators precompiled predicates.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

from opentrail.eventbridge.pattern_ip import parse_ip
from opentrail.eventbridge.pattern_syntax import Field, Matcher, Node
from opentrail.eventbridge.pattern_wildcard import wildcard_regex

Leaves = list[Any]
Lookup = Callable[[str], Leaves]
FieldTest = Callable[[Leaves], bool]
NodeTest = Callable[[Lookup], bool]

_MISSING = object()


def _add_leaves(value: Any, out: list[Any]) -> None:
    kind = type(value)
    if kind is list:
        stack = [iter(value)]  # iterative: an event may nest arrays deeper than Python recurses
        while stack:
            for item in stack[-1]:
                kind = type(item)
                if kind is list:
                    stack.append(iter(item))
                    break
                if kind is not dict:
                    out.append(item)
            else:
                stack.pop()
    elif kind is not dict:
        out.append(value)


def _descend_list(items: list[Any], rest: str, out: list[Any]) -> None:
    stack = [iter(items)]
    while stack:
        for item in stack[-1]:
            kind = type(item)
            if kind is dict:
                _collect(item, rest, out)
            elif kind is list:
                stack.append(iter(item))
                break
        else:
            stack.pop()


_SPLITS: dict[str, tuple[tuple[str, str], ...]] = {}


def _splits(name: str) -> tuple[tuple[str, str], ...]:
    """Every (key, rest) split of ``name`` at one of its dots (cached: names come from patterns)."""
    found = _SPLITS.get(name)
    if found is None:
        found = tuple((name[:i], name[i + 1 :]) for i, c in enumerate(name) if c == ".")
        if len(_SPLITS) < 65536:
            _SPLITS[name] = found
    return found


def _collect(obj: Mapping[str, Any], name: str, out: list[Any]) -> None:
    # The field ``name`` (keys joined by dots) in ``obj``: the key itself, or any split of the name
    # at a dot into a key of ``obj`` and the rest inside that key's value.
    get = obj.get
    value = get(name, _MISSING)
    if value is not _MISSING:
        kind = type(value)
        if kind is list:
            _add_leaves(value, out)
        elif kind is not dict:
            out.append(value)
    for key, rest in _splits(name):
        value = get(key, _MISSING)
        if value is _MISSING:
            continue
        kind = type(value)
        if kind is dict:
            _collect(value, rest, out)
        elif kind is list:
            _descend_list(value, rest, out)


#: Per field name, its walk: per level (key, the rest of the name after it -- None at the last
#: level; ``""`` when the next part is an empty key, as in ``a.b.`` --, the keys joining this
#: level's part with later ones -- ``a.b``, ``a.b.c`` -- that an object may also hold).
_WALKS: dict[str, tuple[tuple[str, str | None, frozenset[str]], ...]] = {}


def _walk(name: str) -> tuple[tuple[str, str | None, frozenset[str]], ...]:
    found = _WALKS.get(name)
    if found is None:
        parts = name.split(".")
        found = tuple((parts[i], ".".join(parts[i + 1:]) if i + 1 < len(parts) else None,
                       frozenset(".".join(parts[i:j]) for j in range(i + 2, len(parts) + 1)))
                      for i in range(len(parts)))
        if len(_WALKS) < 65536:
            _WALKS[name] = found
    return found


def leaves(event: Mapping[str, Any], name: str) -> Leaves:
    """The leaf values of ``event`` at the field ``name`` (keys joined by dots, as EventBridge
    compiles both patterns and events): arrays met on the way or at the end are flattened, objects
    at the end are not leaves.

    The common case walks the name's parts down nested objects; where an object also holds a key
    with a dot that could stand for several parts (``{"a.b": ...}``), or an array is met, the
    general search (:func:`_collect`) takes over from there, so the answer is the same."""
    obj = event
    out: list[Any] = []
    for key, rest, joined in _walk(name):
        if joined and not obj.keys().isdisjoint(joined):  # joined: a later part exists, rest is not None
            _collect(obj, f"{key}.{rest}", out)
            return out
        value = obj.get(key, _MISSING)
        if value is _MISSING:
            return out
        kind = type(value)
        if rest is None:
            if kind is list:
                _add_leaves(value, out)
            elif kind is not dict:
                out.append(value)
            return out
        if kind is dict:
            obj = value
        elif kind is list:
            _descend_list(value, rest, out)
            return out
        else:
            return out
    return out


def memo_lookup(event: Mapping[str, Any]) -> Lookup:
    """A ``lookup(name) -> leaves`` for one event that reads each field once."""
    cache: dict[str, Leaves] = {}

    def lookup(name: str) -> Leaves:
        try:
            return cache[name]
        except KeyError:
            found = cache[name] = leaves(event, name)
            return found

    return lookup


def _numeric_predicate(bounds: tuple[tuple[str, float], ...]) -> Callable[[float], bool]:
    def one(op: str, limit: float) -> Callable[[float], bool]:
        if op == "=":
            return lambda x: x == limit
        if op == "<":
            return lambda x: x < limit
        if op == "<=":
            return lambda x: x <= limit
        if op == ">":
            return lambda x: x > limit
        return lambda x: x >= limit

    if len(bounds) == 1:
        return one(*bounds[0])
    (op1, low), (op2, high) = bounds
    if op1 == ">" and op2 == "<":
        return lambda x: low < x < high
    if op1 == ">" and op2 == "<=":
        return lambda x: low < x <= high
    if op1 == ">=" and op2 == "<":
        return lambda x: low <= x < high
    return lambda x: low <= x <= high


def _string_predicate(m: Matcher) -> Callable[[str], bool]:
    arg = m.arg
    kind = m.kind
    if kind == "prefix":
        return (lambda s: s.lower().startswith(arg)) if m.ignore_case else (lambda s: s.startswith(arg))
    if kind == "suffix":
        return (lambda s: s.lower().endswith(arg)) if m.ignore_case else (lambda s: s.endswith(arg))
    if kind == "equals-ignore-case":
        return lambda s: s.lower() == arg
    if kind == "wildcard":
        fullmatch = wildcard_regex(arg).fullmatch
        return lambda s: fullmatch(s) is not None
    if kind == "cidr":
        addresses = arg
        return lambda s: parse_ip(s) in addresses
    raise AssertionError(kind)


def _anything_but_predicate(m: Matcher) -> Callable[[Any], bool]:
    """A test on any present leaf: true when the leaf is none of the listed values."""
    arg = m.arg
    kind = m.kind
    if kind == "anything-but":
        if m.numbers:
            return lambda v: not ((type(v) is int or type(v) is float) and float(v) in arg)
        return lambda v: not (type(v) is str and v in arg)
    if kind == "anything-but-prefix":
        return lambda v: not (type(v) is str and v.startswith(arg))  # str.startswith takes a tuple
    if kind == "anything-but-suffix":
        return lambda v: not (type(v) is str and v.endswith(arg))
    if kind == "anything-but-equals-ignore-case":
        lowered = frozenset(arg)
        return lambda v: not (type(v) is str and v.lower() in lowered)
    if kind == "anything-but-wildcard":
        regexes = [wildcard_regex(p).fullmatch for p in arg]
        return lambda v: not (type(v) is str and any(r(v) is not None for r in regexes))
    raise AssertionError(kind)


def compile_field(matchers: Iterable[Matcher]) -> FieldTest:
    """The OR of a field's matchers as one function of the field's leaves."""
    strings: set[str] = set()
    numbers: set[float] = set()
    exact_true = exact_false = exact_null = False
    exists_true = exists_false = False
    string_tests: list[Callable[[str], bool]] = []
    number_tests: list[Callable[[float], bool]] = []
    any_tests: list[Callable[[Any], bool]] = []
    for m in matchers:
        kind = m.kind
        if kind == "exact":
            if m.arg is None:
                exact_null = True
            elif m.arg is True:
                exact_true = True
            elif m.arg is False:
                exact_false = True
            elif type(m.arg) is str:
                strings.add(m.arg)
            else:
                numbers.add(m.arg)
        elif kind == "exists":
            if m.arg:
                exists_true = True
            else:
                exists_false = True
        elif kind == "numeric":
            number_tests.append(_numeric_predicate(m.arg))
        elif kind.startswith("anything-but"):
            any_tests.append(_anything_but_predicate(m))
        else:
            string_tests.append(_string_predicate(m))
    # An exact value that is an IP address also matches that address written otherwise.
    ips = frozenset(a for a in map(parse_ip, strings) if a is not None)
    if ips:
        string_tests.append(lambda s: parse_ip(s) in ips)
    frozen_strings = frozenset(strings)
    frozen_numbers = frozenset(numbers)
    str_tests = tuple(string_tests)
    num_tests = tuple(number_tests)
    other_tests = tuple(any_tests)

    if exists_true:
        # Any leaf satisfies the field; the other matchers cannot add anything.
        if exists_false:
            return lambda values: True
        return lambda values: bool(values)

    # The common case (only exact strings) gets its own small function.
    if not (numbers or exact_true or exact_false or exact_null or str_tests or num_tests or other_tests):
        if exists_false:
            return lambda values: not values or any(type(v) is str and v in frozen_strings for v in values)
        if len(frozen_strings) == 1:
            (only,) = frozen_strings

            def test_one(values: Leaves) -> bool:
                for v in values:
                    if v == only and type(v) is str:
                        return True
                return False

            return test_one

        def test_strings(values: Leaves) -> bool:
            for v in values:
                if type(v) is str and v in frozen_strings:
                    return True
            return False

        return test_strings

    def test(values: Leaves) -> bool:
        if not values:
            return exists_false
        for v in values:
            t = type(v)
            if t is str:
                if v in frozen_strings:
                    return True
                for p in str_tests:
                    if p(v):
                        return True
            elif t is int or t is float:
                x = float(v)
                if x in frozen_numbers:
                    return True
                for q in num_tests:
                    if q(x):
                        return True
            elif v is None:
                if exact_null:
                    return True
            elif v is True:
                if exact_true:
                    return True
            elif v is False:
                if exact_false:
                    return True
            for r in other_tests:
                if r(v):
                    return True
        return False

    return test


def _field_cost(field: Field) -> int:
    """Evaluation order within an AND: cheap and selective tests first."""
    kinds = {m.kind for m in field.matchers}
    if kinds == {"exact"}:
        return 0
    if kinds & {"wildcard", "cidr", "anything-but-wildcard"}:
        return 3
    if kinds & {"exists"}:
        return 2
    return 1


def compile_node(node: Node) -> NodeTest:
    """The AND of a node's fields and ``$or`` groups as one function of a lookup."""
    fields = tuple((f.name, compile_field(f.matchers)) for f in sorted(node.fields, key=_field_cost))
    groups = tuple(tuple(compile_node(n) for n in group) for group in node.ors)

    if not groups and len(fields) == 1:
        ((name, only),) = fields
        return lambda lookup: only(lookup(name))

    def test(lookup: Lookup) -> bool:
        for name, field_test in fields:
            if not field_test(lookup(name)):
                return False
        for group in groups:
            for alternative in group:
                if alternative(lookup):
                    break
            else:
                return False
        return True

    return test
