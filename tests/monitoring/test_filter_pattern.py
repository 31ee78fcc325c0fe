"""Filter patterns against what AWS answers and documents.

Two sources, both kept verbatim here:

- ORACLE: AWS's own TestMetricFilter answers (us-east-1, 2026-09-13) to a corpus of patterns and
  messages, captured with the AWS CLI by github radkawar/stackd (``testdata/aws/logs/filters.json``).
  Event numbers are 1-based over each corpus, as TestMetricFilter returns them.
- DOCS: the examples of the FilterAndPatternSyntax page and its JSON, space-delimited and regex
  subpages (and the older user guide's four precedence examples with their stated outcomes).
"""

from __future__ import annotations

import json

import pytest

from opentrail.monitoring.filter_pattern import (
    FilterPattern,
    FilterPatternSet,
    InvalidFilterPattern,
    ParsedMessage,
    compile_pattern,
    is_json_selector,
    matches_many,
)

# -- ORACLE: corpora ---------------------------------------------------------------------------

TERMS = [
    "ERROR ARGUMENTS REQUEST", "ERROR BAD REQUEST", "INFO ARGUMENTS", "INFO REQUEST",
    "error arguments request", "ERROR INTERNAL SERVER ERROR", "ERROR INTERNAL  SERVER ERROR",
    "INTERNAL SERVER error", "TERROR REQUEST", "[ERROR] REQUEST", "ERROR-REQUEST", "ERROR_ARGUMENTS",
    "ERROR\nARGUMENTS", "ARGUMENTS ERROR", "plain", 'say "hello world" now', "hello-world", " ",
]
REGEX = [
    "ERROR 500", "ERROR 50", "ERROR 5000", "WARN 404", "xERROR 500", "error 500", "color", "colour",
    "colouur", "10.10.0.1", "10010,051", "hello!", "hello(", "café", "aaab", "abab", "ERROR\n500",
]
SCALARS = [
    '{}', '{"v":null}', '{"v":"null"}', '{"v":true}', '{"v":false}', '{"v":"true"}', '{"v":"false"}',
    '{"v":0}', '{"v":1}', '{"v":1.0}', '{"v":1e0}', '{"v":"1"}', '{"v":"1.0"}', '{"v":-1}', '{"v":1.5}',
    '{"v":10}', '{"v":"10"}', '{"v":"Alpha"}', '{"v":"alpha"}', '{"v":"Alphabet"}', '{"v":"xAlpha"}',
    '{"v":""}', '{"v":[]}', '{"v":{}}', '{"v":[1,"Alpha",null]}', '{"v":"a*b"}', '{"v":"a?b"}',
    '{"v":1,"v":2}', '{"v":2,"v":1}', 'not JSON', '[{"v":1}]', '{broken',
]
PATHS = [
    '{"nested":{"value":"hit"},"cluster.name":"flat","cluster":{"name":"nested"},"items":[{"a":1,"b":0},'
    '{"a":0,"b":2}],"arr":["miss","hit"],"matrix":[[0,1],[2,3]],"a":1,"b":0,"c":0}',
    '{"nested":{"value":"miss"},"cluster.name":"nested","cluster":{"name":"flat"},"items":[{"a":1,"b":2}],'
    '"arr":["hit","miss"],"matrix":[[1,0]],"a":0,"b":2,"c":3}',
    '{"nested":null,"arr":[null],"items":[],"a":0,"b":2,"c":0}',
    '{"nested":{},"arr":[],"a":1,"b":2,"c":3}',
    '{"nested":{"value":null},"arr":"hit","a":0,"b":0,"c":3}',
    '{"nested":{"value":"null"},"other":"hit"}',
    '{"nested.value":"hit","arr":[["hit"]]}',
    '{"arr":["hit","hit"],"items":[{"a":1},{"b":2}]}',
    '{"arr":{"0":"hit"},"nested":[{"value":"hit"}]}',
    '{}',
]
SPACE = [
    '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534',
    '127.0.0.2 - jane [10/Oct/2000:13:25:16 -0700] "GET /index.html HTTP/1.0" 410 0',
    '127.0.0.3 - frank [10/Oct/2000:13:25:17 -0700] "POST /api HTTP/1.0" 500 2048',
    '127.0.0.4 - frank [10/Oct/2000:13:25:18 -0700] "GET /index.html HTTP/1.0" 200 100',
    '127.0.0.5  -  frank [10/Oct/2000:13:25:19 -0700] "GET /index.html HTTP/1.0" 404 1534 extra',
    '127.0.0.6\t-\tfrank\t[10/Oct/2000:13:25:20 -0700]\t"GET /index.html HTTP/1.0"\t404\t1534',
    "ERROR request failed", "WARNING request", "INFO request accepted", "ERROR", 'ERROR "two words"',
    'ERROR "unterminated words',
]
CORPORA = {"terms": TERMS, "regex": REGEX, "scalars": SCALARS, "paths": PATHS, "space": SPACE}

