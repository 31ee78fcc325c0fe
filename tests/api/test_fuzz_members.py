"""Every member of every operation's input shape, recursively, given wrong types, huge values and deep
nesting, against a real server (uvicorn on a socket, trails and digest keys on disk).

For each of the model's 60 operations (unimplemented ones too) the requests start from a minimal
request (required members with plausible values, the trail ``main`` and the bucket ``fuzz-bucket``
exist) and replace one member -- a list item or map value for the members inside lists and maps --
with one bad value. Every answer must be below 500 and a JSON object; errors carry a ``__type``
string. Requests are SigV4-signed with botocore over the exact bytes (raw HTTP, so any JSON goes).

The default run sends two wrong-typed values at every member path, the huge string at every
top-level string member, the huge list at every top-level list member and the deep values at one path of each operation,
about 900 requests; the ``slow`` variant sends every value at every path of the implemented operations
(its huge lists hold 10,000 items, the default run's 100,000).

EventBridge (``events``, a server with the rules service, the rule and connection ``fuzz`` existing)
gets the same default treatment over every member path of its implemented operations (about 650
requests); the other operations of its model get the empty request.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import orjson
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.loaders import Loader
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opentrail.api.app import build_app
from opentrail.api.operations import MODEL_OPERATIONS, TARGET_PREFIX, implemented_operations
from opentrail.auth.accounts import AccessKey, AccountStore
from opentrail.digests.keys import KeyStore
from opentrail.lake import Lake
from opentrail.lake.service import EventDataStoreService
from opentrail.objectstore import LocalFolderStorage
from opentrail.settings import Settings
from opentrail.store.memory import MemoryEventStore
from opentrail.trails import TrailService
from opentrail.trails.service import TrailSettings
from tests.serving import serving

ACCOUNT = "111122223333"
REGION = "us-east-1"
BUCKET = "fuzz-bucket"
TRAIL_ARN = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/main"
MODEL = Loader().load_service_model("cloudtrail", "service-2")
SHAPES: dict[str, Any] = MODEL["shapes"]

#: Plausible values for string members by name, so that requests reach the handlers' later steps.
KNOWN = {"Name": "main", "TrailName": "main", "S3BucketName": BUCKET, "ResourceId": TRAIL_ARN,
         "ResourceArn": TRAIL_ARN, "AttributeKey": "EventName", "AttributeValue": "RunInstances",
         "Field": "eventCategory", "InsightType": "ApiCallRateInsight"}
#: Values of the wrong type for (nearly) every shape.
WRONG: list[Any] = ["s", 7, 2.5, True, None, [], {}, ["s"], {"k": "v"}, -(2**63), 2**64 - 1, ""]
#: Placeholder swapped for 1,000 nested lists after serialization (orjson writes at most 255 levels).
DEEP = "\u0000deep\u0000"
DEEP_JSON = b"[" * 1000 + b"]" * 1000
DEEP_OBJECT = "\u0000deepobject\u0000"
DEEP_OBJECT_JSON = b'{"a":' * 1000 + b"1" + b"}" * 1000

Step = str  # a member name, "[]" (the first list item) or "{}" (the value of the map's one entry)


def example(shape_name: str, member: str = "", shapes: dict[str, Any] = SHAPES,
            known: dict[str, Any] = KNOWN) -> Any:
    """A small value of the shape: required members only, lists and maps at their minimum size."""
    shape = shapes[shape_name]
    kind = shape["type"]
    if kind == "structure":
        return {m: example(shape["members"][m]["shape"], m, shapes, known) for m in shape.get("required", ())}
    if kind == "list":
        return [example(shape["member"]["shape"], member, shapes, known) for _ in range(shape.get("min", 0))]
    if kind == "map":
        return {}
    if kind == "string":
        if member in known:
            return known[member]
        if "enum" in shape:
            return shape["enum"][0]
        return "a" * max(shape.get("min", 3), 3)
    if kind in ("integer", "long"):
        return shape.get("min", 1)
    if kind in ("double", "float"):
        return 1.0
    if kind == "boolean":
        return True
    if kind == "timestamp":
        return 1_700_000_000
    if kind == "blob":
        return "AAAA"
    raise AssertionError(kind)


def member_paths(shape_name: str, prefix: tuple[Step, ...] = (),
                 shapes: dict[str, Any] = SHAPES) -> Iterator[tuple[tuple[Step, ...], str]]:
    """Every member path under ``shape_name`` with the shape it holds."""
    shape = shapes[shape_name]
    children: list[tuple[Step, str]] = []
    if shape["type"] == "structure":
        children = [(m, ref["shape"]) for m, ref in shape["members"].items()]
    elif shape["type"] == "list":
        children = [("[]", shape["member"]["shape"])]
    elif shape["type"] == "map":
        children = [("{}", shape["value"]["shape"])]
    for step, child in children:
        yield (*prefix, step), child
        yield from member_paths(child, (*prefix, step), shapes)


def with_value(operation: str, path: tuple[Step, ...], value: Any, model: dict[str, Any] = MODEL,
               known: dict[str, Any] = KNOWN) -> dict[str, Any]:
    """The minimal request of ``operation`` with ``value`` at ``path`` (containers made on the way)."""
    shapes = model["shapes"]
    shape_name = model["operations"][operation]["input"]["shape"]
    root = example(shape_name, "", shapes, known)
    node: Any = root
    member = ""
    for i, step in enumerate(path):
        shape = shapes[shape_name]
        if step == "[]":
            shape_name = shape["member"]["shape"]
            if not node:
                node.append(example(shape_name, member, shapes, known))
            key: Any = 0
        elif step == "{}":
            shape_name = shape["value"]["shape"]
            key = example(shape["key"]["shape"], "", shapes, known)
            node.setdefault(key, example(shape_name, member, shapes, known))
        else:
            shape_name = shape["members"][step]["shape"]
            member = step
            key = step
            if step not in node:
                node[key] = example(shape_name, member, shapes, known)
        if i == len(path) - 1:
            node[key] = value
        else:
            node = node[key]
    return root


#: Items of the huge list: 100,000 at the top-level list members (:func:`test_every_member_of_every_operation`);
#: 10,000 -- fifty times the largest list maximum of the CloudTrail and EventBridge models (200) --
#: at every path of the ``slow`` variant, where the 100,000-item lists took more than half its time.
HUGE_LIST_ITEMS = 100_000
SLOW_HUGE_LIST_ITEMS = 10_000


def extremes(shape_name: str, member: str, shapes: dict[str, Any] = SHAPES, known: dict[str, Any] = KNOWN,
             list_items: int = HUGE_LIST_ITEMS) -> list[Any]:
    """Huge and deep values: a 300,000-character string, a ``list_items``-item list of valid items
    (100,000 by default), 1,000 nested lists and objects."""
    shape = shapes[shape_name]
    items = ([example(shape["member"]["shape"], member, shapes, known)] * list_items if shape["type"] == "list"
             else ["x"] * list_items)
    return ["\u00e9" * 300_000, items, DEEP, DEEP_OBJECT]


ALL_PATHS: list[tuple[str, tuple[Step, ...], str]] = [
    (op, path, shape) for op in MODEL_OPERATIONS
    for path, shape in member_paths(MODEL["operations"][op]["input"]["shape"])
]


class Client:
    """Signed raw requests over one connection; checks every answer."""

    def __init__(self, url: str, key: AccessKey, *, service: str = "cloudtrail",
                 target_prefix: str = TARGET_PREFIX) -> None:
        self.url = url
        self.credentials = Credentials(key.access_key_id, key.secret_access_key)
        self.http = httpx.Client(base_url=url, timeout=60)
        self.seen: dict[str, int] = {}
        self.service = service
        self.target_prefix = target_prefix

    def send(self, operation: str, params: dict[str, Any]) -> httpx.Response:
        body = orjson.dumps(params).replace(orjson.dumps(DEEP), DEEP_JSON).replace(
            orjson.dumps(DEEP_OBJECT), DEEP_OBJECT_JSON)
        headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"{self.target_prefix}.{operation}"}
        request = AWSRequest(method="POST", url=self.url + "/", data=body, headers=headers)
        SigV4Auth(self.credentials, self.service, REGION).add_auth(request)
        response = self.http.post("/", content=body, headers=dict(request.headers.items()))
        where = f"{operation} {body[:300]!r}"
        assert response.status_code < 500, (where, response.status_code, response.text[:500])
        answer = orjson.loads(response.content)
        assert isinstance(answer, dict), (where, response.text[:500])
        if response.status_code >= 400:
            assert isinstance(answer.get("__type"), str) and answer["__type"], (where, response.text[:500])
            assert isinstance(answer.get("message", ""), str), (where, response.text[:500])
            self.seen[answer["__type"]] = self.seen.get(answer["__type"], 0) + 1
        else:
            self.seen["200"] = self.seen.get("200", 0) + 1
        return response


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    data_dir = tmp_path_factory.mktemp("fuzz-members")
    accounts = AccountStore(data_dir / "accounts.db")
    key = accounts.create_access_key(ACCOUNT)
    storage = LocalFolderStorage(data_dir / "buckets")
    storage.create_bucket(BUCKET)
    trails = TrailService(data_dir, storage, time.time)
    trails.create_trail(ACCOUNT, REGION, "main", TrailSettings(s3_bucket_name=BUCKET))
    stores = EventDataStoreService(data_dir, time.time)
    store = MemoryEventStore()
    app = build_app(settings=Settings(max_request_bytes=8 * 1024 * 1024), store=store, accounts=accounts,
                    trails=trails, public_keys=KeyStore(data_dir / "keys", time.time),
                    lake=Lake(stores=stores, queries=None, root=data_dir / "lake"))
    try:
        with serving(app) as url:
            c = Client(url, key)
            yield c
            c.http.close()
            assert list((data_dir / "buckets").iterdir()) == [data_dir / "buckets" / BUCKET]
    finally:
        trails.close()
        stores.close()
        store.close()
        accounts.close()


def restore_trail(c: Client) -> None:
    """DeleteTrail and UpdateTrail may have removed or changed ``main``; put it back as it was."""
    c.send("DeleteTrail", {"Name": "main"})
    c.send("CreateTrail", {"Name": "main", "S3BucketName": BUCKET})


def test_the_path_walk_covers_the_model() -> None:
    assert {op for op, _, _ in ALL_PATHS} == set(MODEL_OPERATIONS) - {
        op for op in MODEL_OPERATIONS if not SHAPES[MODEL["operations"][op]["input"]["shape"]]["members"]}
    assert len(ALL_PATHS) > 300
    assert with_value("PutEventSelectors", ("AdvancedEventSelectors", "[]", "FieldSelectors", "[]", "Equals"), 5) == {
        "TrailName": "main", "AdvancedEventSelectors": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": 5}]}]}


def test_every_member_of_every_operation(client: Client) -> None:
    per_operation: dict[str, int] = {}
    for n, (operation, path, shape) in enumerate(ALL_PATHS):
        values = [WRONG[n % len(WRONG)], WRONG[(n + 5) % len(WRONG)]]
        huge_string, huge_list, deep_list, deep_object = extremes(shape, path[-1])
        kind = SHAPES[shape]["type"]
        if kind == "string" and len(path) == 1:
            values.append(huge_string)
        if kind == "list" and len(path) == 1:
            values.append(huge_list)
        index = per_operation[operation] = per_operation.get(operation, -1) + 1
        if index == len(operation) % 4:  # deep nesting at one path of each operation
            values += [deep_list, deep_object]
        for value in values:
            client.send(operation, with_value(operation, path, value))
        if operation in ("DeleteTrail", "UpdateTrail", "CreateTrail"):
            restore_trail(client)
    for operation in MODEL_OPERATIONS:
        client.send(operation, {})
    assert {"SerializationException", "ValidationException", "UnknownOperationException", "200"} <= set(client.seen)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(target=st.sampled_from(ALL_PATHS), value=JSON)
def test_random_values_at_random_members(client: Client, target: tuple[str, tuple[Step, ...], str], value: Any) -> None:
    operation, path, _ = target
    client.send(operation, with_value(operation, path, value))
    if operation in ("DeleteTrail", "UpdateTrail"):
        restore_trail(client)


@pytest.mark.slow
def test_every_value_at_every_member(client: Client) -> None:
    # Implemented operations only: the others answer UnknownOperationException before reading any
    # member (the default test above still sends them wrong types at every path).
    implemented = set(implemented_operations())
    for operation, path, shape in ALL_PATHS:
        if operation not in implemented:
            continue
        for value in [*WRONG, *extremes(shape, path[-1], list_items=SLOW_HUGE_LIST_ITEMS)]:
            client.send(operation, with_value(operation, path, value))
            if operation in ("DeleteTrail", "UpdateTrail", "CreateTrail"):
                restore_trail(client)


# --- Amazon EventBridge ---------------------------------------------------------------------------------

EVENTS_MODEL = Loader().load_service_model("events", "service-2")
EVENTS_RULE_ARN = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/fuzz"
#: Plausible values for EventBridge string members by name (``ConnectionArn`` is set once the connection exists).
EVENTS_KNOWN: dict[str, Any] = {
    "Name": "fuzz", "Rule": "fuzz", "EventPattern": '{"source": ["my.app"]}', "ResourceARN": EVENTS_RULE_ARN,
    "Event": orjson.dumps({"id": "1", "account": ACCOUNT, "source": "my.app", "time": "2026-12-02T10:00:00Z",
                           "region": REGION, "resources": [], "detail-type": "x"}).decode(),
    "TargetArn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:q", "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:q", "Id": "t",
    "InvocationEndpoint": "http://127.0.0.1:9/x", "Source": "my.app", "DetailType": "x", "Detail": "{}",
    "InputTemplate": '"<a>"', "Key": "k", "Value": "v",
}


def events_paths() -> list[tuple[str, tuple[Step, ...], str]]:
    """Every member path of the implemented EventBridge operations (the others answer
    UnknownOperationException before reading any member)."""
    from opentrail.api.events_handlers import EVENTS_HANDLERS

    shapes = EVENTS_MODEL["shapes"]
    return [(op, path, shape) for op in sorted(EVENTS_HANDLERS)
            for path, shape in member_paths(EVENTS_MODEL["operations"][op]["input"]["shape"], (), shapes)]


class NullBus:
    """Takes PutEvents' envelopes and keeps none."""

    def put_events(self, account_id: str, region: str, events: list[dict[str, Any]]) -> list[str]:
        return [e["id"] for e in events]


