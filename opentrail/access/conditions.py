"""IAM condition operators: parse one ``"Operator": {"key": values}`` entry, evaluate it.

Source: IAM User Guide, *IAM JSON policy elements: Condition operators* and *Single-valued vs.
multivalued context keys* `[UG-IAM reference_policies_elements_condition_operators.md,
reference_policies_condition-single-vs-multi-valued-context-keys.md]`:

* families String*, Numeric*, Date*, Bool, BinaryEquals, IpAddress/NotIpAddress, Arn*, Null; any but
  Null may end in ``IfExists``; any may start with ``ForAllValues:`` or ``ForAnyValue:``;
* several values for one key are ORed; for a negated operator (StringNotEquals, NotIpAddress, ...)
  they act as NOR: true only when the request value matches none of them;
* a key missing from the request makes a condition false, except negated operators (true),
  ``...IfExists`` (true) and ``Null`` (tests presence); an empty multi-valued key counts as missing;
* ``ForAllValues``: true when every request value matches (true on a missing or empty key);
  ``ForAnyValue``: true when at least one does (false on a missing or empty key). With a negated
  operator "matches" means "matches none of the policy values".

Context values are strings (booleans are ``"true"``/``"false"``, numbers their decimal text).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Callable

from .patterns import ContextLookup, Pattern

__all__ = ["Condition", "parse_condition_block", "ConditionSyntaxError", "parse_date"]


class ConditionSyntaxError(ValueError):
    """A Condition block the grammar refuses (the caller turns it into MalformedPolicyDocument)."""


_STRING = {"StringEquals": False, "StringNotEquals": True, "StringEqualsIgnoreCase": False,
           "StringNotEqualsIgnoreCase": True, "StringLike": False, "StringNotLike": True}
_NUMERIC = {"NumericEquals": False, "NumericNotEquals": True, "NumericLessThan": False,
            "NumericLessThanEquals": False, "NumericGreaterThan": False,
            "NumericGreaterThanEquals": False}
_DATE = {"Date" + k[len("Numeric"):]: v for k, v in _NUMERIC.items()}
_OTHER = {"Bool": False, "BinaryEquals": False, "IpAddress": False, "NotIpAddress": True,
          "ArnEquals": False, "ArnLike": False, "ArnNotEquals": True, "ArnNotLike": True, "Null": False}
#: Every base operator -> negated?
OPERATORS: dict[str, bool] = {**_STRING, **_NUMERIC, **_DATE, **_OTHER}
_OPERATORS_CI = {k.lower(): k for k in OPERATORS}
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "Equals": lambda a, b: a == b, "NotEquals": lambda a, b: a == b,
    "LessThan": lambda a, b: a < b, "LessThanEquals": lambda a, b: a <= b,
    "GreaterThan": lambda a, b: a > b, "GreaterThanEquals": lambda a, b: a >= b,
}


@lru_cache(maxsize=4096)
def parse_date(text: str) -> float | None:
    """Epoch seconds of an ISO 8601 date/time (``2026-12-02``, ``2026-12-02T17:00:00Z``, with
    offset or fraction) or of an epoch-seconds number; ``None`` when neither. A time without zone
    is UTC."""
    t = text.strip()
    try:
        return float(t)
    except ValueError:
        pass
    try:
        d = datetime.fromisoformat(t[:-1] + "+00:00" if t.endswith(("Z", "z")) else t)
    except ValueError:
        return None
    if d.tzinfo is None:
        d = d.replace(tzinfo=timezone.utc)
    return d.timestamp()


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Condition:
    """One key under one operator. ``key`` is lower case; ``values`` the policy values as text."""

    operator: str
    base: str
    set_op: str | None  # "ForAllValues" | "ForAnyValue" | None
    if_exists: bool
    negated: bool
    key: str
    values: tuple[str, ...]
    _test: Callable[[str, ContextLookup], bool]
    #: equal for conditions that are written the same (a request memoises results by it)
    cache_id: int

    #: the compiled form of :meth:`evaluate`
    fn: Callable[[ContextLookup], bool]

    def evaluate(self, ctx: ContextLookup) -> bool:
        """The condition's truth for the request ``ctx`` (see the module docstring)."""
        return self.fn(ctx)


def _compile_eval(base: str, set_op: str | None, if_exists: bool, negated: bool, key: str,
                  values: tuple[str, ...], test: Callable[[str, ContextLookup], bool],
                  fixed: frozenset[str] | None) -> Callable[[ContextLookup], bool]:
    """One closure per condition: the rules of the module docstring, with the lookups bound."""
    if base == "Null":
        wants_absent = frozenset((v.lower() == "true") for v in values)
        return lambda ctx: (not ctx.values(key)) in wants_absent
    if set_op == "ForAllValues":
        def for_all(ctx: ContextLookup) -> bool:
            found = ctx.values(key)
            return not found or all(test(v, ctx) != negated for v in found)
        return for_all
    if set_op == "ForAnyValue":
        def for_any(ctx: ContextLookup) -> bool:
            found = ctx.values(key)
            if not found:
                return if_exists
            return any(test(v, ctx) != negated for v in found)
        return for_any
    missing = if_exists or negated
    if fixed is not None:  # exact strings, no variables: a set lookup
        def exact(ctx: ContextLookup) -> bool:
            found = ctx.values(key)
            if not found:
                return missing
            for v in found:
                if v in fixed:
                    return not negated
            return negated
        return exact

    def plain(ctx: ContextLookup) -> bool:
        found = ctx.values(key)
        if not found:
            return missing
        for v in found:
            if test(v, ctx):
                return not negated
        return negated
    return plain


