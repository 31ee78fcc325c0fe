"""PatternSet agrees with each pattern's ``matches``, and ``matches`` agrees with a plain reference
reading of EventBridge's rules: on the real CloudTrail records of ``shared/datasets`` with the
benchmark's generated rule sets, and on generated patterns and events (hypothesis)."""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.eventbridge_match import dataset_envelopes, generate_patterns
from opentrail.eventbridge.pattern import PatternSet, parse_pattern

# --- a reference evaluator, written for clarity: flatten, expand, compare ------------------------


def flatten(obj: Any, name: str = "", out: dict[str, list[Any]] | None = None) -> dict[str, list[Any]]:
    """Event → {dot-joined name: leaf values} (arrays flattened, objects are not leaves)."""
    out = {} if out is None else out
    if isinstance(obj, dict):
        for key, value in obj.items():
            flatten(value, f"{name}.{key}" if name else key, out)
    elif isinstance(obj, list):
        for item in obj:
            flatten(item, name, out)
    else:
        out.setdefault(name, []).append(obj)
    return out


def branches(pattern: dict[str, Any], prefix: str = "", current: list[dict[str, list[Any]]] | None = None) -> list[dict[str, list[Any]]]:
    current = [{}] if current is None else current
    for key, value in pattern.items():
        if key == "$or" and isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            current = [b for alternative in value for b in branches(alternative, prefix, [dict(c) for c in current])]
        elif isinstance(value, dict):
            current = branches(value, f"{prefix}.{key}" if prefix else key, current)
        else:
            name = f"{prefix}.{key}" if prefix else key
            for c in current:
                c.pop(name, None)
                c[name] = value
    return current


def is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def wildcard(pattern: str, s: str) -> bool:
    regex = "".join(".*" if part == "*" else re.escape(part.replace("\\*", "*").replace("\\\\", "\\"))
                    for part in re.split(r"((?<!\\)\*)", pattern))
    return re.fullmatch(regex, s, re.DOTALL) is not None


def accepts(matcher: Any, v: Any) -> bool:
    if not isinstance(matcher, dict):
        if is_number(matcher):
            return is_number(v) and float(v) == float(matcher)
        return type(v) is type(matcher) and v == matcher
    (op, arg), = matcher.items()
    s = v if isinstance(v, str) else None
    if op == "prefix":
        if isinstance(arg, dict):
            return s is not None and s.lower().startswith(arg["equals-ignore-case"].lower())
        return s is not None and s.startswith(arg)
    if op == "suffix":
        if isinstance(arg, dict):
            return s is not None and s.lower().endswith(arg["equals-ignore-case"].lower())
        return s is not None and s.endswith(arg)
    if op == "equals-ignore-case":
        return s is not None and s.lower() == arg.lower()
    if op == "wildcard":
        return s is not None and wildcard(arg, s)
    if op == "cidr":
        try:
            return s is not None and ipaddress.ip_address(s) in ipaddress.ip_network(arg, strict=False)
        except ValueError:
            return False
    if op == "numeric":
        if not is_number(v):
            return False
        x, ok = float(v), True
        for comparison, limit in zip(arg[::2], arg[1::2]):
            ok = ok and {"=": x == limit, "<": x < limit, "<=": x <= limit, ">": x > limit, ">=": x >= limit}[comparison]
        return ok
    if op == "anything-but":
        if isinstance(arg, dict):
            (inner, values), = arg.items()
            values = values if isinstance(values, list) else [values]
            test = {"prefix": lambda p: s is not None and s.startswith(p), "suffix": lambda p: s is not None and s.endswith(p),
                    "equals-ignore-case": lambda p: s is not None and s.lower() == p.lower(),
                    "wildcard": lambda p: s is not None and wildcard(p, s)}[inner]
            return not any(test(p) for p in values)
        values = arg if isinstance(arg, list) else [arg]
        return not any(accepts(p, v) for p in values)
    raise AssertionError(op)