ALL = "all"
# (corpus, pattern, event numbers AWS returned)
ORACLE_MATCHES = [
    ("terms", "", ALL),
    ("terms", '" "', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 16, 18]),
    ("terms", "ERROR", [1, 2, 6, 7, 9, 10, 11, 12, 13, 14]),
    ("terms", "ERROR ARGUMENTS", [1, 12, 13, 14]),
    ("terms", "?ERROR ?ARGUMENTS", [1, 2, 3, 6, 7, 9, 10, 11, 12, 13, 14]),
    ("terms", "?ERROR ?ARGUMENTS REQUEST", [1, 2, 4, 9, 10, 11]),
    ("terms", "?ERROR ?ARGUMENTS -REQUEST", [3, 5, 6, 7, 8, 12, 13, 14, 15, 16, 17, 18]),
    ("terms", "ERROR -ARGUMENTS", [2, 6, 7, 9, 10, 11]),
    ("terms", "-ERROR", [3, 4, 5, 8, 15, 16, 17, 18]),
    ("terms", '"INTERNAL SERVER ERROR"', [6]),
    ("terms", "error", [5, 8]),
    ("terms", '"hello-world"', [17]),
    ("terms", 'ERROR -"BAD REQUEST"', [1, 6, 7, 9, 10, 11, 12, 13, 14]),
    ("regex", "%^ERROR\\s[0-9]{3}$%", [1, 17]),
    ("regex", "%ERROR|WARN%", [1, 2, 3, 4, 5, 17]),
    ("regex", "%^colou?r$%", [7, 8]),
    ("regex", "%10\\.10\\.0\\.1%", [10]),
    ("regex", "%10.10.0.1%", [10, 11]),
    ("regex", "%\\x21%", [12]),
    ("regex", "%^[^a-z]+$%", [1, 2, 3, 4, 10, 11, 17]),
    ("regex", "%^a*b$%", [15]),
    ("scalars", "{ $.v = 1 }", [9, 10, 11, 12, 29]),
    ("scalars", "{ $.v != 1 }", [3, 6, 7, 8, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 26, 27, 28]),
    ("scalars", "{ $.v > 1 }", [15, 16, 28]),
    ("scalars", "{ $.v < 1 }", [8, 14]),
    ("scalars", "{ $.v >= 1 }", [9, 10, 11, 15, 16, 28, 29]),
    ("scalars", "{ $.v <= 1 }", [8, 9, 10, 11, 14, 29]),
    ("scalars", "{ $.v = 1e+0 }", [9, 10, 11, 29]),
    ("scalars", "{ $.v = -1 }", [14]),
    ("scalars", '{ $.v = "1" }', [9, 12, 29]),
    ("scalars", '{ $.v = "Alpha" }', [18]),
    ("scalars", '{ $.v != "Alpha" }', [3, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 19, 20, 21, 22, 26, 27, 28, 29]),
    ("scalars", '{ $.v = "Alpha*" }', [18, 20]),
    ("scalars", '{ $.v = "*Alpha" }', [18, 21]),
    ("scalars", '{ $.v = "a?b" }', [27]),
    ("scalars", '{ $.v = "" }', [22]),
    ("scalars", "{ $.v = %^Al.*% }", [18, 20]),
    ("scalars", "{ $.v IS NULL }", [2, 25]),
    ("scalars", "{ $.v NOT EXISTS }", [1]),
    ("scalars", "{ $.v IS TRUE }", [4]),
    ("scalars", "{ $.v IS FALSE }", [5]),
    ("scalars", "{ $.v = true }", [6]),
    ("scalars", "{ $.v = * }", [3, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 26, 27, 28, 29]),
    ("paths", '{ $.nested.value = "hit" }', [1]),
    ("paths", "{ $.['cluster.name'] = \"flat\" }", [1]),
    ("paths", '{ $.cluster.name = "flat" }', [2]),
    ("paths", '{ $.arr[0] = "hit" }', [2, 8]),
    ("paths", '{ $.arr[*] = "hit" }', [1, 2, 8, 9]),
    ("paths", '{ $.* = "hit" }', [5, 6, 7]),
    ("paths", "{ $.matrix[0][1] = 1 }", [1]),
    ("paths", "{ $.items[*].a = 1 && $.items[*].b = 2 }", [1, 2, 8]),
    ("paths", "{ $.a = 1 && $.c = 3 }", [4]),
    ("paths", "{ $.a = 1 || $.b = 2 && $.c = 3 }", [1, 2, 4]),
    ("paths", "{ ($.a = 1 || $.b = 2) && $.c = 3 }", [2, 4]),
    ("paths", "{ $.nested.value NOT EXISTS }", [3, 4, 7, 8, 9, 10]),
    ("paths", "{ $.nested.value IS NULL }", [5]),
    ("space", "[ip, identity, user, timestamp, request, status, bytes]", [1, 2, 3, 4, 5, 6]),
    ("space", "[ip, identity, user, timestamp, request, status >= 400, bytes > 1000]", [1, 3, 6]),
    ("space", "[..., request = *.html*, status = 4*, bytes]", [1, 2, 6]),
    ("space", "[..., status = 404 || status = 410, bytes]", [1, 2, 6]),
    ("space", "[ip = %127\\.0\\.0\\.[1-3]%, identity, user, timestamp, request, status, bytes]", [1, 2, 3]),
    ("space", "[..., bytes]", ALL),
    ("space", "[ip, ..., status, bytes]", [1, 2, 3, 4, 5, 6, 7, 9, 12]),
    ("space", "[]", ALL),
    ("space", "[w1=ERROR, w2]", [7, 11, 12]),
    ("space", "[w1!=ERROR && w1!=WARNING, w2]", [1, 2, 3, 4, 5, 6, 9]),
]


@pytest.mark.parametrize(("corpus", "pattern", "expected"), ORACLE_MATCHES)
def test_aws_answers_which_messages_match(corpus: str, pattern: str, expected: object) -> None:
    messages = CORPORA[corpus]
    compiled = compile_pattern(pattern)
    got = [n for n, message in enumerate(messages, 1) if compiled.matches(message)]
    assert got == (list(range(1, len(messages) + 1)) if expected == ALL else expected)
    # match() agrees with matches(), and so does the parse-once path.
    assert [n for n, m in enumerate(messages, 1) if compiled.match(m) is not None] == got
    assert [n for n, m in enumerate(messages, 1) if matches_many([compiled], m)[0]] == got


