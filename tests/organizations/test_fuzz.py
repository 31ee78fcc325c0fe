"""Every member of every implemented Organizations operation's input shape given wrong types and
huge values, against a real server (raw SigV4-signed requests, tests/api/test_fuzz_members.py's
walk): every answer is below 500 and a JSON object, errors carry a ``__type``; the other operations
of the model get the empty request. The organization (an account, an OU, a policy) stays in place:
deletions name what does not exist."""

from __future__ import annotations

import time
from typing import Any, Iterator

import pytest
from botocore.loaders import Loader

from opentrail.api.app import build_app
from opentrail.api.organizations_handlers import ORGANIZATIONS_HANDLERS
from opentrail.auth.accounts import AccountStore
from opentrail.organizations.service import OrganizationsService
from opentrail.settings import Settings
from opentrail.store.memory import MemoryEventStore
from tests.api.test_fuzz_members import WRONG, Client, Step, extremes, member_paths, with_value
from tests.serving import serving

MODEL = Loader().load_service_model("organizations", "service-2")
SHAPES: dict[str, Any] = MODEL["shapes"]
ACCOUNT = "111122223333"
CONTENT = '{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}'


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Client, dict[str, Any]]]:
    data_dir = tmp_path_factory.mktemp("fuzz-orgs")
    accounts = AccountStore(data_dir / "accounts.db")
    key = accounts.create_access_key(ACCOUNT)
    orgs = OrganizationsService(data_dir, time.time, create_account=accounts.create_account)
    org = orgs.create_organization(ACCOUNT)
    member = orgs.create_account(ACCOUNT, "m@example.com", "m", {}).account_id
    _, ou = orgs.create_ou(ACCOUNT, org.root_id, "ou", {})
    orgs.enable_policy_type(ACCOUNT, org.root_id, "SERVICE_CONTROL_POLICY")
    _, policy = orgs.create_policy(ACCOUNT, "p", "d", "SERVICE_CONTROL_POLICY", CONTENT, {})
    store = MemoryEventStore()
    app = build_app(settings=Settings(max_request_bytes=8 * 1024 * 1024), store=store, accounts=accounts,
                    organizations=orgs)
    known = {"AccountId": member, "ParentId": org.root_id, "RootId": org.root_id, "TargetId": ou.id,
             "OrganizationalUnitId": ou.id, "PolicyId": policy.id, "ResourceId": ou.id, "ChildId": member,
             "SourceParentId": org.root_id, "DestinationParentId": ou.id, "Content": CONTENT,
             "ServicePrincipal": "cloudtrail.amazonaws.com", "Email": "f@example.com", "Key": "k", "Value": "v"}
    try:
        with serving(app) as url:
            c = Client(url, key, service="organizations", target_prefix="AWSOrganizationsV20161128")
            yield c, known
            c.http.close()
    finally:
        orgs.close()
        store.close()
        accounts.close()


def paths() -> list[tuple[str, tuple[Step, ...], str]]:
    return [(op, path, shape) for op in sorted(ORGANIZATIONS_HANDLERS) if "input" in MODEL["operations"][op]
            for path, shape in member_paths(MODEL["operations"][op]["input"]["shape"], (), SHAPES)]


def request(operation: str, path: tuple[Step, ...], value: Any, known: dict[str, Any]) -> dict[str, Any]:
    if operation.startswith(("Delete", "Remove", "Deregister", "Detach", "Move")):
        known = {**known, "AccountId": "999999999999", "OrganizationalUnitId": "ou-zzzz-zzzzzzzz",
                 "PolicyId": "p-zzzzzzzz"}
    return with_value(operation, path, value, MODEL, known)


def test_every_member_of_every_organizations_operation(fuzz: tuple[Client, dict[str, Any]]) -> None:
    client, known = fuzz
    for n, (operation, path, shape) in enumerate(paths()):
        values = [WRONG[n % len(WRONG)], WRONG[(n + 5) % len(WRONG)]]
        kind = SHAPES[shape]["type"]
        if len(path) == 1 and kind in ("string", "list"):
            huge_string, huge_list, _, _ = extremes(shape, path[-1], SHAPES, known)
            values.append(huge_string if kind == "string" else huge_list)
        for value in values:
            client.send(operation, request(operation, path, value, known))
    for operation in MODEL["operations"]:
        client.send(operation, {})
    assert {"SerializationException", "ValidationException", "UnknownOperationException", "200"} <= set(client.seen)