def reference_match(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    flat = flatten(event)
    for branch in branches(pattern):
        ok = True
        for name, matchers in branch.items():
            values = flat.get(name, [])
            field = any(accepts(m, v) for m in matchers if not (isinstance(m, dict) and "exists" in m) for v in values)
            for m in matchers:
                if isinstance(m, dict) and "exists" in m:
                    field = field or (bool(values) == m["exists"])
            ok = ok and field
        if ok:
            return True
    return False


# --- real records, the benchmark's rule sets ------------------------------------------------------


@pytest.fixture(scope="module")
def envelopes() -> list[dict[str, Any]]:
    found = dataset_envelopes()
    assert len(found) > 3000
    return found


@pytest.mark.parametrize("seed", [1, 2])
def test_pattern_set_agrees_on_dataset(envelopes: list[dict[str, Any]], seed: int) -> None:
    texts = generate_patterns(150, envelopes, seed=seed)
    patterns = {name: parse_pattern(text) for name, text in texts.items()}
    rules = PatternSet(patterns)
    total = 0
    for event in envelopes[seed::3]:
        expected = [name for name, p in patterns.items() if p.matches(event)]
        assert rules.matching(event) == expected
        total += len(expected)
    assert total > 100  # the rule sets do match real events
    for event in envelopes[::60]:
        for name, text in list(texts.items())[:40]:
            assert patterns[name].matches(event) is reference_match(json.loads(text), event), (name, text)


# --- generated patterns and events ----------------------------------------------------------------

KEYS = ["a", "b", "c", "a.b"]
STRINGS = ["", "x", "xy", "X", "yx", "10.0.0.1", "10.1.0.0", "2001:db8::1", "a*b", "a\\b"]
VALUES = st.sampled_from([*STRINGS, 0, 1, 1.0, 2.5, -3, 100, True, False, None])
NONEMPTY = st.sampled_from([s for s in STRINGS if s])

leaf_json = st.recursive(
    VALUES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=3),
    max_leaves=8,
)
events = st.dictionaries(st.sampled_from(KEYS), leaf_json, max_size=4)

bound = st.sampled_from([-3, 0, 1, 2.5, 100])
numeric = st.one_of(
    st.tuples(st.sampled_from(["=", "<", "<=", ">", ">="]), bound).map(list),
    st.tuples(st.sampled_from([">", ">="]), bound, st.sampled_from(["<", "<="]), bound)
    .filter(lambda t: t[3] > t[1]).map(list),
)
matcher = st.one_of(
    VALUES,
    st.builds(lambda s: {"prefix": s}, st.sampled_from(STRINGS)),
    st.builds(lambda s: {"suffix": s}, st.sampled_from(STRINGS)),
    st.builds(lambda s: {"prefix": {"equals-ignore-case": s}}, st.sampled_from(STRINGS)),
    st.builds(lambda s: {"suffix": {"equals-ignore-case": s}}, st.sampled_from(STRINGS)),
    st.builds(lambda s: {"equals-ignore-case": s}, st.sampled_from(STRINGS)),
    st.builds(lambda s: {"wildcard": s}, st.sampled_from(["x*", "*y", "*", "1*.*", "a\\*b", "a\\\\b", "*x*"])),
    st.builds(lambda n: {"cidr": n}, st.sampled_from(["10.0.0.0/8", "10.0.0.0/24", "10.1.0.0/16", "2001:db8::/32"])),
    st.builds(lambda b: {"exists": b}, st.booleans()),
    st.builds(lambda r: {"numeric": r}, numeric),
    st.builds(lambda v: {"anything-but": v}, st.one_of(
        NONEMPTY, st.sampled_from([0, 1, 2.5]), st.lists(NONEMPTY, min_size=1, max_size=3),
        st.lists(st.sampled_from([0, 1, 2.5, -3]), min_size=1, max_size=3))),
    st.builds(lambda op, v: {"anything-but": {op: v}}, st.sampled_from(["prefix", "suffix", "equals-ignore-case"]),
              st.one_of(NONEMPTY, st.lists(NONEMPTY, min_size=1, max_size=2))),
    st.builds(lambda v: {"anything-but": {"wildcard": v}}, st.sampled_from(["x*", "*y", ["x*", "*0*"]])),
)
field_values = st.lists(matcher, min_size=1, max_size=3)
patterns = st.recursive(
    st.dictionaries(st.sampled_from(KEYS), field_values, min_size=1, max_size=3),
    lambda inner: st.dictionaries(st.sampled_from(KEYS), inner | field_values, min_size=1, max_size=2)
    | st.builds(lambda base, alts: {**base, "$or": alts}, st.dictionaries(st.sampled_from(KEYS), field_values, max_size=1),
                st.lists(inner, min_size=2, max_size=3)),
    max_leaves=4,
)


@settings(max_examples=200, deadline=None)
@given(pattern=patterns, event_list=st.lists(events, min_size=1, max_size=6))
def test_matches_agrees_with_reference(pattern: dict[str, Any], event_list: list[dict[str, Any]]) -> None:
    compiled = parse_pattern(json.dumps(pattern))
    for event in event_list:
        assert compiled.matches(event) is reference_match(pattern, event), event
        assert (compiled.explain(event) is None) is compiled.matches(event)


@settings(max_examples=60, deadline=None)
@given(pattern_list=st.lists(patterns, min_size=1, max_size=12), event_list=st.lists(events, min_size=1, max_size=8))
def test_pattern_set_agrees_with_matches(pattern_list: list[dict[str, Any]], event_list: list[dict[str, Any]]) -> None:
    compiled = {f"p{i}": parse_pattern(json.dumps(p)) for i, p in enumerate(pattern_list)}
    rules = PatternSet(compiled)
    for event in event_list:
        assert rules.matching(event) == [k for k, p in compiled.items() if p.matches(event)]
