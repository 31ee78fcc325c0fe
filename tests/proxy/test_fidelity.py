"""Records written by the proxy compared with REAL CloudTrail records of the same calls.

Each ``reference/<service>.<eventName>[.error].json`` holds one real record (``record``, from the
dataset file named in ``source``), trimmed of the request/response members our call does not send
or moto does not answer (listed in ``...NotSent``). The same call is made with boto3 through the
proxy to moto (:mod:`tests.proxy.fidelity_calls`) and its record must match the real one in:

- the top-level keys, in AWS's order (``keyOrder``: true for log files, whose order is AWS's;
  stratus-red-team files are key-sorted), except the keys a plain-HTTP proxy cannot write
  (:data:`NOT_WRITTEN`), plus ``notInSource`` (keys an export of the record dropped);
- eventSource, eventName, eventType, readOnly, eventCategory, managementEvent, errorCode;
- userIdentity's keys (an IAM user), resources' types and keys, additionalEventData's keys and
  SignatureVersion/AuthenticationMethod values;
- requestParameters/responseElements: null or not, and every member path with its value format
  (:func:`tests.proxy.fidelity_shape.paths`: ``Aug 1, 2024, 1:33:28 PM`` vs ``Aug 1, 2024 1:33:28
  PM``, int vs text, list vs object); paths the real record lacks are allowed only when listed in
  ``...Extra`` (members our call sends or moto answers that the real call did not), and EC2's
  requestParameters only where ``requestParametersDiffer`` explains why not.

Values that naturally differ (ids, names, times, account numbers) are not compared.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest

from . import fidelity_calls
from .conftest import Stack, make_stack
from .fidelity_shape import paths

REFERENCE = Path(__file__).parent / "reference"
#: Keys real records have that the proxy does not write: tlsDetails (clients speak plain HTTP to
#: the proxy), vpcEndpointId (no VPC endpoint), sharedEventID (cross-account copies).
NOT_WRITTEN = frozenset({"tlsDetails", "vpcEndpointId", "sharedEventID", "sessionCredentialFromConsole"})
#: additionalEventData keys the proxy cannot know: CipherSuite (no TLS); x-amz-id-2 is the
#: upstream's header, which moto does not send (MinIO and AWS do).
ADDITIONAL_NOT_WRITTEN = frozenset({"CipherSuite", "x-amz-id-2", "SSEApplied"})
SAME = ("eventSource", "eventName", "eventType", "readOnly", "eventCategory", "managementEvent", "errorCode")
CASES = sorted(p.name for p in REFERENCE.glob("*.json"))


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[dict[str, Any]]]:
    """Every call of :mod:`tests.proxy.fidelity_calls`, on a stack of its own (so the calls do
    not mix with the other proxy tests' records)."""
    stacks = make_stack(tmp_path_factory)
    stack: Stack = next(stacks)
    for group in fidelity_calls.CALLS:
        group(lambda service: stack.client(service))
    stack.proxy.settle()
    yield list(stack.proxy.records)
    next(stacks, None)


def _ours(records: list[dict[str, Any]], real: dict[str, Any]) -> dict[str, Any]:
    error = "errorCode" in real
    found = [r for r in records if (r["eventSource"], r["eventName"]) == (real["eventSource"], real["eventName"])
             and ("errorCode" in r) == error]
    assert found, f"no {real['eventName']} record (error: {error})"
    return found[0]


def _compare_members(field: str, ours: Any, real: Any, ref: dict[str, Any]) -> None:
    assert (ours is None) == (real is None), f"{field}: ours {ours!r}, AWS's {real!r}"
    if f"{field}Differ" in ref:
        return
    mine, theirs = paths(ours), paths(real)
    for formats in (mine, theirs):
        if "requestId" in formats:  # EC2's: the upstream's request id (moto's is not a UUID)
            formats["requestId"] = "text"
    extra = set(ref.get(f"{field}Extra", ()))
    assert {k: v for k, v in mine.items() if k not in extra} == theirs, field


def test_at_least_25_calls_are_verified() -> None:
    assert len({c.removesuffix(".json").removesuffix(".error") for c in CASES}) >= 25


@pytest.mark.parametrize("case", CASES)
def test_record_matches_real_cloudtrail_record(records: list[dict[str, Any]], case: str) -> None:
    ref = json.loads((REFERENCE / case).read_text())
    real = ref["record"]
    ours = _ours(records, real)

    want_keys = [k for k in real if k not in NOT_WRITTEN] + ref.get("notInSource", [])
    if ref["keyOrder"]:
        assert list(ours) == want_keys
    else:
        assert sorted(ours) == sorted(want_keys)
    for name in SAME:
        assert ours.get(name) == real.get(name), name
    assert ours["eventVersion"] == "1.11"
    # invokedBy: a service called on the user's behalf (SSM -> KMS); sessionContext: a console or
    # session call. Neither is a call signed with the user's access key, the proxy's case.
    identity = set(real["userIdentity"]) - {"invokedBy", "sessionContext"}
    assert ours["userIdentity"]["type"] == "IAMUser"
    if real["userIdentity"]["type"] == "IAMUser":  # the otrf S3 records are an EC2 role's
        assert set(ours["userIdentity"]) == identity
    assert ours["recipientAccountId"] == ours["userIdentity"]["accountId"]

    _compare_members("requestParameters", ours["requestParameters"], real["requestParameters"], ref)
    _compare_members("responseElements", ours["responseElements"], real["responseElements"], ref)

    if "additionalEventData" in real:
        theirs = {k: v for k, v in real["additionalEventData"].items() if k not in ADDITIONAL_NOT_WRITTEN}
        if ref["keyOrder"]:
            assert list(ours["additionalEventData"]) == list(theirs)
        assert set(ours["additionalEventData"]) == set(theirs)
        for name in ("SignatureVersion", "AuthenticationMethod"):
            assert ours["additionalEventData"].get(name) == theirs.get(name)
        if real["eventVersion"] >= "1.08":  # eventVersion 1.07 records wrote the counts as floats
            for name in ("bytesTransferredIn", "bytesTransferredOut"):
                assert type(ours["additionalEventData"][name]) is type(theirs[name]), name
    shape = [(r.get("type"), sorted(r)) for r in real.get("resources") or []]
    assert [(r.get("type"), sorted(r)) for r in ours.get("resources") or []] == shape