def _string_test(base: str, values: tuple[str, ...], variables: bool) -> Callable[[str, ContextLookup], bool]:
    if base in ("StringLike", "StringNotLike"):
        pats = [Pattern(v, "string", variables) for v in values]
        return lambda v, ctx: any(p.match(v, ctx) for p in pats)
    fold = base.endswith("IgnoreCase")
    pats = [Pattern(v, "string", variables) for v in values]
    if all(p.is_static for p in pats):
        texts = [p.resolve_literal(None) or "" for p in pats]
        fixed = {t.casefold() if fold else t for t in texts}
        return (lambda v, ctx: v.casefold() in fixed) if fold else (lambda v, ctx: v in fixed)

    def test(v: str, ctx: ContextLookup) -> bool:
        want = v.casefold() if fold else v
        for p in pats:
            lit = p.resolve_literal(ctx)
            if lit is not None and (lit.casefold() if fold else lit) == want:
                return True
        return False

    return test


_Test = Callable[[str, ContextLookup], bool]


def _ordered_test(base: str, values: tuple[str, ...], parse: Callable[[str], float | None]) -> _Test:
    family = "Numeric" if base.startswith("Numeric") else "Date"
    cmp = _COMPARE[base[len(family):]]
    bounds = [b for b in (parse(v) for v in values) if b is not None]

    def test(v: str, ctx: ContextLookup) -> bool:
        x = parse(v)
        return x is not None and any(cmp(x, b) for b in bounds)

    return test


def _make_test(base: str, values: tuple[str, ...], variables: bool) -> Callable[[str, ContextLookup], bool]:
    if base in _STRING:
        return _string_test(base, values, variables)
    if base in _NUMERIC:
        return _ordered_test(base, values, _number)
    if base in _DATE:
        return _ordered_test(base, values, parse_date)
    if base == "Bool":
        wanted = {v.lower() for v in values}
        return lambda v, ctx: v.lower() in wanted
    if base == "BinaryEquals":
        raw = set(values)
        return lambda v, ctx: v in raw
    if base in ("IpAddress", "NotIpAddress"):
        nets = [n for n in (_network(v) for v in values) if n is not None]

        def in_nets(v: str, ctx: ContextLookup) -> bool:
            try:
                ip = ipaddress.ip_address(v.strip())
            except ValueError:
                return False
            return any(ip.version == n.version and ip in n for n in nets)

        return in_nets
    if base.startswith("Arn"):
        pats = [Pattern(v, "arn", variables) for v in values]
        return lambda v, ctx: any(p.match(v, ctx) for p in pats)
    return lambda v, ctx: False  # Null has no per-value test


def _value_text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float, str)):
        return str(v)
    raise ConditionSyntaxError("condition value of type " + type(v).__name__)


def parse_operator(name: str) -> tuple[str, str | None, bool]:
    """``ForAnyValue:StringLikeIfExists`` -> (``StringLike``, ``ForAnyValue``, True). Operator names
    are matched case-insensitively (IAM accepts ``stringequals``). Raises ConditionSyntaxError."""
    set_op = None
    rest = name
    if ":" in name:
        prefix, rest = name.split(":", 1)
        set_op = {"forallvalues": "ForAllValues", "foranyvalue": "ForAnyValue"}.get(prefix.lower())
        if set_op is None:
            raise ConditionSyntaxError("unknown set operator " + prefix)
    if_exists = rest.lower().endswith("ifexists")
    if if_exists:
        rest = rest[: -len("IfExists")]
    base = _OPERATORS_CI.get(rest.lower())
    if base is None or (if_exists and base == "Null"):
        raise ConditionSyntaxError("unknown condition operator " + name)
    return base, set_op, if_exists


#: condition spelling -> small integer (grows with the distinct conditions ever parsed)
_IDS: dict[tuple[object, ...], int] = {}


def parse_condition_block(block: Any, variables: bool) -> tuple[Condition, ...]:
    """Compile a statement's ``Condition`` object: ``{operator: {key: value | [values]}}``.
    ``variables``: substitute ``${...}`` (Version 2012-10-17). Raises ConditionSyntaxError."""
    if not isinstance(block, dict):
        raise ConditionSyntaxError("Condition is not an object")
    out: list[Condition] = []
    for op_name, keys in block.items():
        base, set_op, if_exists = parse_operator(op_name)
        if not isinstance(keys, dict) or not keys:
            raise ConditionSyntaxError("operator body is not an object")
        for key, raw in keys.items():
            if not isinstance(key, str) or not key:
                raise ConditionSyntaxError("empty condition key")
            items = raw if isinstance(raw, list) else [raw]
            if not items:
                raise ConditionSyntaxError("no condition values")
            values = tuple(_value_text(v) for v in items)
            ident = (base, set_op, if_exists, key.lower(), values, variables)
            cache_id = _IDS.setdefault(ident, len(_IDS))
            test = _make_test(base, values, variables)
            fixed = None
            if base in ("StringEquals", "StringNotEquals") and not (variables and any("${" in v for v in values)):
                fixed = frozenset(values)
            fn = _compile_eval(base, set_op, if_exists, OPERATORS[base], key.lower(), values, test, fixed)
            out.append(Condition(op_name, base, set_op, if_exists, OPERATORS[base], key.lower(),
                                 values, test, cache_id, fn))
    return tuple(out)
