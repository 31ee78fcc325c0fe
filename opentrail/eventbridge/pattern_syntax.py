"""Event-pattern text → syntax tree, with EventBridge's validation and its error reasons.

The tree is plain frozen dataclasses: a :class:`Node` is the AND of its :class:`Field` tests and of
its ``$or`` groups (each group: any of its nodes). A :class:`Field` holds the name of one event
field (its keys joined by dots, as EventBridge compiles patterns: ``{"a": {"b": ...}}`` and
``{"a.b": ...}`` are the same field) and the OR of its :class:`Matcher` s (the value array).

Reasons are AWS's own texts where AWS's answers are known (EventBridge's InvalidEventPatternException
as recorded against AWS in LocalStack's ``test_events_patterns.snapshot.json``, and aws/event-ruler's
``JsonRuleCompiler``, the library EventBridge runs); the few opentrail wrote itself are listed in
``docs/eventbridge.md``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from opentrail.eventbridge import pattern_wildcard
from opentrail.eventbridge.pattern_ip import parse_cidr

#: Names that make an object inside ``$or`` a match expression rather than a sub-pattern (an
#: ``$or`` holding one is read as the legacy plain field named "$or"): the operators, and the
#: names event-ruler reserves for its other operators.
RESERVED_IN_OR = frozenset({
    "anything-but", "prefix", "suffix", "equals-ignore-case", "numeric", "exists", "cidr", "wildcard",
    "exactly", "=", "<", "<=", ">", ">=",
})
#: At most this many alternatives once every ``$or`` is expanded (the product of the ``$or``
#: arrays' lengths; EventBridge documents no number, opentrail's own guard).
MAX_COMBINATIONS = 1000

TOO_COMPLEX = (
    "Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences "
    "after a wildcard character"
)
TOO_MANY_COMBINATIONS = f"Rule is too complex - its $or operators expand to more than {MAX_COMBINATIONS} combinations"


class PatternSyntaxError(ValueError):
    """A pattern is not valid; ``reason`` is EventBridge's reason text (without the
    "Event pattern is not valid. Reason: " prefix)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Matcher:
    """One element of a pattern's value array.

    ``kind`` is one of ``exact`` (arg: str | float | bool | None), ``prefix`` / ``suffix`` /
    ``equals-ignore-case`` / ``wildcard`` (arg: str; ``ignore_case`` for prefix/suffix), ``numeric``
    (arg: ((op, float), ...) one or two bounds), ``cidr`` (arg: a :class:`~.pattern_ip.IpRange`), ``exists``
    (arg: bool), ``anything-but`` (arg: frozenset of str, or of float when ``numbers``),
    ``anything-but-prefix`` / ``anything-but-suffix`` / ``anything-but-equals-ignore-case`` /
    ``anything-but-wildcard`` (arg: tuple of str). ``source`` is the element as written."""

    kind: str
    arg: Any
    source: Any
    ignore_case: bool = False
    numbers: bool = False


@dataclass(frozen=True, slots=True)
class Field:
    """One field test: ``name`` is the field's keys joined with dots (EventBridge compiles nested
    keys that way, so ``{"a": {"b": ...}}`` and ``{"a.b": ...}`` name the same field), ``matchers``
    the OR of the pattern's value array."""

    name: str
    matchers: tuple[Matcher, ...]


@dataclass(frozen=True, slots=True)
class Node:
    """The AND of ``fields`` and, for each of ``ors``, of any one of its nodes."""

    fields: tuple[Field, ...]
    ors: tuple[tuple["Node", ...], ...] = ()


def _raise_constant(name: str) -> Any:
    raise ValueError(f"Non-standard token '{name}'")


def load_json(text: str) -> Any:
    """Parse JSON text strictly (no NaN/Infinity); raises ValueError with a short description."""
    try:
        return json.loads(text, parse_constant=_raise_constant)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise ValueError("nesting is too deep") from None


Branch = dict[str, Field]


