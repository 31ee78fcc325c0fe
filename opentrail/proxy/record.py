"""One captured call -> the CloudTrail record AWS would have written for it.

The record is made by the strict writer (:func:`opentrail.events.writer.api_call_record`), then
adjusted where the writer's management-event defaults do not apply:

- ``requestID`` is the upstream's request id (``x-amzn-RequestId`` / ``x-amz-request-id``), which
  for S3 is not a UUID; a UUID is generated when the upstream sent none;
- data events (see :mod:`opentrail.proxy.conventions`) get ``managementEvent: false`` and
  ``eventCategory: "Data"``.

responseElements are null for calls read-only by name (and KMS's cryptographic operations, see
:func:`opentrail.proxy.conventions.writes_response`), failed calls and data events (AWS's
practice, datasets/cloudtrail), except S3's header elements (:mod:`opentrail.proxy.s3`); EC2's
come from the answer's XML (:mod:`opentrail.proxy.ec2`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from ..events.writer import api_call_record
from . import conventions, ec2, s3
from .capture import CapturedCall
from .identity import IdentityResolver
from .models import ModelIndex
from .params import raw_parameters, request_parameters
from .resolve import ResolvedCall, resolve
from .responses import parse_response
from .values import OMIT, to_record


@dataclass(frozen=True, slots=True)
class RecordBuilder:
    """Builds records for captured calls; ``virtual_host_suffixes`` extend S3 virtual-host
    detection (see :mod:`opentrail.proxy.resolve`)."""

    index: ModelIndex
    identities: IdentityResolver
    virtual_host_suffixes: tuple[str, ...] = ()

    def build(self, call: CapturedCall) -> dict[str, Any] | None:
        """The record for ``call``, or None when no botocore model explains the request."""
        resolved = resolve(call, self.index, self.virtual_host_suffixes)
        if resolved is None:
            return None
        return build_record(call, resolved, self.identities)


def _response_elements(resolved: ResolvedCall, output: dict[str, Any] | None) -> dict[str, Any] | None:
    shape = resolved.operation.output_shape
    if shape is None or not output:
        return None
    value = to_record(shape, output, resolved.model.endpoint_prefix)
    return dict(value) if value is not OMIT and value else None


def build_record(call: CapturedCall, resolved: ResolvedCall, identities: IdentityResolver) -> dict[str, Any]:
    """The record for a resolved call (see the module docstring)."""
    source = conventions.event_source(resolved.model.endpoint_prefix)
    operation = resolved.operation.name
    name = conventions.event_name(source, operation)
    read_only = conventions.is_read_only(operation, source)
    data_event = conventions.is_data_event(source, operation)
    region = resolved.signer.region
    identity = identities.identify(resolved.signer.access_key_id, region)
    account = identity.account_id
    writes_response = conventions.writes_response(source, operation)
    want_output = source == "kms.amazonaws.com" or (writes_response and not data_event and source != "s3.amazonaws.com")
    parsed = parse_response(call, resolved, want_output=want_output)
    failed = parsed.error_code is not None
    user_agent = call.header("user-agent") or ""
    additional: dict[str, Any] | None = None
    resources: list[dict[str, Any]] | None
    if source == "s3.amazonaws.com":
        params: dict[str, Any] | None = s3.request_parameters(call, resolved)
        response = None if failed or read_only else s3.response_elements(call)
        additional = s3.additional_event_data(call, resolved)
        resources = s3.resources(resolved, account)
        user_agent = s3.user_agent(user_agent)
    else:
        raw = raw_parameters(call, resolved)
        params = request_parameters(resolved, raw)
        if params is not None and source == "dynamodb.amazonaws.com" and data_event:
            params = conventions.redact_dynamodb_item(operation, params)
        if failed or not writes_response or data_event:
            response = None
        elif resolved.protocol == "ec2":
            response = ec2.response_elements(call, resolved)
        else:
            response = conventions.filter_response(source, operation, _response_elements(resolved, parsed.output))
        resources = conventions.resources(source, operation, raw, region, account, parsed.output)
    record = api_call_record(
        user_identity=identity.user_identity,
        event_time=call.event_time,
        event_source=source,
        event_name=name,
        aws_region=region,
        source_ip_address=call.source_ip,
        user_agent=user_agent,
        request_parameters=params,
        response_elements=response,
        request_id=str(uuid.uuid4()),
        event_id=str(uuid.uuid4()),
        read_only=read_only,
        recipient_account_id=account,
        error_code=parsed.error_code,
        error_message=parsed.error_message,
        additional_event_data=additional,
        resources=resources,
        api_version=conventions.api_version(source, resolved.model.api_version),
    )
    if parsed.request_id:
        record["requestID"] = parsed.request_id
    if data_event:
        record["managementEvent"] = False
        record["eventCategory"] = "Data"
    return record
