"""CloudTrail's own conventions for S3 records (they do not follow the model's member names).

From real S3 records (datasets/cloudtrail: invictus-ir CreateBucket/ListBuckets, otrf
ListObjects/GetObject, cado PutObject):

- requestParameters: ``bucketName``, ``Host`` (the Host header as sent), every query parameter
  under its wire name (``list-type: "2"``, ``uploads: ""``, ``partNumber``, ``uploadId``; presign
  parameters (``X-Amz-*``, SigV2's ``AWSAccessKeyId``/``Signature``/``Expires``) and botocore's
  ``x-id`` left out), the request headers that carry
  request members (``x-amz-acl``, ``x-amz-copy-source``, ``x-amz-server-side-encryption``, ...;
  the SSE-C key, marked sensitive, left out), ``key`` for object operations, and a small XML
  payload as a dict under its root element (``CreateBucketConfiguration``; numbers and
  ``true``/``false`` typed) or, for
  PutBucketPolicy, the policy JSON as ``bucketPolicy``.
- responseElements: null, except the encryption/version headers of writes
  (``x-amz-server-side-encryption``, ``x-amz-version-id``, ...).
- additionalEventData: ``SignatureVersion``, ``bytesTransferredIn`` (the decoded length for
  ``aws-chunked`` uploads), ``AuthenticationMethod``, ``x-amz-id-2``, ``bytesTransferredOut``.
- resources: object operations name the object then the bucket (with accountId); listings name
  an ``ARNPrefix``; other bucket operations name the bucket; CreateBucket and ListBuckets none.
- userAgent is written in square brackets (``[aws-cli/1.18.136 Python/3.8.5 ...]``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import orjson

from .capture import CapturedCall
from .resolve import ResolvedCall
from .values import is_sensitive

_RESPONSE_HEADERS = (
    "x-amz-server-side-encryption",
    "x-amz-server-side-encryption-aws-kms-key-id",
    "x-amz-server-side-encryption-bucket-key-enabled",
    "x-amz-version-id",
    "x-amz-expiration",
)
_PRESIGN_V2 = frozenset({"AWSAccessKeyId", "Signature", "Expires"})
_LISTINGS = frozenset({"ListObjects", "ListObjectsV2", "ListObjectVersions", "ListMultipartUploads"})
_NO_RESOURCES = frozenset({"CreateBucket", "ListBuckets", "ListDirectoryBuckets"})


def _xml_text(text: str) -> Any:
    """CloudTrail's S3 records type XML text: ``"1"`` -> 1, ``"true"`` -> true, even for a tag
    value (PutBucketLifecycle ``Days``, PutBucketTagging ``Value``, datasets/cloudtrail/invictus-ir)."""
    if text in ("true", "false"):
        return text == "true"
    if text.isdigit() and (text == "0" or not text.startswith("0")) and len(text) < 19:
        return int(text)
    return text


def _xml_to_dict(elem: ET.Element) -> Any:
    children = list(elem)
    if not children:
        return _xml_text(elem.text or "")
    out: dict[str, Any] = {}
    for child in children:
        tag = child.tag.split("}", 1)[-1]
        value = _xml_to_dict(child)
        if tag in out:
            if not isinstance(out[tag], list):
                out[tag] = [out[tag]]
            out[tag].append(value)
        else:
            out[tag] = value
    return out


def _payload(call: CapturedCall, resolved: ResolvedCall) -> dict[str, Any]:
    shape = resolved.operation.input_shape
    body = call.request_body
    if shape is None or not body:
        return {}
    payload = shape.serialization.get("payload")
    if payload is None:
        return {}
    pshape = shape.members[payload]  # type: ignore[attr-defined]
    if resolved.operation.name == "PutBucketPolicy":
        try:
            return {"bucketPolicy": orjson.loads(body)}
        except orjson.JSONDecodeError:
            return {}
    if pshape.type_name != "structure":
        return {}
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return {}
    tag = root.tag
    value = _xml_to_dict(root)
    if not isinstance(value, dict):
        value = {}
    if tag.startswith("{"):
        value["xmlns"] = tag[1:].split("}", 1)[0]
        tag = tag.split("}", 1)[1]
    return {tag: value}


def request_parameters(call: CapturedCall, resolved: ResolvedCall) -> dict[str, Any]:
    """S3 requestParameters (see the module docstring)."""
    out: dict[str, Any] = {}
    if resolved.bucket:
        out["bucketName"] = resolved.bucket
    out["Host"] = resolved.host
    for k, v in resolved.query.items():
        if k.startswith("X-Amz-") or k in _PRESIGN_V2 or k == "x-id":
            continue
        out[k] = v
    shape = resolved.operation.input_shape
    if shape is not None:
        for name, member in shape.members.items():  # type: ignore[attr-defined]
            if member.serialization.get("location") != "header" or is_sensitive(member):
                continue
            header = str(member.serialization.get("name", name)).lower()
            if not header.startswith("x-amz-") or header in ("x-amz-content-sha256", "x-amz-sdk-checksum-algorithm"):
                continue
            if header.startswith("x-amz-checksum-") or header.startswith("x-amz-expected-bucket-owner"):
                continue
            value = call.header(header)
            if value is not None:
                out[header] = value
    if resolved.key is not None:
        out["key"] = resolved.key
    out.update(_payload(call, resolved))
    return out


def response_elements(call: CapturedCall) -> dict[str, Any] | None:
    """The encryption/version headers of a successful write, or None."""
    out = {h: v for h in _RESPONSE_HEADERS if (v := call.response_header(h)) is not None}
    return out or None


def additional_event_data(call: CapturedCall, resolved: ResolvedCall) -> dict[str, Any]:
    """``SignatureVersion``, ``bytesTransferredIn``, ``AuthenticationMethod``, ``x-amz-id-2``,
    ``bytesTransferredOut`` (byte counts as ints)."""
    bytes_in = call.bytes_in
    decoded = call.header("x-amz-decoded-content-length")
    if decoded is not None and decoded.isdigit():
        bytes_in = int(decoded)
    out: dict[str, Any] = {}
    if resolved.signer.signature_version is not None:
        out["SignatureVersion"] = resolved.signer.signature_version
    out["bytesTransferredIn"] = bytes_in
    if resolved.signer.authentication_method is not None:
        out["AuthenticationMethod"] = resolved.signer.authentication_method
    amz_id_2 = call.response_header("x-amz-id-2")
    if amz_id_2:
        out["x-amz-id-2"] = amz_id_2
    out["bytesTransferredOut"] = call.bytes_out
    return out


def resources(resolved: ResolvedCall, account_id: str) -> list[dict[str, Any]] | None:
    """The record's resources for an S3 call, or None."""
    bucket = resolved.bucket
    name = resolved.operation.name
    if not bucket or name in _NO_RESOURCES:
        return None
    bucket_res = {"accountId": account_id, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"}
    if name in _LISTINGS:
        prefix = resolved.query.get("prefix", "")
        return [{"type": "AWS::S3::Object", "ARNPrefix": f"arn:aws:s3:::{bucket}/{prefix}"}, bucket_res]
    if resolved.key is not None:
        return [{"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{resolved.key}"}, bucket_res]
    return [bucket_res]


def user_agent(value: str) -> str:
    """S3 writes the User-Agent in square brackets."""
    return f"[{value}]" if value else value
