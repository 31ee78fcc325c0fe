"""Which AWS operation a captured request is, and who signed it for which Region.

- Signer: the SigV4 credential scope ``AKID/date/region/service/aws4_request`` from the
  ``Authorization`` header (``AuthenticationMethod`` ``AuthHeader``) or from the presigned query
  parameter ``X-Amz-Credential`` (``QueryString``); S3's SigV2 (``Authorization: AWS AKID:sig``, or
  the presigned ``AWSAccessKeyId`` parameter, still what boto3 presigns S3 URLs with) gives the key
  and ``SignatureVersion`` ``SigV2``, Region ``us-east-1``. Unsigned requests have no key and
  Region ``us-east-1``; they are taken to be S3 (anonymous access to public objects).
- Operation, by protocol (botocore service models, see :mod:`opentrail.proxy.models`): JSON
  protocols by ``X-Amz-Target: <targetPrefix>.<Operation>``; query/EC2 protocols by ``Action`` in the
  query string or the form body; REST protocols by method, URI template and required
  query/header members. S3 virtual-hosted requests (``<bucket>.s3[.<region>].amazonaws.com`` or
  ``<bucket>.localhost``, and any suffix in ``virtual_host_suffixes``) are matched as path style.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from botocore.model import OperationModel, ServiceModel

from .capture import CapturedCall
from .models import ModelIndex

_CREDENTIAL_RE = re.compile(r"Credential=([^,\s]+)")
_S3_HOST_RE = re.compile(r"^(?P<bucket>.+)\.s3([.-][a-z0-9-]+)*\.amazonaws\.com(\.cn)?$")
DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True, slots=True)
class Signer:
    """The signature scope of a request (all None/default when it was not signed)."""

    access_key_id: str | None
    region: str
    service: str | None
    authentication_method: str | None
    signature_version: str | None = "SigV4"


@dataclass(slots=True)
class ResolvedCall:
    """A request tied to its botocore ``model``/``operation``. ``protocol`` is how the request
    was serialized (``json``, ``query``, ``ec2``, ``rest-json``, ``rest-xml``); ``labels`` the URI
    labels, ``query`` the decoded query parameters (first value of each), ``form`` the query-protocol
    parameters; for S3 ``bucket``/``key`` and ``host`` (the Host header as sent)."""

    model: ServiceModel
    operation: OperationModel
    protocol: str
    signer: Signer
    host: str
    labels: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    form: dict[str, str] | None = None
    bucket: str | None = None
    key: str | None = None


def signer_of(call: CapturedCall, query: dict[str, str]) -> Signer:
    """The credential scope of ``call`` (see the module docstring)."""
    auth = call.header("authorization")
    scope: str | None = None
    method: str | None = None
    if auth and auth.startswith("AWS4-"):
        m = _CREDENTIAL_RE.search(auth)
        scope, method = (m.group(1) if m else None), "AuthHeader"
    elif "X-Amz-Credential" in query:
        scope, method = query["X-Amz-Credential"], "QueryString"
    elif auth and auth.startswith("AWS ") and ":" in auth:
        return Signer(auth[4:].split(":", 1)[0].strip() or None, DEFAULT_REGION, "s3", "AuthHeader", "SigV2")
    elif "AWSAccessKeyId" in query and "Signature" in query:
        return Signer(query["AWSAccessKeyId"] or None, DEFAULT_REGION, "s3", "QueryString", "SigV2")
    if scope is None:
        return Signer(None, DEFAULT_REGION, None, None, None)
    parts = scope.split("/")
    if len(parts) != 5:
        return Signer(parts[0] or None, DEFAULT_REGION, None, method)
    return Signer(parts[0], parts[2] or DEFAULT_REGION, parts[3] or None, method)


def _query_dict(query_string: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in parse_qsl(query_string, keep_blank_values=True):
        out.setdefault(k, v)
    return out


def s3_virtual_bucket(host: str, suffixes: tuple[str, ...] = ()) -> str | None:
    """The bucket named by a virtual-hosted S3 ``host`` (port ignored), or None for path style."""
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = name.lower()
    m = _S3_HOST_RE.match(name)
    if m:
        return m.group("bucket")
    if name.endswith(".localhost"):
        return name[: -len(".localhost")]
    for suffix in suffixes:
        if name.endswith("." + suffix.lstrip(".")):
            return name[: -len(suffix.lstrip(".")) - 1]
    return None


def resolve(call: CapturedCall, index: ModelIndex, virtual_host_suffixes: tuple[str, ...] = ()) -> ResolvedCall | None:
    """The operation ``call`` invokes, or None when no model explains it."""
    query = _query_dict(call.query_string)
    signer = signer_of(call, query)
    host = call.header("host") or ""
    target = call.header("x-amz-target")
    if target and "." in target:
        prefix, _, name = target.rpartition(".")
        model = index.for_target(prefix, signer.service)
        if model is None or name not in model.operation_names:
            return None
        return ResolvedCall(model, model.operation_model(name), "json", signer, host, query=query)
    service = signer.service or "s3"
    model = index.for_signing_name(service)
    if model is None:
        return None
    form: dict[str, str] | None = None
    ctype = (call.header("content-type") or "").lower()
    if call.method == "POST" and ctype.startswith("application/x-www-form-urlencoded") and call.request_body:
        try:
            form = _query_dict(call.request_body.decode("utf-8"))
        except UnicodeDecodeError:
            form = None
    action = (form or {}).get("Action") or query.get("Action")
    if action and (model.protocol in ("query", "ec2") or form is not None):
        if action not in model.operation_names:
            return None
        params = dict(query)
        params.update(form or {})
        protocol = "ec2" if model.protocol == "ec2" else "query"
        return ResolvedCall(model, model.operation_model(action), protocol, signer, host, query=query, form=params)
    if model.protocol not in ("rest-json", "rest-xml"):
        return None
    path = call.path or "/"
    bucket: str | None = None
    is_s3 = model.service_name == "s3"
    if is_s3:
        bucket = s3_virtual_bucket(host, virtual_host_suffixes)
        if bucket is not None:
            path = "/" + bucket + (path if path.startswith("/") else "/" + path)
            if path.endswith("/") and path.count("/") == 2:
                path = path[:-1]
    headers = {k: v for k, v in call.headers}
    match = index.routes(model).match(call.method, path, query, headers)
    if match is None:
        return None
    resolved = ResolvedCall(model, model.operation_model(match.operation), model.protocol, signer, host,
                            labels=match.labels, query=query)
    if is_s3:
        resolved.bucket = match.labels.get("Bucket")
        resolved.key = match.labels.get("Key")
    return resolved
