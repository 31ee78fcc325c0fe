"""The block pre-selection of FilterLogEvents never drops a message its pattern matches: checked on
crafted messages (escapes, phrases, OR terms) and, with hypothesis, on generated JSON messages."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opentrail.monitoring.filter_pattern import compile_pattern
from opentrail.monitoring.logs_needles import candidates, needle_of

MESSAGES = [
    '{"eventName": "ConsoleLogin", "userIdentity": {"type": "Root"}}',
    '{"eventName": "Console\\u004cogin", "userIdentity": {"type": "Root"}}',  # an escape spells it otherwise
    '{"eventName": "GetObject", "errorCode": "AccessDenied"}',
    "ERROR disk full on /dev/sda",
    "WARN nothing to see",
    '{"readOnly": true, "eventSource": "s3.amazonaws.com"}',
    "",
    "1.2.3.4 - bob [10/Oct/2000:13:55:36 -0700] \"GET /a.gif\" 200 2326",
]


@pytest.mark.parametrize(("pattern", "kind", "expected"), [
    ('{ $.eventName = "ConsoleLogin" && $.userIdentity.type = "Root" }', "all", [0, 1]),
    ('{ $.errorCode = "AccessDenied*" || $.eventName = "ConsoleLogin" }', "any", [0, 1, 2]),
    ("{ $.readOnly IS TRUE }", "raw", [5]),
    ('{ $.eventName = "A" || $.eventName = "B" || $.eventName = "ConsoleLogin" || $.eventName = "GetObject" }',
     "key", [0, 1, 2]),
    ('ERROR "disk full"', "all", [3]),
    ("?ERROR ?WARN", "any", [3, 4]),
    ("-ERROR", None, list(range(len(MESSAGES)))),
    ("[ip, id, user, ...]", None, list(range(len(MESSAGES)))),
    ("{ $.eventName != \"x\" }", None, list(range(len(MESSAGES)))),
])
def test_candidates_keep_every_match(pattern: str, kind: str | None, expected: list[int]) -> None:
    compiled = compile_pattern(pattern)
    needle = needle_of(compiled)
    assert (needle[0] if needle else None) == kind
    chosen = candidates(needle, MESSAGES)
    assert chosen == expected
    assert candidates(needle, [m.encode() for m in MESSAGES]) == expected  # as FilterLogEvents reads them
    assert [i for i in chosen if compiled.matches(MESSAGES[i])] == [
        i for i, m in enumerate(MESSAGES) if compiled.matches(m)]


values = st.one_of(st.sampled_from(["Root", "IAMUser", "ConsoleLogin", "Console", "Login", "AccessDenied", "x\"y",
                                    "é", "\u004c"]), st.integers(-5, 5), st.booleans(), st.none())
documents = st.dictionaries(st.sampled_from(["eventName", "type", "errorCode", "n", "readOnly"]), values, max_size=4)
PATTERNS = ['{ $.eventName = "ConsoleLogin" }',
            '{ $.eventName = "Login" || $.eventName = "ConsoleLogin" || $.eventName = "x\\"y" || $.eventName = "é" }', '{ $.type = "Root" && $.eventName = "Console*" }',
            '{ $.errorCode = "*Denied" || $.type = IAMUser }', "{ $.readOnly IS FALSE || $.n = 3 }",
            '"ConsoleLogin"', "?Root ?IAMUser", 'Login -Console']


@settings(max_examples=200, deadline=None)
@given(docs=st.lists(documents, max_size=30), pattern=st.sampled_from(PATTERNS), ascii_only=st.booleans())
def test_generated_messages(docs: list[dict[str, object]], pattern: str, ascii_only: bool) -> None:
    option = orjson.OPT_SORT_KEYS
    messages = [orjson.dumps(d, option=option).decode() for d in docs]
    if ascii_only:  # the same documents written with \\u escapes for every non-ASCII character
        import json

        messages = [json.dumps(d, sort_keys=True) for d in docs]
    compiled = compile_pattern(pattern)
    chosen = candidates(needle_of(compiled), messages)
    assert candidates(needle_of(compiled), [m.encode() for m in messages]) == chosen
    assert [i for i in chosen if compiled.matches(messages[i])] == [
        i for i, m in enumerate(messages) if compiled.matches(m)]
