"""The raw-text pre-check of JSON patterns is exact: it never rules out a message the full evaluator
matches, however the message's JSON is spelled (escapes, ``\\u`` sequences, ``\\/``, spacing); and
FilterPatternSet's lookup by required values agrees with the full evaluator."""

from __future__ import annotations

import json
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from opentrail.monitoring.filter_pattern import (
    FilterPatternSet,
    InvalidFilterPattern,
    JsonPattern,
    ParsedMessage,
    compile_pattern,
)

WORDS = ["Root", "AccessDenied", "AccessDeniedException", "Client.UnauthorizedOperation", "CreateTrail", "1",
         "1.0", "10", "-1", "", "a/b", 'say "hi"', "back\\slash", "null", "true", "ümlaut", "tab\there", "e"]
KEYS = ["a", "b", "c", "type", "eventName"]

scalars = st.one_of(
    st.sampled_from(WORDS), st.integers(-20, 20), st.sampled_from([1.0, 1.5, -0.5, 1e20, 0.1]),
    st.booleans(), st.none(),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)),
    max_leaves=12,
).map(lambda v: v if isinstance(v, dict) else {"a": v})


def _escape_string(s: str, mask: list[bool]) -> str:
    out = ['"']
    for k, ch in enumerate(s):
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "/" and mask[k % len(mask)]:
            out.append("\\/")
        elif ord(ch) < 0x20 or mask[k % len(mask)]:
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _spell(value: Any, mask: list[bool]) -> str:
    """JSON text of ``value`` with the characters of strings escaped where ``mask`` says so."""
    if isinstance(value, dict):
        return "{" + ",".join(_spell(k, mask) + ":" + _spell(v, mask) for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_spell(v, mask) for v in value) + "]"
    if isinstance(value, str):
        return _escape_string(value, mask)
    return json.dumps(value)


spellings = st.one_of(
    st.just("orjson"), st.just("ascii"), st.just("indent"), st.lists(st.booleans(), min_size=1, max_size=5),
)

SELECTORS = ["$.a", "$.b", "$.type", "$.eventName", "$.a.b", "$.c[0]", "$.c[*]", "$.*", "$.a[1][0]"]
NUMBERS = {"1": 1, "-1": -1, "1.0": 1.0, "1e+0": 1.0, "10": 10, "0.1": 0.1, "1e20": 1e20}
REGEXES = {"Root": "Root", "^Access": "AccessDenied", "Operation$": "Client.UnauthorizedOperation", "[0-9]": "10"}
BARE = {"Root": "Root", "CreateTrail": "CreateTrail", "AccessDenied*": "AccessDeniedException",
        "*Operation": "x.Operation", "1.0": 1.0, "e": "e"}

Condition = tuple[str, str, Any]  # (pattern text, selector, a value that may satisfy it)


@st.composite
def conditions(draw: st.DrawFn) -> Condition:
    selector = draw(st.sampled_from(SELECTORS))
    form = draw(st.sampled_from(["string", "wild", "number", "is", "not", "regex", "any", "bare"]))
    if form == "is":
        what = draw(st.sampled_from(["NULL", "TRUE", "FALSE"]))
        return f"{selector} IS {what}", selector, {"NULL": None, "TRUE": True, "FALSE": False}[what]
    if form == "not":
        return f"{selector} NOT EXISTS", selector, draw(scalars)
    if form == "number":
        op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="]))
        number = draw(st.sampled_from(sorted(NUMBERS)))
        value = draw(st.sampled_from([NUMBERS[number], number]))
        return f"{selector} {op} {number}", selector, value
    op = draw(st.sampled_from(["=", "!="]))
    if form == "regex":
        regex = draw(st.sampled_from(sorted(REGEXES)))
        return f"{selector} {op} %{regex}%", selector, REGEXES[regex]
    if form == "any":
        return f"{selector} {op} *", selector, draw(scalars)
    if form == "bare":
        bare = draw(st.sampled_from(sorted(BARE)))
        return f"{selector} {op} {bare}", selector, BARE[bare]
    word = draw(st.sampled_from(WORDS))
    quoted = word.replace("\\", "\\\\").replace('"', '\\"')
    if form == "wild":
        shape = draw(st.sampled_from(["*{}", "{}*", "*{}*"]))
        return f'{selector} {op} "{shape.format(quoted)}"', selector, shape.replace("*", "zz").format(word)
    return f'{selector} {op} "{quoted}"', selector, word


@st.composite
def expressions(draw: st.DrawFn, depth: int = 0) -> tuple[str, list[Condition]]:
    if depth >= 2 or draw(st.booleans()):
        condition = draw(conditions())
        return condition[0], [condition]
    op = draw(st.sampled_from(["&&", "||"]))
    parts = draw(st.lists(expressions(depth + 1), min_size=2, max_size=4))
    return "(" + f" {op} ".join(p[0] for p in parts) + ")", [c for p in parts for c in p[1]]