# (corpus, pattern, {event number: extractedValues}) as AWS returned them.
ORACLE_EXTRACTED = [
    ("terms", "ERROR", {1: {}}),
    ("scalars", "{ $.v = 1 }", {9: {}, 29: {}}),
    ("space", "[ip, identity, user, timestamp, request, status, bytes]", {
        1: {"$request": "GET /index.html HTTP/1.0", "$status": "404", "$identity": "-", "$bytes": "1534",
            "$ip": "127.0.0.1", "$user": "frank", "$timestamp": "10/Oct/2000:13:25:15 -0700"},
        5: {"$request": "GET /index.html HTTP/1.0", "$status": "404", "$identity": "-", "$bytes": "1534 extra",
            "$ip": "127.0.0.5", "$user": "frank", "$timestamp": "10/Oct/2000:13:25:19 -0700"},
        6: {"$request": "GET /index.html HTTP/1.0", "$status": "404", "$identity": "-", "$bytes": "1534",
            "$ip": "127.0.0.6", "$user": "frank", "$timestamp": "10/Oct/2000:13:25:20 -0700"},
    }),
    ("space", "[..., request = *.html*, status = 4*, bytes]", {
        2: {"$4": "10/Oct/2000:13:25:16 -0700", "$request": "GET /index.html HTTP/1.0", "$status": "410",
            "$bytes": "0", "$1": "127.0.0.2", "$2": "-", "$3": "jane"},
    }),
    ("space", "[..., status = 404 || status = 410, bytes]", {
        1: {"$4": "10/Oct/2000:13:25:15 -0700", "$5": "GET /index.html HTTP/1.0", "$status": "404",
            "$bytes": "1534", "$1": "127.0.0.1", "$2": "-", "$3": "frank"},
    }),
    ("space", "[..., bytes]", {
        5: {"$4": "10/Oct/2000:13:25:19 -0700", "$5": "GET /index.html HTTP/1.0", "$6": "404", "$7": "1534",
            "$bytes": "extra", "$1": "127.0.0.5", "$2": "-", "$3": "frank"},
        7: {"$1": "ERROR", "$2": "request", "$bytes": "failed"},
        8: {"$1": "WARNING", "$bytes": "request"},
        10: {"$bytes": "ERROR"},
        11: {"$1": "ERROR", "$bytes": "two words"},
        12: {"$1": "ERROR", "$2": '"unterminated', "$bytes": "words"},
    }),
    ("space", "[ip, ..., status, bytes]", {
        1: {"$4": "10/Oct/2000:13:25:15 -0700", "$5": "GET /index.html HTTP/1.0", "$status": "404",
            "$bytes": "1534", "$ip": "127.0.0.1", "$2": "-", "$3": "frank"},
        5: {"$4": "10/Oct/2000:13:25:19 -0700", "$5": "GET /index.html HTTP/1.0", "$6": "404", "$status": "1534",
            "$bytes": "extra", "$ip": "127.0.0.5", "$2": "-", "$3": "frank"},
        7: {"$status": "request", "$bytes": "failed", "$ip": "ERROR"},
        12: {"$status": '"unterminated', "$bytes": "words", "$ip": "ERROR"},
    }),
    ("space", "[]", {
        5: {"$4": "10/Oct/2000:13:25:19 -0700", "$5": "GET /index.html HTTP/1.0", "$6": "404", "$7": "1534",
            "$8": "extra", "$1": "127.0.0.5", "$2": "-", "$3": "frank"},
        10: {"$1": "ERROR"},
        11: {"$1": "ERROR", "$2": "two words"},
        12: {"$1": "ERROR", "$2": '"unterminated', "$3": "words"},
    }),
    ("space", "[w1=ERROR, w2]", {
        7: {"$w1": "ERROR", "$w2": "request failed"},
        11: {"$w1": "ERROR", "$w2": "two words"},
        12: {"$w1": "ERROR", "$w2": '"unterminated words'},
    }),
    ("space", "[w1!=ERROR && w1!=WARNING, w2]", {
        1: {"$w1": "127.0.0.1", "$w2": '- frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534'},
        5: {"$w1": "127.0.0.5", "$w2": '-  frank [10/Oct/2000:13:25:19 -0700] "GET /index.html HTTP/1.0" 404 1534 extra'},
        6: {"$w1": "127.0.0.6", "$w2": '-\tfrank\t[10/Oct/2000:13:25:20 -0700]\t"GET /index.html HTTP/1.0"\t404\t1534'},
        9: {"$w1": "INFO", "$w2": "request accepted"},
    }),
]


# The same capture's metric filter extractors (testdata/aws/logs/metric_filter_extractors.json).
CORPORA["extractors"] = [
    '{"kind":"wildcard","value":19,"items":[{"value":7,"bucket":"A"}]}',
    '{"kind":"wildcard","value":23,"items":[{"value":11,"bucket":"A"},{"value":13,"bucket":"B"}]}',
    "SPACE 17", "SPACE 31",
]
ORACLE_EXTRACTED += [
    ("extractors", '{ $.kind = "wildcard" && $.items[*].value = * }', {1: {}, 2: {}}),
    ("extractors", '{ $.kind = "wildcard" && $.items[*].bucket = * }', {1: {}, 2: {}}),
    ("extractors", "[kind,value]", {3: {"$kind": "SPACE", "$value": "17"}, 4: {"$kind": "SPACE", "$value": "31"}}),
]


