"""Event patterns, one operator at a time: (pattern, event, expected) rows from AWS's documentation
and from LocalStack's ``tests/aws/services/events/event_pattern_templates`` (each template there
was run against AWS's TestEventPattern: ``_NEG`` = no match, others match), and the messages of
InvalidEventPatternException as AWS answers them (LocalStack's AWS-recorded
``test_events_patterns.snapshot.json``)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opentrail.eventbridge.pattern import (
    InvalidEventPattern,
    InvalidTestEvent,
    PatternSet,
    parse_pattern,
    parse_test_event,
)


def envelope(detail: dict[str, Any] | None = None, **top: Any) -> dict[str, Any]:
    """An EventBridge event; ``top`` overrides or adds envelope fields."""
    event: dict[str, Any] = {
        "version": "0",
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "account": "123456789012",
        "time": "2017-10-02T18:43:48Z",
        "region": "us-east-1",
        "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-1234567890abcdef0"],
        "detail": detail if detail is not None else {"instance-id": "i-1234567890abcdef0", "state": "running"},
    }
    event.update({k.replace("_", "-"): v for k, v in top.items()})
    return event


P = dict  # a pattern, written as the JSON object it is

EG = "eb-create-pattern-operators / eb-event-patterns-content-based-filtering"  # AWS User Guide pages
LS = "LocalStack event_pattern_templates (verified against AWS)"

CASES: list[tuple[str, dict[str, Any], dict[str, Any], bool]] = [
    # --- exact values, arrays, nesting (eb-create-pattern, eb-event-patterns-arrays)
    ("doc: source + detail-type + nested state", P(source=["aws.ec2"], **{"detail-type": ["EC2 Instance State-change Notification"]}, detail={"state": ["running", "terminated"]}), envelope(), True),
    ("doc: nested state differs", P(source=["aws.ec2"], detail={"state": ["terminated"]}), envelope(), False),
    ("doc: source is one of two", P(source=["aws.ec2", "aws.fargate"]), envelope(source="aws.fargate"), True),
    ("doc: field missing from the event", P(detail={"instance-type": ["t2.micro"]}), envelope(), False),
    ("doc: nesting must be the same", P(state=["running"]), envelope(), False),
    ("doc arrays: event array intersects pattern array", P(resources=[
        "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f",
        "arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f",
        "arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f"]),
     envelope(resources=["arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate",
                         "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f"]), True),
    ("doc arrays: no element in common", P(resources=["arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f"]), envelope(), False),
    ("strings are case-sensitive", P(detail={"state": ["Running"]}), envelope(), False),
    ("doc: empty string matches empty string", P(detail={"eventVersion": [""], "responseElements": [None]}), envelope({"eventVersion": "", "responseElements": None}), True),
    ("doc: empty string does not match null", P(detail={"responseElements": [""]}), envelope({"responseElements": None}), False),
    ("doc: null does not match empty string", P(detail={"eventVersion": [None]}), envelope({"eventVersion": ""}), False),
    ("null does not match a missing field", P(detail={"eventVersion": [None]}), envelope({}), False),
    (f"{LS} arrays_empty_null_NEG", P(resources=[None]), envelope(resources=[]), False),
    ("boolean matches boolean", P(detail={"readOnly": [False]}), envelope({"readOnly": False}), True),
    ("boolean does not match its string", P(detail={"readOnly": [False]}), envelope({"readOnly": "false"}), False),
    ("boolean true is not the number 1", P(detail={"n": [True]}), envelope({"n": 1}), False),
    ("number 1 is not boolean true", P(detail={"n": [1]}), envelope({"n": True}), False),
    ("number does not match its string", P(detail={"n": [300]}), envelope({"n": "300"}), False),
    (f"{LS} number_comparison_float: 300 matches 300.0", P(number=[300]), envelope(number=300.0), True),
    ("numbers compare as doubles: 3.018e2 matches 301.8", P(detail={"x": [3.018e2]}), envelope({"x": 301.8}), True),
    ("an array of objects: any element's field", P(detail={"items": {"name": ["b"]}}), envelope({"items": [{"name": "a"}, {"name": "b"}]}), True),
    ("nested arrays are flattened", P(detail={"tags": ["x"]}), envelope({"tags": [["w"], ["x"]]}), True),
    ("an object is not a value", P(detail={"state": ["running"]}), envelope({"state": {"name": "running"}}), False),
    (f"{LS} nested_json_NEG: detail as a JSON string", P(detail={"my-key": ["my-value"]}), envelope('{"my-key": "my-value"}'), False),  # type: ignore[arg-type]
    # --- keys are joined with dots (eb-create-pattern "Considerations")
    (f"{LS} dot_joining_pattern", P(detail={"state.status": ["running"]}), envelope({"state": {"status": "running"}}), True),
    (f"{LS} dot_joining_pattern_NEG", P(detail={"state.status": {"status": ["running"]}}), envelope({"state": {"status": "running"}}), False),
    (f"{LS} dot_joining_event", P(detail={"state": {"status": ["running"]}}), envelope({"state.status": "running"}), True),
    (f"{LS} dot_joining_event_NEG", P(detail={"state": {"status": ["running"]}}), envelope({"state.status": {"status": "running"}}), False),
    ("doc: the last of a repeated field is used", json.loads('{"detail": {"state": ["stopped"], "state": ["running"]}}'), envelope(), True),
    # --- prefix (and with equals-ignore-case)
    ("doc prefix: time", P(time=[{"prefix": "2017-10-02"}]), envelope(), True),
    ("doc prefix: no match", P(time=[{"prefix": "2017-10-03"}]), envelope(), False),
    ("prefix only matches strings", P(detail={"n": [{"prefix": "3"}]}), envelope({"n": 300}), False),
    ("empty prefix matches any string", P(detail={"state": [{"prefix": ""}]}), envelope(), True),
    ("doc prefix ignore case: EventB", P(detail={"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}), envelope({"service": "eventbridge"}), True),
    ("doc prefix ignore case: EVENTB", P(detail={"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}), envelope({"service": "EVENTBRIDGE"}), True),
    ("prefix ignore case: no match", P(detail={"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}), envelope({"service": "Events"}), False),
    # --- suffix (and with equals-ignore-case)
    ("doc suffix: .png", P(FileName=[{"suffix": ".png"}]), envelope(FileName="image.png"), True),
    ("doc suffix: .PNG is another suffix", P(FileName=[{"suffix": ".png"}]), envelope(FileName="image.PNG"), False),
    ("doc suffix ignore case: .PNG", P(detail={"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}), envelope({"FileName": "image.PNG"}), True),
    ("suffix ignore case: no match", P(detail={"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}), envelope({"FileName": "image.jpg"}), False),
    # --- equals-ignore-case
    ("doc equals-ignore-case", P(**{"detail-type": [{"equals-ignore-case": "ec2 instance state-change notification"}]}), envelope(), True),
    ("doc equals-ignore-case: Alice", P(detail={"Name": [{"equals-ignore-case": "alice"}]}), envelope({"Name": "ALICE"}), True),
    ("equals-ignore-case is not a prefix", P(detail={"Name": [{"equals-ignore-case": "alice"}]}), envelope({"Name": "Alicia"}), False),
    # --- anything-but
    ("doc anything-but string", P(detail={"state": [{"anything-but": "initializing"}]}), envelope(), True),
    ("doc anything-but string: the excluded value", P(detail={"state": [{"anything-but": "initializing"}]}), envelope({"state": "initializing"}), False),
    ("doc anything-but number", P(detail={"x-limit": [{"anything-but": 123}]}), envelope({"x-limit": 456}), True),
    ("doc anything-but number: 123.0 is 123", P(detail={"x-limit": [{"anything-but": 123}]}), envelope({"x-limit": 123.0}), False),
    ("doc anything-but list of strings", P(detail={"state": [{"anything-but": ["stopped", "overloaded"]}]}), envelope({"state": "overloaded"}), False),
    ("doc anything-but list of strings: other value", P(detail={"state": [{"anything-but": ["stopped", "overloaded"]}]}), envelope(), True),
    ("doc anything-but list of numbers", P(detail={"x-limit": [{"anything-but": [100, 200, 300]}]}), envelope({"x-limit": 200}), False),
    ("doc anything-but list of numbers: other", P(detail={"x-limit": [{"anything-but": [100, 200, 300]}]}), envelope({"x-limit": 301.8}), True),
    (f"{LS} content_anything_but_string_missing_NEG: not a missing field", P(detail={"state": [{"anything-but": "initializing"}]}), envelope({}), False),
    (f"{LS} content_anything_but_string_null: null is not the string", P(detail={"state": [{"anything-but": "initializing"}]}), envelope({"state": None}), True),
    ("anything-but string: a number is not that string", P(detail={"state": [{"anything-but": "5"}]}), envelope({"state": 5}), True),
    ("anything-but: an array matches when one element differs", P(detail={"state": [{"anything-but": "a"}]}), envelope({"state": ["a", "b"]}), True),
    ("anything-but: an array of only excluded values", P(detail={"state": [{"anything-but": ["a", "b"]}]}), envelope({"state": ["a", "b"]}), False),
    ("doc anything-but prefix", P(detail={"state": [{"anything-but": {"prefix": "init"}}]}), envelope({"state": "initializing"}), False),
    ("doc anything-but prefix: other", P(detail={"state": [{"anything-but": {"prefix": "init"}}]}), envelope(), True),
    (f"{LS} content_anything_prefix_int_value", P(detail={"state": [{"anything-but": {"prefix": "init"}}]}), envelope({"state": 12}), True),
    ("anything-but prefix list", P(detail={"state": [{"anything-but": {"prefix": ["init", "run"]}}]}), envelope(), False),
    ("doc anything-but suffix", P(detail={"FileName": [{"anything-but": {"suffix": ".txt"}}]}), envelope({"FileName": "notes.txt"}), False),
    ("doc anything-but suffix: other", P(detail={"FileName": [{"anything-but": {"suffix": ".txt"}}]}), envelope({"FileName": "notes.md"}), True),
    ("doc anything-but equals-ignore-case", P(detail={"state": [{"anything-but": {"equals-ignore-case": "Stopped"}}]}), envelope({"state": "STOPPED"}), False),
    ("doc anything-but equals-ignore-case list", P(detail={"state": [{"anything-but": {"equals-ignore-case": ["Stopped", "OverLoaded"]}}]}), envelope({"state": "overloaded"}), False),
    ("doc anything-but equals-ignore-case list: other", P(detail={"state": [{"anything-but": {"equals-ignore-case": ["Stopped", "OverLoaded"]}}]}), envelope(), True),
    ("doc anything-but wildcard", P(detail={"FilePath": [{"anything-but": {"wildcard": "*/dir/*"}}]}), envelope({"FilePath": "/user/dir/file.txt"}), False),
    ("doc anything-but wildcard: other", P(detail={"FilePath": [{"anything-but": {"wildcard": "*/dir/*"}}]}), envelope({"FilePath": "/user/lib/file.txt"}), True),
    ("doc anything-but wildcard list", P(detail={"FilePath": [{"anything-but": {"wildcard": ["*/dir/*", "*/lib/*"]}}]}), envelope({"FilePath": "/user/lib/file.txt"}), False),
    (f"{LS} content_anything_wildcard_int", P(detail={"FilePath": [{"anything-but": {"wildcard": "*/dir/*"}}]}), envelope({"FilePath": 123}), True),
    # --- numeric
    ("doc numeric: c-count, d-count, x-limit", P(detail={"c-count": [{"numeric": [">", 0, "<=", 5]}], "d-count": [{"numeric": ["<", 10]}], "x-limit": [{"numeric": ["=", 3.018e2]}]}),
     envelope({"c-count": 5, "d-count": 7, "x-limit": 301.8}), True),
    ("doc numeric: c-count 0 is not > 0", P(detail={"c-count": [{"numeric": [">", 0, "<=", 5]}]}), envelope({"c-count": 0}), False),
    ("numeric: upper bound excluded", P(detail={"n": [{"numeric": [">=", 1, "<", 5]}]}), envelope({"n": 5}), False),
    ("numeric: lower bound included", P(detail={"n": [{"numeric": [">=", 1, "<", 5]}]}), envelope({"n": 1}), True),
    ("numeric: negative and float", P(detail={"n": [{"numeric": [">", -1.5, "<=", -0.5]}]}), envelope({"n": -1}), True),
    ("numeric: =", P(detail={"n": [{"numeric": ["=", 100]}]}), envelope({"n": 100.0}), True),
    ("numeric: <=", P(detail={"n": [{"numeric": ["<=", 100]}]}), envelope({"n": 100.5}), False),
    ("numeric: >=", P(detail={"n": [{"numeric": [">=", 100]}]}), envelope({"n": 1e3}), True),
    (f"{LS} numeric-int-float", P(number=[{"numeric": [">", 100]}]), envelope(number=101.0), True),
    (f"{LS} numeric-string_NEG", P(number=[{"numeric": [">", 100]}]), envelope(number="300"), False),
    (f"{LS} numeric-null_NEG", P(number=[{"numeric": [">", 100]}]), envelope(number=None), False),
    ("numeric: a boolean is not a number", P(detail={"n": [{"numeric": ["=", 1]}]}), envelope({"n": True}), False),
    ("numeric: any element of an array", P(detail={"n": [{"numeric": [">", 10]}]}), envelope({"n": [1, 20]}), True),
    # --- cidr
    ("doc cidr IPv4", P(detail={"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}), envelope({"sourceIPAddress": "10.0.0.255"}), True),
    ("doc cidr IPv4: outside", P(detail={"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}), envelope({"sourceIPAddress": "10.0.1.0"}), False),
    ("doc cidr IPv6", P(detail={"sourceIPAddress": [{"cidr": "2001:db8:1234:1a00::/64"}]}), envelope({"sourceIPAddress": "2001:db8:1234:1a00::1"}), True),
    ("doc cidr IPv6: outside", P(detail={"sourceIPAddress": [{"cidr": "2001:db8:1234:1a00::/64"}]}), envelope({"sourceIPAddress": "2001:db8:1234:1a01::1"}), False),
    (f"{LS} content_ip_address_bad_type_NEG", P(detail={"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}), envelope({"sourceIPAddress": 123}), False),
    ("cidr: the range starts at the address written (event-ruler CIDR)", P(detail={"ip": [{"cidr": "10.0.0.5/24"}]}), envelope({"ip": "10.0.0.4"}), False),
    ("cidr: ... and ends at the top of the block", P(detail={"ip": [{"cidr": "10.0.0.5/24"}]}), envelope({"ip": "10.0.0.255"}), True),
    ("cidr: IPv4 octets are decimal", P(detail={"ip": [{"cidr": "10.0.0.0/24"}]}), envelope({"ip": "010.000.000.010"}), True),
    ("cidr: an IPv4-mapped IPv6 address is its IPv4 address", P(detail={"ip": [{"cidr": "10.0.0.0/24"}]}), envelope({"ip": "::ffff:a00:1"}), True),
    ("exact IPv6 address written otherwise", P(detail={"ip": ["2001:db8::1"]}), envelope({"ip": "2001:0db8:0:0:0:0:0:0001"}), True),
    ("exact IPv4 address: another address", P(detail={"ip": ["10.0.0.1"]}), envelope({"ip": "10.0.0.2"}), False),
    ("cidr: a host name is no address", P(detail={"sourceIPAddress": [{"cidr": "10.0.0.0/8"}]}), envelope({"sourceIPAddress": "cloudtrail.amazonaws.com"}), False),
    ("cidr: an IPv4 address is not in an IPv6 network", P(detail={"sourceIPAddress": [{"cidr": "::/0"}]}), envelope({"sourceIPAddress": "10.0.0.1"}), False),
    # --- exists
    ("doc exists true", P(detail={"state": [{"exists": True}]}), envelope(), True),
    ("doc exists true: missing", P(detail={"state": [{"exists": True}]}), envelope({}), False),
    ("doc exists false", P(detail={"state": [{"exists": False}]}), envelope({}), True),
    ("doc exists false: present", P(detail={"state": [{"exists": False}]}), envelope(), False),
    ("exists true: a null value exists", P(detail={"state": [{"exists": True}]}), envelope({"state": None}), True),
    (f"{LS} exists_dynamodb_NEG: exists works on leaves only", P(dynamodb={"presentKey": [{"exists": True}]}), envelope(dynamodb={"id": {"S": "test1234"}, "presentKey": {"S": "test123"}}), False),
    ("exists false on an intermediate node", P(detail={"state": [{"exists": False}]}), envelope({"state": {"name": "running"}}), True),
    (f"{LS} list_within_dict: exists in one element", P(detail={"automations": {"id": [{"exists": True}]}}),
     envelope({"automations": [{"key1": "value1"}, {"id": "match-does-exist"}, {"key2": "value2"}]}), True),
    (f"{LS} or-exists: anything-but or exists false", P(dynamodb={"NewImage": {"homemade": {"S": [{"anything-but": ["roses"]}, {"exists": False}]}}}),
     envelope(dynamodb={"NewImage": {"homemade": {"N": "789"}}}), True),
    (f"{LS} or-exists-parent", P(dynamodb={"NewImage": {"homemade": {"S": [{"anything-but": ["roses"]}, {"exists": False}]}}}),
     envelope(dynamodb={"NewImage": {"purchased": {"N": "789"}}}), True),
    ("exists false or a value: the value", P(detail={"state": ["running", {"exists": False}]}), envelope(), True),
    ("exists false or a value: another value", P(detail={"state": ["stopped", {"exists": False}]}), envelope(), False),
    # --- wildcard
    ("doc wildcard: event bus ARN", P(EventBusArn=[{"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"}]), envelope(EventBusArn="arn:aws:events:us-east-1:123456789012:event-bus/myEventBus"), True),
    ("doc wildcard: other Region", P(EventBusArn=[{"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"}]), envelope(EventBusArn="arn:aws:events:us-west-2:123456789012:event-bus/myEventBus"), False),
    ("doc wildcard: *.png", P(detail={"FileName": [{"wildcard": "*.png"}]}), envelope({"FileName": "dir/image.png"}), True),
    ("doc wildcard: dir/*.png", P(detail={"FileName": [{"wildcard": "dir/*.png"}]}), envelope({"FileName": "dir/a/b.png"}), True),
    ("doc wildcard: dir/*.png, other directory", P(detail={"FileName": [{"wildcard": "dir/*.png"}]}), envelope({"FileName": "lib/a.png"}), False),
    ("wildcard: * matches the empty string", P(detail={"FileName": [{"wildcard": "a*b"}]}), envelope({"FileName": "ab"}), True),
    ("wildcard: without * it is exact", P(detail={"FileName": [{"wildcard": "ab"}]}), envelope({"FileName": "abc"}), False),
    ("wildcard: repeating text after *", P(detail={"FileName": [{"wildcard": "*ab*ab"}]}), envelope({"FileName": "xabyyabab"}), True),
    ("doc wildcard: \\* is a literal star", P(detail={"s": [{"wildcard": "a\\*b"}]}), envelope({"s": "a*b"}), True),
    ("doc wildcard: \\* does not match other text", P(detail={"s": [{"wildcard": "a\\*b"}]}), envelope({"s": "axb"}), False),
    ("doc wildcard: \\\\ is a literal backslash", P(detail={"s": [{"wildcard": "a\\\\*"}]}), envelope({"s": "a\\bc"}), True),
    ("wildcard: strings only", P(detail={"n": [{"wildcard": "1*"}]}), envelope({"n": 12}), False),
    ("wildcard: regex characters are literal", P(detail={"s": [{"wildcard": "a.c*"}]}), envelope({"s": "abc"}), False),
    # --- $or
    ("doc $or: numeric branches", P(detail={"$or": [{"c-count": [{"numeric": [">", 0, "<=", 5]}]}, {"d-count": [{"numeric": ["<", 10]}]}, {"x-limit": [{"numeric": ["=", 3.018e2]}]}]}),
     envelope({"c-count": 50, "d-count": 50, "x-limit": 301.8}), True),
    ("doc $or: no branch", P(detail={"$or": [{"c-count": [{"numeric": [">", 0, "<=", 5]}]}, {"d-count": [{"numeric": ["<", 10]}]}]}), envelope({"c-count": 50, "d-count": 50}), False),
    ("doc $or: top level with source", P(source=["aws.cloudwatch"], **{"$or": [{"metricName": ["CPUUtilization", "ReadLatency"]}, {"namespace": ["AWS/EC2", "AWS/ES"]}]}),
     envelope(source="aws.cloudwatch", namespace="AWS/ES"), True),
    ("doc $or: source must still hold", P(source=["aws.cloudwatch"], **{"$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}]}),
     envelope(source="aws.ec2", namespace="AWS/EC2"), False),
    ("$or nested in $or", P(**{"$or": [{"a": ["1"]}, {"$or": [{"b": ["2"]}, {"c": ["3"]}]}]}), envelope(c="3"), True),
    ("$or: a field in a branch replaces the one written before", P(detail={"state": ["stopped"], "$or": [{"state": ["running"]}, {"x": ["1"]}]}), envelope(), True),
    ("$or: a field written after the $or replaces the branch's", P(detail={"$or": [{"state": ["stopped"]}, {"x": ["1"]}], "state": ["running"]}), envelope(), True),
    ("$or with anything-but and exists", P(detail={"$or": [{"state": [{"anything-but": "running"}]}, {"x": [{"exists": True}]}]}), envelope(), False),
    ("legacy: $or as a plain field name", P(**{"$or": ["a", "b"]}), envelope(**{"$or": "b"}), True),
    ("legacy: $or as a field with operators", P(**{"$or": [{"prefix": "x"}, {"suffix": "z"}]}), envelope(**{"$or": "xy"}), True),
    # --- the complex example (eb-event-patterns-content-based-filtering "Complex example")
    ("doc complex example", P(time=[{"prefix": "2017-10-02"}], detail={"state": [{"anything-but": "initializing"}], "c-count": [{"numeric": [">", 0, "<=", 5]}],
                                                                      "d-count": [{"numeric": ["<", 10]}], "x-limit": [{"anything-but": [100, 200, 300]}]}),
     envelope({"state": "running", "c-count": 1, "d-count": 3, "x-limit": 301.8}), True),
]


@pytest.mark.parametrize("pattern,event,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_documented_examples(pattern: dict[str, Any], event: dict[str, Any], expected: bool) -> None:
    compiled = parse_pattern(json.dumps(pattern))
    assert compiled.matches(event) is expected
    assert (compiled.explain(event) is None) is expected
    assert PatternSet({"rule": compiled}).matching(event) == (["rule"] if expected else [])


TOO_COMPLEX = "Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character"
AWS = "AWS-recorded (LocalStack snapshot)"
ER = "aws/event-ruler JsonRuleCompiler"
OT = "opentrail's own text"

INVALID: list[tuple[str, str, str]] = [
    (AWS, "[\"not\", \"a\", \"dict\", \"but valid json\"]", "Filter is not an object"),
    (AWS, '{"int": 42}', '"int" must be an object or an array'),
    (AWS, '{"string": "my-value"}', '"string" must be an object or an array'),
    (AWS, '{"resources": []}', "Empty arrays are not allowed"),
    (AWS, '{"detail": {"equal": [{"NUMERIC": ["=", 5]}]}}', "Unrecognized match type NUMERIC"),
    (AWS, '{"my_key": [{"EXISTS": true}]}', "Unrecognized match type EXISTS"),
    (AWS, '{"detail": {"c-count": [{"numeric": [">", 0, ">", 0]}]}}', "Bad numeric range operator: >"),
    (AWS, '{"detail": {"c-count": [{"numeric": [">", 0, "<"]}]}}', "Value of < must be numeric"),
    (AWS, '{"EventBusArn": [{"wildcard": "*:*:*:*:*:event-bus/*"}]}', TOO_COMPLEX),
    (AWS, '{"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:**:event-bus/*"}]}', "Consecutive wildcard characters at pos 26"),
    (AWS, '{"detail-type": [{"equals-ignore-case": ["ec2 instance state-change notification"]}]}', "equals-ignore-case match pattern must be a string"),
    (AWS, '{"detail-type": [{"equals-ignore-case": {"prefix": "ec2"}}]}', "equals-ignore-case match pattern must be a string"),
    (AWS, '{"detail": {"sourceIPAddress": [{"cidr": "bad-type"}]}}', "Malformed CIDR, one '/' required"),
    (AWS, '{"detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/xx"}]}}', "Malformed CIDR, mask bits must be an integer"),
    (AWS, '{"detail": {"sourceIPAddress": [{"cidr": "xx.11.xx/12"}]}}', "Nonstandard IP address: xx.11.xx"),
    (AWS, '{"detail": {"sourceIPAddress": [{"cidr": "xxxx:db8:1234:1a00::/64"}]}}', "Nonstandard IP address: xxxx:db8:1234:1a00::"),
    (AWS, '{"detail": {"sourceIPAddress": [{"cidr": ["bad-type"]}]}}', "prefix match pattern must be a string"),
    (AWS, '{"detail": {"state": [{"anything-but": {"equals-ignore-case": 123}}]}}',
     "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported."),
    (AWS, '{"detail": {"state": [{"anything-but": {"equals-ignore-case": [123, 456]}}]}}',
     "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported."),
    (AWS, '{"EventBusArn": [{"wildcard": 123}]}', "wildcard match pattern must be a string"),
    (AWS, '{"EventBusArn": [{"wildcard": ["arn:aws:events:us-east-1:*:event-bus/*"]}]}', "wildcard match pattern must be a string"),
    (AWS, '{"detail": {"state": [{"anything-but": {"wildcard": [123, "*/dir/*"]}}]}}', "wildcard match pattern must be a string"),
    (AWS, '{"detail": {"FilePath": [{"anything-but": {"wildcard": 123}}]}}', "wildcard match pattern must be a string"),
    (AWS, '{"detail": {"FileName": [{"anything-but": {"suffix": [123, ".txt"]}}]}}', "prefix/suffix match pattern must be a string"),
    (AWS, '{"detail": {"FileName": [{"anything-but": {"suffix": 123}}]}}', "prefix/suffix match pattern must be a string"),
    (AWS, '{"detail": {"state": [{"anything-but": {"prefix": [123, "test"]}}]}}', "prefix/suffix match pattern must be a string"),
    (AWS, '{"detail": {"state": [{"anything-but": {"prefix": 123}}]}}', "prefix/suffix match pattern must be a string"),
    (AWS, '{"time": [{"prefix": ["2022-07-13"]}]}', "prefix match pattern must be a string"),
    (AWS, '{"time": [{"prefix": 123}]}', "prefix match pattern must be a string"),
    (AWS, '{"FileName": [{"suffix": 123}]}', "suffix match pattern must be a string"),
    (AWS, '{"FileName": [{"suffix": [".png"]}]}', "suffix match pattern must be a string"),
    (AWS, '{"detail": {"FileName": [{"anything-but": {"prefix": {"equals-ignore-case": "file"}}}]}}',
     "Value of anything-but must be an array or single string/number value."),
    (AWS, '{"detail": {"FileName": [{"anything-but": {"suffix": {"equals-ignore-case": ".png"}}}]}}',
     "Value of anything-but must be an array or single string/number value."),
    (ER, '{"a": {}}', "Empty objects are not allowed"),
    (ER, "{}", "Empty objects are not allowed"),
    (ER, '{"a": [[1]]}', "Match value must be String, number, true, false, or null"),
    (ER, '{"a": [{}]}', "Match expression name not found"),
    (ER, '{"a": [{"prefix": "x", "suffix": "y"}]}', "Only one key allowed in match expression"),
    (ER, '{"a": [{"exists": "true"}]}', "exists match pattern must be either true or false."),
    (ER, '{"a": [{"numeric": 5}]}', "Value of numeric must be an array."),
    (ER, '{"a": [{"numeric": []}]}', "Invalid member in numeric match: ]"),
    (ER, '{"a": [{"numeric": [5]}]}', "Invalid member in numeric match: 5"),
    (ER, '{"a": [{"numeric": ["!=", 5]}]}', "Unrecognized numeric range operator: !="),
    (ER, '{"a": [{"numeric": ["=", "5"]}]}', "Value of equals must be numeric"),
    (ER, '{"a": [{"numeric": [">", true]}]}', "Value of > must be numeric"),
    (ER, '{"a": [{"numeric": ["<", 5, ">", 1]}]}', "Too many elements in numeric expression"),
    (ER, '{"a": [{"numeric": [">", 5, 6]}]}', "Bad value in numeric range: 6"),
    (ER, '{"a": [{"numeric": [">", 0, "<", 5, 6]}]}', "Too many terms in numeric range expression"),
    (ER, '{"a": [{"numeric": [">", 5, "<", 1]}]}', "Bottom must be less than top"),
    (ER, '{"a": [{"numeric": [">", 1, "<", 5], "x": 1}]}', "Too many elements in numeric expression"),
    (ER, '{"a": [{"anything-but": true}]}', "Value of anything-but must be an array or single string/number value."),
    (ER, '{"a": [{"anything-but": ["x", null]}]}', "Inside anything but list, start|null|boolean is not supported."),
    (ER, '{"a": [{"anything-but": ["x", 1]}]}', "Inside anything but list, either all values are number or string, mixed type is not supported"),
    (ER, '{"a": [{"anything-but": {}}]}', "Anything-But expression name not found"),
    (ER, '{"a": [{"anything-but": {"numeric": [">", 1]}}]}', "Unsupported anything-but pattern: numeric"),
    (ER, '{"a": [{"anything-but": {"prefix": ""}}]}', "Null prefix/suffix not allowed"),
    (ER, '{"$or": [{"a": ["1"]}]}', "There must have at least 2 Objects in $or relationship."),
    (ER, '{"$or": [{"a": ["1"]}, {"prefix": ["2"]}]}', "prefix is Ruler reserved fieldName which cannot be used inside $or."),
    (ER, '{"a": [{"wildcard": "abc**def"}]}', "Consecutive wildcard characters at pos 4"),
    (ER, '{"a": [{"wildcard": "a\\\\bc"}]}', "Invalid escape character at pos 2"),
    (ER, '{"a": [{"wildcard": "a\\\\"}]}', "Invalid escape character at pos 2"),
    (ER, '{"a": [{"wildcard": "\u00e9**"}]}', "Consecutive wildcard characters at pos 3"),  # é is 2 UTF-8 bytes
    (ER, '{"a": [{"cidr": "10.0.0.0/8/9"}]}', "Malformed CIDR, one '/' required"),
    (ER, '{"a": [{"cidr": "10.0.0.0/"}]}', "Malformed CIDR, one '/' required"),
    (ER, '{"a": [{"cidr": "10.0.0.0/-1"}]}', "Malformed CIDR, mask bits must not be negative"),
    (ER, '{"a": [{"cidr": "10.0.0.0/32"}]}', "IPv4 mask bits must be < 32"),
    (ER, '{"a": [{"cidr": "2001:db8::/128"}]}', "IPv6 mask bits must be < 128"),
    (ER, '{"a": [{"cidr": "300.1.1.1/8"}]}', "Invalid IP address: 300.1.1.1"),
    (ER, '{"a": [{"prefix": {"suffix": "x"}}]}', "Unsupported prefix pattern: suffix"),
    (ER, '{"a": [{"suffix": {}}]}', "Suffix expression name not found"),
    # Reported by EventBridge users: four such wildcards on one field are refused, two are accepted.
    ("EventBridge answer reported by users", '{"key": [{"wildcard": "*/datasync/*.bif"}, {"wildcard": "*/datasync/*.tif"}, '
     '{"wildcard": "*/datasync/*.svs"}, {"wildcard": "*/datasync/*.tiff"}]}', TOO_COMPLEX),
    (OT, '{"a": ["x"]', "Filter is not valid JSON: Expecting ',' delimiter at line 1, column 12"),
    (OT, '{"a": [NaN]}', "Filter is not valid JSON: Non-standard token 'NaN'"),
    (OT, "{" + ", ".join(f'"k{j}": {{"$or": [{{"a": ["1"]}}, {{"b": ["1"]}}, {{"c": ["1"]}}, {{"d": ["1"]}}]}}' for j in range(5)) + "}",
     "Rule is too complex - its $or operators expand to more than 1000 combinations"),
]


@pytest.mark.parametrize("source,text,reason", INVALID, ids=[f"{i}: {c[2][:50]}" for i, c in enumerate(INVALID)])
def test_invalid_patterns(source: str, text: str, reason: str) -> None:
    with pytest.raises(InvalidEventPattern) as info:
        parse_pattern(text)
    assert info.value.reason == reason
    assert info.value.message == f"Event pattern is not valid. Reason: {reason}"
    assert str(info.value) == info.value.message


@pytest.mark.parametrize("text", [
    '{"a": [{"wildcard": "*a*b*c*d*e"}]}',
    '{"a": [{"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"}]}',
    '{"a": [{"wildcard": "a\\\\*b\\\\\\\\*"}]}',
    '{"key": [{"wildcard": "*/datasync/*.bif"}, {"wildcard": "*/datasync/*.tif"}]}',  # reported accepted
    '{"key": [{"wildcard": "*.bif"}, {"wildcard": "*.tiff"}, {"wildcard": "*.tif"}, {"wildcard": "*.svs"}]}',  # reported accepted
    '{"a": [{"cidr": "10.0.0.0/31"}, {"cidr": "2001:db8::/127"}, {"cidr": "10.0.0.0/+8"}]}',
    '{"$or": {"a": ["1"]}}',  # legacy: a plain field named "$or"
    "{" + ", ".join(f'"k{j}": {{"$or": [{{"a": ["1"]}}, {{"b": ["1"]}}, {{"c": ["1"]}}, {{"d": ["1"]}}]}}' for j in range(4)) + "}",
    "{" + ", ".join(f'"k{j}": {{"$or": [' + ", ".join(f'{{"a{i}": ["1"]}}' for i in range(10)) + "]}" for j in range(3)) + "}",
])
def test_within_limits(text: str) -> None:
    assert parse_pattern(text).text == text


def test_explain_texts() -> None:
    pattern = parse_pattern('{"source": ["aws.cloudtrail"], "detail": {"eventName": ["DeleteTrail"], "errorCode": [{"exists": false}]}}')
    event = envelope({"eventName": "StopLogging"}, source="aws.cloudtrail")
    assert pattern.explain(event) == 'detail.eventName: "StopLogging" is not one of ["DeleteTrail"]'
    assert pattern.explain(envelope({"eventName": "DeleteTrail"}, source="aws.s3")) == 'source: "aws.s3" is not one of ["aws.cloudtrail"]'
    assert pattern.explain(envelope({}, source="aws.cloudtrail")) == 'detail.eventName: missing; the pattern wants ["DeleteTrail"]'
    assert pattern.explain(envelope({"eventName": "DeleteTrail", "errorCode": "AccessDenied"}, source="aws.cloudtrail")) == \
        'detail.errorCode: "AccessDenied" exists; the pattern wants it absent'
    assert pattern.explain(envelope({"eventName": "DeleteTrail"}, source="aws.cloudtrail")) is None
    ranged = parse_pattern('{"detail": {"n": [{"numeric": [">", 0, "<=", 5]}, 10]}}')
    assert ranged.explain(envelope({"n": [7, 8]})) == 'detail.n: [7,8] does not match [{"numeric":[">",0,"<=",5]},10]'
    either = parse_pattern('{"$or": [{"a": ["1"]}, {"b": [{"prefix": "x"}]}]}')
    assert either.explain(envelope(a="2", b="y")) == \
        'no $or branch matches: a: "2" is not one of ["1"]; b: "y" does not match [{"prefix":"x"}]'


def test_pattern_set_keeps_key_order_and_finds_every_match() -> None:
    patterns = {
        "by-name": parse_pattern('{"detail": {"eventName": ["DeleteTrail", "StopLogging"]}}'),
        "by-source": parse_pattern('{"source": ["aws.cloudtrail"]}'),
        "not-exists": parse_pattern('{"detail": {"errorCode": [{"exists": false}]}}'),
        "numeric": parse_pattern('{"detail": {"n": [{"numeric": [">", 1]}]}}'),
        "wildcard": parse_pattern('{"detail": {"arn": [{"wildcard": "*:role/*"}]}}'),
        "cidr": parse_pattern('{"detail": {"ip": [{"cidr": "10.1.0.0/16"}, {"cidr": "2001:db8::/32"}]}}'),
        "empty-prefix": parse_pattern('{"detail": {"ip": [{"prefix": ""}]}}'),
    }
    rules = PatternSet(patterns)
    assert len(rules) == 7 and rules.anchored == 6
    event = envelope({"eventName": "StopLogging", "n": 2, "arn": "arn:aws:iam::1:role/x", "ip": "10.1.2.3"}, source="aws.cloudtrail")
    assert rules.matching(event) == ["by-name", "by-source", "not-exists", "numeric", "wildcard", "cidr", "empty-prefix"]
    assert rules.matching(envelope({"ip": "2001:db8::1", "errorCode": "x"})) == ["cidr", "empty-prefix"]
    assert rules.matching(envelope({"ip": 5, "errorCode": "x"})) == []
    assert PatternSet({}).matching(event) == []


@pytest.mark.parametrize("text", [
    json.dumps(envelope()),
    json.dumps({**envelope(), "detail": {}}),
    json.dumps({k: v for k, v in envelope().items() if k != "detail"}),
])
def test_test_event_accepted(text: str) -> None:
    assert parse_test_event(text) == json.loads(text)


@pytest.mark.parametrize("text", [
    "not json",
    '"a string"',
    "[]",
    json.dumps({k: v for k, v in envelope().items() if k != "id"}),
    json.dumps({k: v for k, v in envelope().items() if k != "detail-type"}),
    json.dumps({**envelope(), "resources": "arn:aws:s3:::b"}),
    json.dumps({**envelope(), "resources": [1]}),
    json.dumps({**envelope(), "account": 123456789012}),
    json.dumps({**envelope(), "detail": "a string"}),
])
def test_test_event_rejected(text: str) -> None:
    with pytest.raises(InvalidTestEvent) as info:
        parse_test_event(text)
    assert info.value.message == "Parameter Event is not valid."


def test_deeply_nested_event_arrays() -> None:
    # Arrays nested deeper than Python recurses (PutEvents' detail is the caller's JSON).
    value: Any = ["x", {"k": "y"}]
    for _ in range(3000):
        value = [value]
    event = envelope({"a": value})
    assert parse_pattern('{"detail": {"a": ["x"]}}').matches(event) is True
    assert parse_pattern('{"detail": {"a": {"k": ["y"]}}}').matches(event) is True
    assert PatternSet({"r": parse_pattern('{"detail": {"a": [{"prefix": "x"}]}}')}).matching(event) == ["r"]


# --- the field walk: the fast path of leaves() answers what the general search answers -------------

_KEYS = st.sampled_from(["a", "b", "a.b", "b.c", "a.b.c", "", "c"])
_EVENTS = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from(["x", "y"])),
                       lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=4),
                       max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(event=st.dictionaries(_KEYS, _EVENTS, max_size=4), name=st.sampled_from(
    ["a", "a.b", "a.b.c", "b.c", "a.b.c.a", "c", "", "a..b", "a.b."]))
def test_leaves_walk_agrees_with_the_general_search(event: dict[str, Any], name: str) -> None:
    from opentrail.eventbridge.pattern_eval import _collect, leaves

    general: list[Any] = []
    _collect(event, name, general)
    assert leaves(event, name) == general


@pytest.mark.parametrize(("event", "name", "expected"), [
    ({"a": {"b": None}}, "a.b.", []),  # the last part is the empty key, which b's value lacks
    ({"a": {"b": {"": 1}}}, "a.b.", [1]),
    ({"a": {"b": {"": [1, 2]}}}, "a.b.", [1, 2]),
    ({"a": {"": {"b": 3}}}, "a..b", [3]),
    ({"a": {"b": None}}, "a.b", [None]),
    ({"a.b": {"": 4}, "a": {"b": {"": 5}}}, "a.b.", [4, 5]),
])
def test_leaves_of_names_with_empty_parts(event: dict[str, Any], name: str, expected: list[Any]) -> None:
    from opentrail.eventbridge.pattern_eval import leaves

    assert sorted(leaves(event, name), key=repr) == sorted(expected, key=repr)