def _place(doc: dict[str, Any], selector: str, value: Any, filler: Any) -> None:
    """Put ``value`` where ``selector`` reads, so that documents often satisfy the pattern."""
    if selector == "$.a.b":
        doc["a"] = {"b": value}
    elif selector in ("$.c[0]", "$.c[*]"):
        doc["c"] = [value, filler] if selector == "$.c[0]" else [filler, value]
    elif selector == "$.*":
        doc["z"] = value
    elif selector == "$.a[1][0]":
        doc["a"] = [filler, [value]]
    else:
        doc[selector[2:]] = value


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    expression, used = draw(expressions())
    doc = draw(documents)
    for _, selector, value in used:
        if draw(st.integers(0, 9)) < 8:
            _place(doc, selector, value, draw(scalars))
    return expression, doc


def _check(expression: str, doc: dict[str, Any], spelling: Any) -> None:
    try:
        pattern = compile_pattern("{ " + expression + " }")
    except InvalidFilterPattern:
        return  # over the wildcard or regex quota
    assert isinstance(pattern, JsonPattern)
    if spelling == "orjson":
        raw = orjson.dumps(doc).decode()
    elif spelling == "ascii":
        raw = json.dumps(doc)
    elif spelling == "indent":
        raw = json.dumps(doc, indent=1, ensure_ascii=False)
    else:
        raw = _spell(doc, spelling)
    assert json.loads(raw) == doc
    full = pattern.matches_doc(orjson.loads(raw))
    message = ParsedMessage(raw)
    if not pattern.could_match(message):
        assert not full, (pattern.text, raw)
    assert pattern.matches(raw) is full
    assert FilterPatternSet([pattern, compile_pattern("{ $.b = Root }")]).matches(raw)[0] is full


@settings(max_examples=400, deadline=None)
@given(case=cases(), spelling=spellings)
def test_precheck_never_rules_out_a_match(case: tuple[str, dict[str, Any]], spelling: Any) -> None:
    _check(*case, spelling)


def test_precheck_rules_out_without_parsing() -> None:
    """What the pre-check is for: a message without the literal is refused before any parse."""
    pattern = compile_pattern('{ $.eventName = "ConsoleLogin" && $.errorMessage != "x" }')
    message = ParsedMessage('{"eventName": "DescribeInstances", "errorMessage": "y"}')
    assert not pattern.could_match(message)
    assert not pattern.matches_parsed(message)
    assert message._doc is None  # never parsed
    escaped = ParsedMessage('{"eventName": "\\u0043onsoleLogin", "errorMessage": "y"}')
    assert pattern.could_match(escaped) and pattern.matches_parsed(escaped)
    assert compile_pattern("{ $.a IS NULL }").could_match(ParsedMessage('{"a": 1}')) is False
    assert compile_pattern("{ $.a != 1 }").could_match(ParsedMessage('{"b": 1}')) is True


@st.composite
def name_sets(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """An ``||`` of 4-6 equalities on one selector (the keyed pre-check) and a document that holds
    the key at the top, nested, twice, or not at all."""
    selector = draw(st.sampled_from(["$.eventName", "$.a.type", "$.a.b.type"]))
    names = draw(st.lists(st.sampled_from(WORDS), min_size=4, max_size=6, unique=True))
    quoted = [n.replace("\\", "\\\\").replace('"', '\\"') for n in names]
    text = " || ".join(f'{selector} = "{q}"' for q in quoted)
    key = selector.rsplit(".", 1)[1]
    value = draw(st.one_of(st.sampled_from(names), scalars))
    doc = draw(documents)
    where = draw(st.sampled_from(["top", "nested", "both", "none"]))
    if where in ("top", "both"):
        _place(doc, selector, value, draw(scalars))
    if where in ("nested", "both"):
        doc["n"] = {key: draw(st.sampled_from(names)), "m": [{key: value}]}
    return text, doc


@settings(max_examples=200, deadline=None)
@given(case=name_sets(), spelling=spellings)
def test_keyed_precheck_never_rules_out_a_match(case: tuple[str, dict[str, Any]], spelling: Any) -> None:
    _check(*case, spelling)


def test_keyed_precheck() -> None:
    pattern = compile_pattern("{ $.eventName = A || $.eventName = B || $.eventName = C || $.eventName = D }")
    assert pattern.could_match(ParsedMessage('{"eventName" : "B"}'))
    assert not pattern.could_match(ParsedMessage('{"eventName": "E", "x": "A"}'))
    assert pattern.could_match(ParsedMessage('{"x": {"eventName": "A"}, "eventName": "E"}'))  # a superset
    assert pattern.could_match(ParsedMessage('{"eventName": "\\u0041"}')) and pattern.matches('{"eventName": "\\u0041"}')
    assert pattern.could_match(ParsedMessage('{"eventName": "x\\"y"}'))  # escaped value: unknown
    assert not pattern.matches('{"eventName": "E"}') and pattern.matches('{"eventName":"D"}')