@pytest.mark.parametrize(("corpus", "pattern", "expected"), ORACLE_EXTRACTED)
def test_aws_extracted_values(corpus: str, pattern: str, expected: dict[int, dict[str, str]]) -> None:
    compiled = compile_pattern(pattern)
    for number, values in expected.items():
        match = compiled.match(CORPORA[corpus][number - 1])
        assert match is not None, number
        assert match.extracted_values == values, number


# (pattern, TestMetricFilter message, FilterLogEvents message or None when AWS was not asked)
ORACLE_ERRORS = [
    ("ERR*", "Invalid character(s) in term '*'", None),
    ('"ERROR', "Invalid character(s) in term '\"ERROR'", "Invalid character(s) in term '\"ERROR'"),
    ("%^(ERROR|WARN)%", "Invalid character(s) in term '%^('", "Invalid character(s) in term '%^('"),
    ("%hello!%", "Invalid character(s) in term '%hello!'", "Invalid character(s) in term '%hello!'"),
    ("%café%", "Invalid character(s) in term '%café'", "Invalid character(s) in term '%café'"),
    ("%ERROR(?= 500)%", "Invalid character(s) in term '%ERROR('", None),
    ("%[abc%", "Failed to compile regular expression.", None),
    ("{ $.v = null }", "Invalid metric filter pattern", None),
    ("{ $.v EXISTS }", "Invalid metric filter pattern", "Invalid filter pattern"),
    ("{ $.v IS NOT NULL }", "Invalid character(s) in term 'NOT'", None),
    ("{ $.v == 1 }", "Invalid metric filter pattern", "Invalid filter pattern"),
    ("{ !($.v = 1) }", "Invalid character(s) in term '!('", None),
    ("{ $.v > 0 AND $.v < 2 }", "Invalid metric filter pattern", None),
    ('{ "v": [1] }', "Invalid character(s) in term ':'", "Invalid character(s) in term ':'"),
    ('{ $.v > "Alpha" }', "Invalid character(s) in term '\"Alpha\"'", None),
    ("{ $.v = %(Alpha|Beta)% }", "Invalid character(s) in term '%('", None),
    ("{ $.items[*].* = 1 }",
     "Your filter pattern has a JSON path selector that exceeds the maximum of 1 wildcard allowed per json selector.",
     "Your filter pattern has a JSON path selector that exceeds the maximum of 1 wildcard allowed per json selector."),
    ('{ $..value = "hit" }', "Invalid character(s) in term '$..'", None),
    ('{ $.arr[-1] = "hit" }', "Invalid character(s) in term '[-'", None),
    ('{ $.arr[0:2] = "hit" }', "Invalid character(s) in term '[0:'", None),
    ('{ $.arr[*] = "hit" || $.items[*].a = 1 || $.* = "hit" || $.matrix[*][0] = 0 }',
     "Your input has exceeded the maximum of 3 JSON wildcard selectors allowed per filter pattern.", None),
    ("{ $.v = %Alpha% || $.v = %Beta% || $.v = %Gamma% }",
     "Your input has exceeded the maximum of 2 regular expressions per filter pattern.",
     "Your input has exceeded the maximum of 2 regular expressions per filter pattern."),
    ("[..., status, ...]", "Duplicate field '...'", "Duplicate field '...'"),
    ("[word, word]", "Duplicate field 'word'", None),
    # Seen in the wild (FilterLogEvents answers quoted in public repositories).
    ('{ $."sc-status" = 5* }', "Invalid character(s) in term '$.\"'", "Invalid character(s) in term '$.\"'"),
    ("?Status: timeout", "Invalid character(s) in term ':'", "Invalid character(s) in term ':'"),
]


@pytest.mark.parametrize(("pattern", "message", "fle_message"), ORACLE_ERRORS)
def test_aws_error_messages(pattern: str, message: str, fle_message: str | None) -> None:
    with pytest.raises(InvalidFilterPattern) as caught:
        compile_pattern(pattern)
    assert caught.value.message == message
    assert caught.value.code == "InvalidParameterException"
    if fle_message is not None:
        assert caught.value.filter_log_events_message == fle_message


def test_within_the_quotas_is_accepted() -> None:
    """Three wildcard selectors and two regexes are allowed (the limits are 3 and 2)."""
    compile_pattern('{ $.arr[*] = "hit" || $.items[*].a = 1 || $.* = "hit" }')
    compile_pattern("{ $.v = %Alpha% || $.v = %Beta% }")
    compile_pattern("[a=%x%, b=%y%, c]")
    with pytest.raises(InvalidFilterPattern) as caught:
        compile_pattern("[a=%x%, b=%y%, c=%z%]")
    assert caught.value.message == "Your input has exceeded the maximum of 2 regular expressions per filter pattern."


# -- DOCS ----------------------------------------------------------------------------------------

DOC_TERMS = [
    "[ERROR 400] BAD REQUEST", "[ERROR 401] UNAUTHORIZED REQUEST", "[ERROR 419] MISSING ARGUMENTS",
    "[ERROR 420] INVALID ARGUMENTS", "[ERROR 500] INTERNAL SERVER ERROR", "[INFO] REQUEST FAILED",
    "[WARN] UNAUTHORIZED REQUEST", "[ERROR] 400 BAD REQUEST",
]


@pytest.mark.parametrize(
    ("pattern", "matching"),
    [
        # "Example: Match a single term"
        ("ERROR", {0, 1, 2, 3, 4, 7}),
        # "Example: Match multiple terms": 419 and 420, not 400 or 401
        ("ERROR ARGUMENTS", {2, 3}),
        ("?ERROR ?ARGUMENTS", {0, 1, 2, 3, 4, 7}),
        # "?ERROR ?ARGUMENTS REQUEST" matches "all events containing the word REQUEST"
        ("?ERROR ?ARGUMENTS REQUEST", {0, 1, 5, 6, 7}),
        ('"INTERNAL SERVER ERROR"', {4}),
        ("ERROR -ARGUMENTS", {0, 1, 4, 7}),
        ("%AUTHORIZED%", {1, 6}),
    ],
)
def test_documented_term_examples(pattern: str, matching: set[int]) -> None:
    compiled = compile_pattern(pattern)
    assert {i for i, m in enumerate(DOC_TERMS) if compiled.matches(m)} == matching


