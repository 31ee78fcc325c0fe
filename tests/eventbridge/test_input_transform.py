"""Input, InputPath and InputTransformer, table-driven from the examples of "Transforming Amazon
EventBridge target input" (EventBridge User Guide) and AWS-recorded behaviours (a missing path
gives nothing; an InputPath to a string gives the JSON string)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from opentrail.eventbridge.input_transform import select, target_input

#: The EC2 example event of the AWS page.
EVENT: dict[str, Any] = {
    "version": "0",
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "123456789012",
    "time": "2015-11-11T21:29:54Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
    "detail": {"instance-id": "i-0123456789", "state": "RUNNING"},
}
EVENT_JSON = orjson.dumps(EVENT).decode()
PATHS = {"timestamp": "$.time", "instance": "$.detail.instance-id", "state": "$.detail.state"}
RULE_ARN = "arn:aws:events:us-east-2:123456789012:rule/example"


def transform(template: str, paths: dict[str, str] = PATHS) -> str:
    return target_input(EVENT, EVENT_JSON, input_transformer={"InputPathsMap": paths, "InputTemplate": template},
                        rule_arn=RULE_ARN, rule_name="example", ingestion_time_s=1447277394.0)


@pytest.mark.parametrize("template, output", [
    # Simple string
    ('"instance <instance> is in <state>"', '"instance i-0123456789 is in RUNNING"'),
    # String with escaped quotes (the console's form)
    ('"instance \\"<instance>\\" is in <state>"', '"instance \\"i-0123456789\\" is in RUNNING"'),
    # Simple JSON (sent minified)
    ('{\n  "instance" : <instance>,\n  "state": <state>\n}', '{"instance":"i-0123456789","state":"RUNNING"}'),
    # JSON with strings and variables
    ('{\n "instance" : <instance>,\n "state": "<state>",\n "instanceStatus": "instance \\"<instance>\\" is in <state>"\n}',
     '{"instance":"i-0123456789","state":"RUNNING","instanceStatus":"instance \\"i-0123456789\\" is in RUNNING"}'),
    # JSON with a mix of variables and static information
    ('{\n  "instance" : <instance>,\n  "state": [ 9, <state>, true ],\n  "Transformed" : "Yes"\n}',
     '{"instance":"i-0123456789","state":[9,"RUNNING",true],"Transformed":"Yes"}'),
    # Including reserved variables in a string
    ('"<aws.events.rule-name> triggered"', '"example triggered"'),
    # The CloudWatch log group example's template (AWS shows what the log group then holds)
    ('{\n  "timestamp" : <timestamp>,\n  "message": "instance \\"<instance>\\" is in <state>"\n}',
     '{"timestamp":"2015-11-11T21:29:54Z","message":"instance \\"i-0123456789\\" is in RUNNING"}'),
    # Plain text, no quotes
    ("<instance> is in state <state>", "i-0123456789 is in state RUNNING"),
    # A placeholder the transformer does not define stays
    ('"<instance> <br>"', '"i-0123456789 <br>"'),
])
def test_aws_examples(template: str, output: str) -> None:
    assert transform(template) == output


def test_reserved_variables_in_json() -> None:
    out = orjson.loads(transform('{"instance": <instance>, "ruleArn": <aws.events.rule-arn>, '
                                 '"ruleName": <aws.events.rule-name>, "originalEvent": <aws.events.event>, '
                                 '"json": <aws.events.event.json>, "at": <aws.events.event.ingestion-time>}'))
    assert out == {"instance": "i-0123456789", "ruleArn": RULE_ARN, "ruleName": "example", "originalEvent": EVENT,
                   "json": EVENT, "at": "2015-11-11T21:29:54Z"}


def test_missing_path_gives_nothing_in_a_string_and_null_in_json() -> None:
    paths = {**PATHS, "command": "$.detail.notinmessage"}
    assert transform('"Event of <state> type, info <command>"', paths) == '"Event of RUNNING type, info "'
    assert transform('{"command": <command>, "text": "c=<command>"}', paths) == '{"command":null,"text":"c="}'


def test_non_string_values_inside_strings_are_their_json() -> None:
    event = {"detail": {"n": 3, "obj": {"a": [1, 2]}, "flag": True}}
    out = target_input(event, orjson.dumps(event).decode(), input_transformer={
        "InputPathsMap": {"n": "$.detail.n", "obj": "$.detail.obj", "flag": "$.detail.flag"},
        "InputTemplate": '{"n": <n>, "s": "n=<n> f=<flag>", "o": <obj>}'})
    assert out == '{"n":3,"s":"n=3 f=true","o":{"a":[1,2]}}'


def test_values_are_not_escaped_so_a_quote_makes_invalid_json_sent_as_it_is() -> None:
    event = {"detail": {"text": 'say "hi"'}}
    out = target_input(event, orjson.dumps(event).decode(), input_transformer={
        "InputPathsMap": {"text": "$.detail.text"}, "InputTemplate": '{"m": "<text>", "n": 1}'})
    assert out == '{"m": "say "hi"", "n": 1}'


@pytest.mark.parametrize("path, body", [
    ("$", EVENT_JSON),
    ("$.detail", '{"instance-id":"i-0123456789","state":"RUNNING"}'),
    ("$.detail.state", '"RUNNING"'),
    ("$.resources[0]", '"arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"'),
    ("$['detail']['state']", '"RUNNING"'),
    ("$.detail.nothere", "null"),
    ("$.resources[3]", "null"),
])
def test_input_path(path: str, body: str) -> None:
    assert target_input(EVENT, EVENT_JSON, input_path=path) == body


def test_input_and_no_setting() -> None:
    assert target_input(EVENT, EVENT_JSON, input='{"fixed": 1}') == '{"fixed": 1}'
    assert target_input(EVENT, EVENT_JSON) == EVENT_JSON


def test_select_rejects_paths_outside_the_subset() -> None:
    with pytest.raises(ValueError):
        select(EVENT, "detail.state")
    with pytest.raises(ValueError):
        select(EVENT, "$..state")