def parse_tree(text: str) -> Node:
    """Validate and parse a pattern's JSON text; raises :class:`PatternSyntaxError`.

    As EventBridge's compiler, the pattern is read in document order into branches (the AND of
    fields by name; every ``$or`` forks the branches so far, once per alternative): a field named
    again later in a branch replaces the earlier one (EventBridge: "If the same JSON field is
    specified more than once, only the last one is used"). A pattern whose ``$or`` cannot be
    read as the operator is read again with ``$or`` as a plain field name, EventBridge's legacy
    reading; if that fails too, the first reason is the one raised."""
    try:
        document = load_json(text)
    except ValueError as exc:
        raise PatternSyntaxError(f"Filter is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise PatternSyntaxError("Filter is not an object")
    try:
        if _combinations(document) > MAX_COMBINATIONS:
            raise PatternSyntaxError(TOO_MANY_COMBINATIONS)
        try:
            branches = _parse_object(document, "", [{}], inside_or=False, expand_or=True)
        except PatternSyntaxError as first:
            if not _mentions_or(document):
                raise
            try:
                branches = _parse_object(document, "", [{}], inside_or=False, expand_or=False)
            except PatternSyntaxError:
                raise first from None
    except RecursionError:
        raise PatternSyntaxError("Filter is nested too deeply") from None
    _check_wildcards(branches)
    return _factor(branches)


def _combinations(obj: Any) -> int:
    """The product of the lengths of every ``$or`` array in the pattern."""
    product = 1
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key == "$or" and isinstance(value, list):
                product *= max(len(value), 1)
                for member in value:
                    product *= _combinations(member)
            elif isinstance(value, dict):
                product *= _combinations(value)
            if product > MAX_COMBINATIONS:
                break
    return product


def _mentions_or(obj: Any) -> bool:
    return isinstance(obj, dict) and any(k == "$or" or _mentions_or(v) for k, v in obj.items())


def _check_wildcards(branches: list[Branch]) -> None:
    """EventBridge's complexity limit, over all the wildcards one field is matched with."""
    by_field: dict[str, list[str]] = {}
    for branch in branches:
        for name, field in branch.items():
            for m in field.matchers:
                if m.kind == "wildcard":
                    by_field.setdefault(name, []).append(m.arg)
                elif m.kind == "anything-but-wildcard":
                    by_field.setdefault(name, []).extend(m.arg)
    for patterns in by_field.values():
        if pattern_wildcard.complexity(patterns) > pattern_wildcard.MAX_COMPLEXITY:
            raise PatternSyntaxError(TOO_COMPLEX)


def _factor(branches: list[Branch]) -> Node:
    """Branches → a node: the fields every branch shares (the very same Field), and one ``$or``
    group of what remains of each branch."""
    if len(branches) == 1:
        return Node(tuple(branches[0].values()))
    first, *others = branches
    common = [f for name, f in first.items() if all(b.get(name) is f for b in others)]
    shared = {f.name for f in common}
    rests = [Node(tuple(f for name, f in b.items() if name not in shared)) for b in branches]
    if any(not rest.fields for rest in rests):
        return Node(tuple(common))
    return Node(tuple(common), (tuple(rests),))


def _parse_object(
    obj: dict[str, Any], prefix: str, branches: list[Branch], inside_or: bool, expand_or: bool
) -> list[Branch]:
    if not obj:
        raise PatternSyntaxError("Empty objects are not allowed")
    for key, value in obj.items():
        if key == "$or" and expand_or:
            branches = _parse_or(value, prefix, branches)
            continue
        if inside_or and key in RESERVED_IN_OR:
            raise PatternSyntaxError(f"{key} is Ruler reserved fieldName which cannot be used inside $or.")
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            branches = _parse_object(value, name, branches, inside_or, expand_or)
        elif isinstance(value, list):
            field = Field(name, _parse_values(value))
            for branch in branches:
                branch.pop(name, None)  # the last one written wins, in its own place
                branch[name] = field
        else:
            raise PatternSyntaxError(f'"{key}" must be an object or an array')
    return branches


def _parse_or(members: Any, prefix: str, branches: list[Branch]) -> list[Branch]:
    if not isinstance(members, list):
        raise PatternSyntaxError("It must be an Array followed with $or.")
    forked: list[Branch] = []
    for member in members:
        if not isinstance(member, dict):
            raise PatternSyntaxError("Only JSON object is allowed in array of $or relationship.")
        forked.extend(_parse_object(member, prefix, [dict(b) for b in branches], inside_or=True, expand_or=True))
    if len(members) < 2:
        raise PatternSyntaxError("There must have at least 2 Objects in $or relationship.")
    return forked


def _parse_values(values: list[Any]) -> tuple[Matcher, ...]:
    if not values:
        raise PatternSyntaxError("Empty arrays are not allowed")
    out: list[Matcher] = []
    for value in values:
        if isinstance(value, dict):
            out.append(_parse_expression(value))
        elif isinstance(value, list):
            raise PatternSyntaxError("Match value must be String, number, true, false, or null")
        elif value is None or isinstance(value, (bool, str)):
            out.append(Matcher("exact", value, value))
        else:
            out.append(Matcher("exact", _number(value), value))
    return tuple(out)


def _number(value: int | float) -> float:
    try:
        return float(value)
    except OverflowError:
        return math.copysign(math.inf, value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _text(value: Any) -> str:
    """A JSON token as a parser shows it in a reason (strings unquoted)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "{"
    if isinstance(value, list):
        return "["
    return json.dumps(value)


def _parse_expression(expr: dict[str, Any]) -> Matcher:
    if not expr:
        raise PatternSyntaxError("Match expression name not found")
    items = list(expr.items())
    op, arg = items[0]
    extra = len(items) > 1
    if op in ("prefix", "suffix"):
        if isinstance(arg, dict):
            return _one_key(_parse_affix_ignore_case(op, arg), extra)
        if not isinstance(arg, str):
            raise PatternSyntaxError(f"{op} match pattern must be a string")
        return _one_key(Matcher(op, arg, expr), extra)
    if op == "equals-ignore-case":
        if not isinstance(arg, str):
            raise PatternSyntaxError("equals-ignore-case match pattern must be a string")
        return _one_key(Matcher(op, arg.lower(), expr), extra)
    if op == "wildcard":
        if not isinstance(arg, str):
            raise PatternSyntaxError("wildcard match pattern must be a string")
        _check_wildcard_text(arg)
        return _one_key(Matcher(op, arg, expr), extra)
    if op == "exists":
        if not isinstance(arg, bool):
            raise PatternSyntaxError("exists match pattern must be either true or false.")
        return _one_key(Matcher(op, arg, expr), extra)
    if op == "cidr":
        if not isinstance(arg, str):
            raise PatternSyntaxError("prefix match pattern must be a string")
        try:
            addresses = parse_cidr(arg)
        except ValueError as exc:
            raise PatternSyntaxError(str(exc)) from None
        return _one_key(Matcher(op, addresses, expr), extra)
    if op == "numeric":
        if not isinstance(arg, list):
            raise PatternSyntaxError("Value of numeric must be an array.")
        matcher = Matcher(op, _parse_numeric(arg), expr)
        if extra:
            raise PatternSyntaxError("Too many elements in numeric expression")
        return matcher
    if op == "anything-but":
        matcher = _parse_anything_but(arg, expr)
        if extra:
            raise PatternSyntaxError("Too many elements in numeric expression")
        return matcher
    raise PatternSyntaxError(f"Unrecognized match type {op}")


def _one_key(matcher: Matcher, extra: bool) -> Matcher:
    if extra:
        raise PatternSyntaxError("Only one key allowed in match expression")
    return matcher


def _parse_affix_ignore_case(op: str, arg: dict[str, Any]) -> Matcher:
    # {"prefix": {"equals-ignore-case": "EventB"}} (and the suffix twin).
    if not arg:
        raise PatternSyntaxError(f"{op.capitalize()} expression name not found")
    inner_op, inner = next(iter(arg.items()))
    if inner_op != "equals-ignore-case":
        raise PatternSyntaxError(f"Unsupported {op} pattern: {inner_op}")
    if not isinstance(inner, str):
        raise PatternSyntaxError("equals-ignore-case match pattern must be a string")
    if len(arg) > 1:
        raise PatternSyntaxError("Only one key allowed in match expression")
    return Matcher(op, inner.lower(), {op: arg}, ignore_case=True)


_NUMERIC_OPS = ("=", "<", "<=", ">", ">=")


def _parse_numeric(terms: list[Any]) -> tuple[tuple[str, float], ...]:
    if not terms:
        raise PatternSyntaxError("Invalid member in numeric match: ]")
    op = terms[0]
    if not isinstance(op, str):
        raise PatternSyntaxError(f"Invalid member in numeric match: {_text(op)}")
    if op not in _NUMERIC_OPS:
        raise PatternSyntaxError(f"Unrecognized numeric range operator: {op}")
    if len(terms) < 2 or not _is_number(terms[1]):
        raise PatternSyntaxError(f"Value of {'equals' if op == '=' else op} must be numeric")
    low = _number(terms[1])
    if len(terms) == 2:
        return ((op, low),)
    if op not in (">", ">="):
        raise PatternSyntaxError("Too many elements in numeric expression")
    op2 = terms[2]
    if not isinstance(op2, str):
        raise PatternSyntaxError(f"Bad value in numeric range: {_text(op2)}")
    if op2 not in ("<", "<="):
        raise PatternSyntaxError(f"Bad numeric range operator: {op2}")
    if len(terms) < 4 or not _is_number(terms[3]):
        raise PatternSyntaxError(f"Value of {op2} must be numeric")
    high = _number(terms[3])
    if len(terms) > 4:
        raise PatternSyntaxError("Too many terms in numeric range expression")
    if high <= low:
        raise PatternSyntaxError("Bottom must be less than top")
    return ((op, low), (op2, high))


def _string_list(arg: Any, reason: str) -> tuple[str, ...]:
    items = arg if isinstance(arg, list) else [arg]
    if not items:
        raise PatternSyntaxError("Empty arrays are not allowed")
    if not all(isinstance(v, str) for v in items):
        raise PatternSyntaxError(reason)
    return tuple(items)


def _parse_anything_but(arg: Any, expr: dict[str, Any]) -> Matcher:
    if isinstance(arg, dict):
        if not arg:
            raise PatternSyntaxError("Anything-But expression name not found")
        inner_op, inner = next(iter(arg.items()))
        if inner_op in ("prefix", "suffix"):
            if isinstance(inner, dict):
                raise PatternSyntaxError("Value of anything-but must be an array or single string/number value.")
            values = _string_list(inner, "prefix/suffix match pattern must be a string")
            if any(v == "" for v in values):
                raise PatternSyntaxError("Null prefix/suffix not allowed")
        elif inner_op == "equals-ignore-case":
            values = _string_list(
                inner, "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported."
            )
            values = tuple(v.lower() for v in values)
        elif inner_op == "wildcard":
            values = _string_list(inner, "wildcard match pattern must be a string")
            for v in values:
                _check_wildcard_text(v)
        else:
            raise PatternSyntaxError(f"Unsupported anything-but pattern: {inner_op}")
        if len(arg) > 1:
            raise PatternSyntaxError("Only one key allowed in match expression")
        return Matcher(f"anything-but-{inner_op}", values, expr)
    if isinstance(arg, list):
        if any(not isinstance(v, str) and not _is_number(v) for v in arg):
            raise PatternSyntaxError("Inside anything but list, start|null|boolean is not supported.")
        strings = [v for v in arg if isinstance(v, str)]
        if not arg or (strings and len(strings) != len(arg)):
            raise PatternSyntaxError(
                "Inside anything but list, either all values are number or string, mixed type is not supported"
            )
        if strings:
            return Matcher("anything-but", frozenset(strings), expr)
        return Matcher("anything-but", frozenset(_number(v) for v in arg), expr, numbers=True)
    if isinstance(arg, str):
        return Matcher("anything-but", frozenset([arg]), expr)
    if _is_number(arg):
        return Matcher("anything-but", frozenset([_number(arg)]), expr, numbers=True)
    raise PatternSyntaxError("Value of anything-but must be an array or single string/number value.")


def _check_wildcard_text(pattern: str) -> None:
    try:
        pattern_wildcard.wildcard_parts(pattern)
    except ValueError as exc:
        raise PatternSyntaxError(str(exc)) from None