def test_documented_or_examples_of_the_older_guide() -> None:
    """"ERROR matches examples 1 and 2. ?ERROR ?WARN matches examples 1, 2, and 3 ... ERROR WARN only
    matches example 1 ... ERROR -WARN matches example 2"; then the space-delimited and JSON forms."""
    lines = ["ERROR WARN message", "ERROR message", "WARN message"]

    def which(pattern: str) -> list[int]:
        return [n for n, line in enumerate(lines, 1) if compile_pattern(pattern).matches(line)]

    assert which("ERROR") == [1, 2]
    assert which("?ERROR ?WARN") == [1, 2, 3]
    assert which("ERROR WARN") == [1]
    assert which("ERROR -WARN") == [2]
    assert which("[w1=ERROR, w2]") == [1, 2]
    assert which("[w1=ERROR || w1=WARN, w2]") == [1, 2, 3]
    docs = ['{"foo": "bar"}', '{"foo": "baz"}']
    assert [compile_pattern("{$.foo = bar}").matches(d) for d in docs] == [True, False]
    assert [compile_pattern("{$.foo = baz }").matches(d) for d in docs] == [False, True]
    assert [compile_pattern("{$.foo = bar || $.foo = baz }").matches(d) for d in docs] == [True, True]


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("%^[hc]at%", "hat trick"), ("%[hc]at$%", "the cat"), ("%colou?r%", "color"), ("%colou?r%", "colour"),
        ("%[abc]%", "b"), ("%[a-z]%", "x"), ("%[abcx-z]%", "y"), ("%a{3,5}%", "aaaa"), ("%gra|ey%", "gray"),
        ("%gra|ey%", "grey"), ("%^starting|^initializing|^shutting down%", "shutting down"),
        ("%\\[.\\]%", "[7]"), ("%\\[.\\]%", "[ ]"), ("%ab*c%", "ac"), ("%ab*c%", "abbbc"),
        ("%ab[0-9]*%", "ab129"), ("%ab+c%", "abbc"), ("%.at%", "#at"), ("%.at%", " at"), ("%\\d%", "80"),
        ("%\\D%", "a"), ("%\\s%", "a\tb"), ("%\\S%", "x"), ("%\\w%", "_"), ("%\\W%", "-"), ("%\\x3A%", "a:b"),
        ("%\\x28%", "f(x)"), ("%10\\.10\\.0\\.1%", "10.10.0.1"), ("%10.10.0.1%", "10010,051"),
        ("%\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}%", "from 192.168.0.1"), ("%[Ee]rror|[Ff]ail%", "fail"),
        ("%AUTHORIZED%", "[ERROR 401] UNAUTHORIZED REQUEST"),
    ],
)
def test_documented_regex_examples_match(pattern: str, message: str) -> None:
    assert compile_pattern(pattern).matches(message)


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("%^[hc]at%", "a hat"), ("%[hc]at$%", "cats"), ("%^a{3,5}$%", "aa"), ("%ab+c%", "ac"),
        ("%^starting|^initializing|^shutting down%", "skipping initializing ..."), ("%abcc|ab[^c]$%", "aac"),
        ("%\\w%", "é"), ("%\\d%", "٣"),
    ],
)
def test_documented_regex_examples_do_not_match(pattern: str, message: str) -> None:
    assert not compile_pattern(pattern).matches(message)


def test_regex_rejects_what_the_page_rejects() -> None:
    for pattern, term in [("%something!%", "%something!"), ("%(ab)+%", "%("), ("%\\(ab\\)%", "%\\(")]:
        with pytest.raises(InvalidFilterPattern) as caught:
            compile_pattern(pattern)
        assert caught.value.message == f"Invalid character(s) in term '{term}'"


JSON_EVENT = json.dumps({
    "eventType": "UpdateTrail", "sourceIPAddress": "111.111.111.111", "arrayKey": ["value", "another value"],
    "objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}], "SomeObject": None, "cluster.name": "c",
    "ThisFlag": True,
})
COMPOUND = json.dumps({
    "user": {"id": 1, "email": "John.Stiles@example.com"},
    "users": [{"id": 2, "email": "John.Doe@example.com"}, {"id": 3, "email": "Jane.Doe@example.com"}],
    "actions": ["GET", "PUT", "DELETE"], "coordinates": [[0, 1, 2], [4, 5, 6], [7, 8, 9]],
})