@pytest.fixture(scope="module")
def events_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Client, dict[str, Any]]]:
    from opentrail.eventbridge.rules_service import RulesService

    data_dir = tmp_path_factory.mktemp("fuzz-events")
    accounts = AccountStore(data_dir / "accounts.db")
    key = accounts.create_access_key(ACCOUNT)
    rules = RulesService(data_dir, time.time)
    rules.put_rule(ACCOUNT, REGION, "fuzz", event_pattern='{"source": ["my.app"]}')
    connection = rules.create_connection(ACCOUNT, REGION, "fuzz", "API_KEY",
                                         {"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}})
    store = MemoryEventStore()
    app = build_app(settings=Settings(max_request_bytes=8 * 1024 * 1024), store=store, accounts=accounts,
                    eventbridge=rules, event_bus=NullBus())
    try:
        with serving(app) as url:
            c = Client(url, key, service="events", target_prefix="AWSEvents")
            yield c, {**EVENTS_KNOWN, "ConnectionArn": connection.arn}
            c.http.close()
    finally:
        rules.close()
        store.close()
        accounts.close()


def events_request(operation: str, path: tuple[Step, ...], value: Any, known: dict[str, Any]) -> dict[str, Any]:
    """The minimal request with ``value`` at ``path``; deletions name what does not exist, so the rule
    and the connection every other request names stay."""
    if operation.startswith("Delete"):
        known = {**known, "Name": "absent"}
    return with_value(operation, path, value, EVENTS_MODEL, known)


def test_every_member_of_every_eventbridge_operation(events_client: tuple[Client, dict[str, Any]]) -> None:
    client, known = events_client
    shapes = EVENTS_MODEL["shapes"]
    for n, (operation, path, shape) in enumerate(events_paths()):
        values = [WRONG[n % len(WRONG)], WRONG[(n + 5) % len(WRONG)]]
        kind = shapes[shape]["type"]
        if len(path) == 1 and kind in ("string", "list"):
            huge_string, huge_list, _, _ = extremes(shape, path[-1], shapes, known)
            values.append(huge_string if kind == "string" else huge_list)
        for value in values:
            client.send(operation, events_request(operation, path, value, known))
    for operation in EVENTS_MODEL["operations"]:
        client.send(operation, {})
    assert {"SerializationException", "ValidationException", "UnknownOperationException", "200"} <= set(client.seen)