@pytest.mark.parametrize(
    ("pattern", "message", "expected"),
    [
        ('{ $.eventType = "UpdateTrail" }', JSON_EVENT, True),
        ("{ $.sourceIPAddress != 123.123.* }", JSON_EVENT, True),
        ("{ $.sourceIPAddress != 111.111.* }", JSON_EVENT, False),
        ('{ $.arrayKey[0] = "value" }', JSON_EVENT, True),
        ("{ $.objectList[1].id = 2 }", JSON_EVENT, True),
        ("{ $.eventType = %Trail% }", JSON_EVENT, True),
        ("{ $.arrayKey[*] = %val.{2}% }", JSON_EVENT, True),
        ("{ $.* = %111\\.111\\.111\\.1[0-9]{1,2}% }", JSON_EVENT, True),
        ("{ $.['cluster.name'] = \"c\" }", JSON_EVENT, True),
        ("{ $.SomeObject IS NULL }", JSON_EVENT, True),
        ("{ $.SomeOtherObject NOT EXISTS }", JSON_EVENT, True),
        ("{ $.ThisFlag IS TRUE }", JSON_EVENT, True),
        ("{ $.ThisFlag IS FALSE }", JSON_EVENT, False),
        # "*Event will match PutEvent ... Event* will match EventId ... Ev*ent will only match Ev*ent"
        ("{ $.e = *Event }", '{"e": "PutEvent"}', True),
        ("{ $.e = Event* }", '{"e": "EventName"}', True),
        ("{ $.e = Ev*ent }", '{"e": "Evzzent"}', False),
        ('{ $.e = "Ev*ent" }', '{"e": "Ev*ent"}', True),
        # "both {$.users = 1} and {$.users != 1} will fail to match a log event where users is an array"
        ("{$.users = 1}", '{"users": [1, 2, 3]}', False),
        ("{$.users != 1}", '{"users": [1, 2, 3]}', False),
        # the four worked precedence examples (older guide: match, no match, match, no match)
        ('{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }', COMPOUND, True),
        ('{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }', COMPOUND, False),
        ('{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch && $.actions[2] = nomatch }',
         COMPOUND, True),
        ('{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch) && $.actions[2] = nomatch }',
         COMPOUND, False),
        ("{ $.coordinates[1][2] = 6 }", COMPOUND, True),
        # numeric examples
        ("{ $.bandwidth > 75 }", '{"bandwidth": 80}', True),
        ("{ $.bandwidth > 75 }", '{"bandwidth": 75}', False),
        ("{ $.latency < 50 }", '{"latency": 49.5}', True),
        ("{ $.refreshRate >= 60 }", '{"refreshRate": 60}', True),
        ("{ $.responseTime <= 5 }", '{"responseTime": 5}', True),
        ("{ $.errorCode = 400}", '{"errorCode": 400}', True),
        ("{ $.errorCode != 500 }", '{"errorCode": 500}', False),
        ("{ $.number[0] = 1e+3 }", '{"number": [1000]}', True),
        ("{ $.number[0] != 1e-3 }", '{"number": [1000]}', True),
        ("{ $.numbers[0] < 10e3 }", '{"numbers": [9999]}', True),
        ("{ $.latency > +1000 }", '{"latency": 1001}', True),
        ("{ $.processes[4].averageRuntime <= 55.5 }", '{"processes": [{}, {}, {}, {}, {"averageRuntime": 55.5}]}', True),
        ("{ $.latency = * }", '{"latency": 12}', True),
        ("{ $.errorCode = 4* }", '{"errorCode": 404}', True),
        # a missing field satisfies no comparison, != included; the idiom for "absent or different"
        ('{ $.phone != "x" }', "{}", False),
        ('{ ($.phone != "x") || ($.phone NOT EXISTS) }', "{}", True),
        # only JSON objects match JSON patterns
        ("{ $.eventType NOT EXISTS }", "eventType=UpdateTrail", False),
        ('{ $.eventType = "UpdateTrail" }', '2024-01-01 INFO {"eventType": "UpdateTrail"}', False),
        ("{ $.a = 1 }", "", False),
        # selectors with hyphens, and JSON with unicode escapes
        ('{ $.detail-type = "AWS API Call via CloudTrail" }', '{"detail-type": "AWS API Call via CloudTrail"}', True),
        ('{ $.userIdentity.type = "Root" }', '{"userIdentity": {"type": "\\u0052oot"}}', True),
    ],
)
def test_documented_json_examples(pattern: str, message: str, expected: bool) -> None:
    assert compile_pattern(pattern).matches(message) is expected


APACHE = [
    '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534',
    '127.0.0.1 - frank [10/Oct/2000:13:35:22 -0700] "GET /apache_pb.gif HTTP/1.0" 500 5324',
    '127.0.0.1 - frank [10/Oct/2000:13:50:35 -0700] "GET /apache_pb.gif HTTP/1.0" 200 4355',
]
SERVICE = [
    "INFO 09/25/2014 12:00:00 GET /service/resource/67 1200",
    "INFO 09/25/2014 12:00:01 POST /service/resource/67/part/111 1310",
    "WARNING 09/25/2014 12:00:02 Invalid user request",
    "ERROR 09/25/2014 12:00:02 Failed to process request",
]


@pytest.mark.parametrize(
    ("pattern", "messages", "matching"),
    [
        ("[ip, user, username, timestamp, request, status_code, bytes]", APACHE, [1, 2, 3]),
        ("[..., status_code, bytes]", APACHE, [1, 2, 3]),
        ("[ip, user, ..., status_code, bytes]", APACHE, [1, 2, 3]),
        ("[ip, user, ...]", APACHE, [1, 2, 3]),
        ("[ip, user, username, timestamp, request, status_code, bytes > 1000]", APACHE, [1, 2, 3]),
        ("[ip, user, username, timestamp, request, status_code, bytes > 5000]", APACHE, [2]),
        ("[ip, user, username, timestamp, request, status_code = 200, bytes]", APACHE, [1, 3]),
        ("[ip, user, username, timestamp, request, status_code = 5*, bytes]", APACHE, [2]),
        ("[ip, user, username, timestamp, request = *gif*, status_code = 5*, bytes]", APACHE, [2]),
        ("[ip, user, username, timestamp, request, status_code = 2* && status_code != 201, bytes]", APACHE, [1, 3]),
        ("[ip=%127\\.0\\.0\\.[1-9]%, user, username, timestamp, request =*.gif*, status_code = 2*, bytes]", APACHE, [1, 3]),
        ("[w1=ERROR, w2]", SERVICE, [4]),
        ("[w1=ERROR || w1=WARNING, w2]", SERVICE, [3, 4]),
        ("[w1!=ERROR && w1!=WARNING, w2]", SERVICE, [1, 2]),
        ("[logLevel, date, time, method, url=%/service/resource/[0-9]+$%, response_time]", SERVICE, [1]),
        ("[logLevel, date, time, method, url=%/service/resource/[0-9]+/part/[0-9]+$%, response_time]", SERVICE, [2]),
        ("[w1=ERROR || w1=%WARN%, w2]", SERVICE, [3, 4]),
    ],
)
def test_documented_space_delimited_examples(pattern: str, messages: list[str], matching: list[int]) -> None:
    compiled = compile_pattern(pattern)
    assert [n for n, m in enumerate(messages, 1) if compiled.matches(m)] == matching


def test_documented_extracted_fields_example() -> None:
    """The syntax page's extracted-fields example: ``[..., request=*.html*, status_code=4*,]`` (the
    trailing comma is one more unnamed field, reported as ``$7``)."""
    message = '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534'
    match = compile_pattern("[..., request=*.html*, status_code=4*,]").match(message)
    assert match is not None
    assert match.extracted_values == {
        "$status_code": "404", "$request": "GET /index.html HTTP/1.0", "$7": "1534",
        "$4": "10/Oct/2000:13:25:15 -0700", "$3": "frank", "$2": "-", "$1": "127.0.0.1",
    }


def test_extract_bytes_example_metric_values() -> None:
    """ExtractBytesExample: ``[ip, id, user, timestamp, request, status_code, size]`` with metricValue
    ``$size`` (the page also calls it "$7")."""
    pattern = compile_pattern("[ip, id, user, timestamp, request, status_code, size]")
    match = pattern.match('127.0.0.1 - - [24/Sep/2013:11:49:52 -0700] "GET /index.html HTTP/1.1" 404 287')
    assert match is not None
    assert pattern.value_of("$size", match) == "287"
    assert pattern.value_of("$7", match) == "287"
    assert pattern.value_of("$request", match) == "GET /index.html HTTP/1.1"
    assert pattern.value_of("$nothing", match) is None
    assert pattern.value_of("$.size", match) is None


def test_json_metric_values() -> None:
    pattern = compile_pattern("{ $.latency = * }")
    match = pattern.match('{"latency": 120, "user": {"name": "ana", "admin": true}, "tags": ["a"], "nil": null}')
    assert match is not None
    assert match.extracted_values == {}
    assert pattern.value_of("$.latency", match) == "120"
    assert pattern.value_of("$.user.name", match) == "ana"
    assert pattern.value_of("$.user.admin", match) == "true"
    assert pattern.value_of("$.tags[0]", match) == "a"
    assert pattern.value_of("$.tags", match) is None
    assert pattern.value_of("$.nil", match) is None
    assert pattern.value_of("$.missing", match) is None
    assert pattern.value_of("$latency", match) is None
    assert pattern.match('{"latency": null}') is None


def test_term_match_has_no_values() -> None:
    pattern = compile_pattern("ERROR")
    match = pattern.match("[ERROR] x")
    assert match is not None and match.extracted_values == {}
    assert pattern.value_of("$.x", match) is None


def test_json_selector_references() -> None:
    assert is_json_selector("$.latency")
    assert is_json_selector("$.a[0].b")
    assert is_json_selector("$.['cluster.name']")
    assert not is_json_selector("$.items[*].value")
    assert not is_json_selector("$latency")
    assert not is_json_selector("$.a[")
    assert not is_json_selector("1")


# -- kinds, blank patterns, malformed patterns ---------------------------------------------------


def test_kinds_and_blank_patterns() -> None:
    assert compile_pattern("").kind == "all"
    assert compile_pattern("   ").kind == "all"
    assert compile_pattern("").matches("anything") and compile_pattern(" \t").matches("")
    assert compile_pattern("ERROR").kind == "terms"
    assert compile_pattern("%ERR%").kind == "terms"
    assert compile_pattern(" { $.a = 1 }").kind == "json"
    assert compile_pattern("[a, b]").kind == "space"
    assert isinstance(compile_pattern(""), FilterPattern)


@pytest.mark.parametrize(
    "pattern",
    [
        "{ $.a = }", "{ $.a }", "{ $.a = 1", "{ $.a = 1 } trailing", "{ a = 1 }", "{ $.a = 1 && }",
        "{ ($.a = 1 }", "{ }", "{ $.a IS MAYBE }", "{ $.a NOT THERE }", "{ $.a < abc }",
        "[a, b", "[a, b] trailing", "[a = 1 ||]", "[1a]", "[a, b=x || c=y]", "[a = ]", "%%", "%abc",
    ],
)
def test_malformed_patterns_are_rejected(pattern: str) -> None:
    with pytest.raises(InvalidFilterPattern):
        compile_pattern(pattern)


# -- explain -------------------------------------------------------------------------------------


def test_explain_json_shows_each_clause() -> None:
    pattern = compile_pattern('{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }')
    message = json.dumps({"userIdentity": {"type": "Root"}, "eventType": "AwsServiceEvent"})
    assert pattern.explain(message) == [
        {"clause": pattern.text, "kind": "json", "result": False, "depth": 0},
        {"clause": '$.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent"',
         "kind": "and", "result": False, "depth": 1},
        {"clause": '$.userIdentity.type = "Root"', "kind": "comparison", "selector": "$.userIdentity.type",
         "values": ["Root"], "result": True, "depth": 2},
        {"clause": "$.userIdentity.invokedBy NOT EXISTS", "kind": "not exists", "selector": "$.userIdentity.invokedBy",
         "values": [], "result": True, "depth": 2},
        {"clause": '$.eventType != "AwsServiceEvent"', "kind": "comparison", "selector": "$.eventType",
         "values": ["AwsServiceEvent"], "result": False, "depth": 2},
    ]
    json.dumps(pattern.explain(message))
    assert pattern.explain("not json") == [
        {"clause": pattern.text, "kind": "json", "result": False, "depth": 0,
         "reason": "The log event message is not a JSON object."},
    ]


def test_explain_json_precedence_and_groups() -> None:
    pattern = compile_pattern("{ ($.a = 1 || $.b = 2) && $.c = 3 }")
    rows = pattern.explain('{"a": 0, "b": 2, "c": [3]}')
    assert [(r["clause"], r["kind"], r["result"], r["depth"]) for r in rows] == [
        (pattern.text, "json", False, 0),
        ("($.a = 1 || $.b = 2) && $.c = 3", "and", False, 1),
        ("$.a = 1 || $.b = 2", "or", True, 2),
        ("$.a = 1", "comparison", False, 3),
        ("$.b = 2", "comparison", True, 3),
        ("$.c = 3", "comparison", False, 2),
    ]
    assert rows[-1]["values"] == ["<array>"]


def test_explain_terms() -> None:
    pattern = compile_pattern('?ERROR ?ARGUMENTS REQUEST -"BAD REQUEST"')
    rows = pattern.explain("[WARN] BAD REQUEST")
    assert rows == [
        {"clause": pattern.text, "kind": "terms", "result": False, "depth": 0,
         "note": "?-terms are ignored when the pattern also has plain or - terms"},
        {"clause": "?ERROR", "kind": "term", "role": "ignored", "found": False, "result": None, "depth": 1},
        {"clause": "?ARGUMENTS", "kind": "term", "role": "ignored", "found": False, "result": None, "depth": 1},
        {"clause": "REQUEST", "kind": "term", "role": "required", "found": True, "result": True, "depth": 1},
        {"clause": '-"BAD REQUEST"', "kind": "phrase", "role": "excluded", "found": True, "result": False, "depth": 1},
    ]


def test_explain_space_delimited() -> None:
    pattern = compile_pattern("[ip, user, username, timestamp, request, status_code = 4* && status_code != 403, bytes > 1000]")
    rows = pattern.explain(APACHE[1])
    assert rows[0]["result"] is False
    assert rows[0]["fields"]["$status_code"] == "500"
    assert [(r["clause"], r["kind"], r.get("value"), r["result"], r["depth"]) for r in rows[1:]] == [
        ("status_code = 4* && status_code != 403", "and", "500", False, 1),
        ("status_code = 4*", "comparison", "500", False, 2),
        ("status_code != 403", "comparison", "500", True, 2),
        ("bytes > 1000", "comparison", "5324", True, 1),
    ]
    short = pattern.explain("ERROR only three")
    assert short == [{"clause": pattern.text, "kind": "space", "result": False, "depth": 0,
                      "reason": "The log event has 3 fields; the pattern needs 7."}]


def test_explain_match_all() -> None:
    assert compile_pattern("").explain("x") == [{"clause": "", "kind": "all", "result": True, "depth": 0}]


# -- several patterns, one parse ---------------------------------------------------------------


def test_matches_many_parses_once() -> None:
    patterns = [compile_pattern(p) for p in ("{ $.a = 1 }", "{ $.b = x }", "ERROR", "[w1 = ERROR, w2]", "")]
    message = ParsedMessage('ERROR {"a": 1, "b": "x"}')
    assert matches_many(patterns, message) == [False, False, True, True, True]
    message = ParsedMessage('{"a": 1, "b": "x"}')
    assert matches_many(patterns, message) == [True, True, False, False, True]
    assert matches_many(patterns, '{"a": 2}') == [False, False, False, False, True]


def test_pattern_set_looks_up_required_values_exactly() -> None:
    texts = [
        "{ $.eventName = CreateTrail || $.eventName = DeleteTrail }",
        '{ $.eventSource = "kms.amazonaws.com" && ($.eventName = DisableKey || $.eventName = ScheduleKeyDeletion) }',
        '{ $.code = "404" }',  # a number's text: matches {"code": 404}
        "{ $.eventName = Create* }",  # not indexable (wildcard)
        "{ $.items[*].name = x || $.eventName = x }",  # not indexable (wildcard selector)
        "{ $.eventName != CreateTrail }",
        "ERROR",
        "[w1, w2]",
    ]
    patterns = [compile_pattern(t) for t in texts]
    pattern_set = FilterPatternSet(patterns)
    messages = [
        '{"eventName": "CreateTrail"}', '{"eventName": "DeleteTrail", "code": 404}',
        '{"eventSource": "kms.amazonaws.com", "eventName": "DisableKey"}',
        '{"eventSource": "ec2.amazonaws.com", "eventName": "DisableKey"}', '{"eventName": "CreateBucket"}',
        '{"items": [{"name": "x"}], "eventName": 7}', '{"eventName": null}', "ERROR here", "[1, 2]",
        '{"eventName": "\\u0043reateTrail"}',
    ]
    for message in messages:
        expected = [p.matches(message) for p in patterns]
        assert pattern_set.matches(message) == expected, message
        assert pattern_set.matching(message) == [i for i, hit in enumerate(expected) if hit], message
    assert pattern_set.matches('{"eventName": "DeleteTrail", "code": 404}') == [True, False, True, False, False, True, False, True]
