"""AWS STS on opentrail's port: the explicit operation table (every operation of
``botocore/data/sts/2011-06-15``: 12) -> handler, IAM action ``sts:<Operation>`` and the resource
type that action is authorized on (Service Authorization Reference, "Actions defined by AWS Security
Token Service": ``role`` for the AssumeRole family, ``root`` for AssumeRoot, ``*`` for the others).

SigV4 signing name ``sts``; AWS Query protocol only (``Action=<Operation>&Version=2011-06-15``, XML
answers in the ``https://sts.amazonaws.com/doc/2011-06-15/`` namespace). Calls are recorded with
eventSource ``sts.amazonaws.com`` in the Region of the request's credential scope (``us-east-1``
for the global endpoint ``sts.amazonaws.com``, which clients sign for us-east-1). Every STS
operation name starts with Get/Assume/Decode: Get* are recorded ``readOnly: true`` like every
service's; GetSessionToken's ``responseElements`` are written anyway, as AWS does, with the
credentials' ``accessKeyId`` and ``expiration`` only (:func:`logged_session_token`: the secret is a
``sensitive`` member of the model and the session token is left out too, so no recorded event
holds a usable credential).

AssumeRole is recorded ``readOnly: true`` with ``resources: [{accountId, type: "AWS::IAM::Role",
ARN}]`` and its responseElements (credentials' key id and expiration, assumedRoleUser,
packedPolicySize, sourceIdentity), as the real records of datasets/cloudtrail show (AWS also writes
the session token there; opentrail leaves it out, as for GetSessionToken).

Implemented: AssumeRole, GetCallerIdentity, GetAccessKeyInfo, GetSessionToken (:mod:`.sts_handlers`,
:mod:`.sts_assume_role`). The others answer InvalidAction until SAML/OIDC providers and federation
exist.
"""

from __future__ import annotations

from typing import Any

from .services import Service, handlers_of, operation_table

#: Every operation of the model -> the resource type of its IAM action.
OPERATION_RESOURCES: dict[str, str] = {
    "AssumeRole": "role",
    "AssumeRoleWithSAML": "role",
    "AssumeRoleWithWebIdentity": "role",
    "AssumeRoot": "root",
    "DecodeAuthorizationMessage": "*",
    "GetAccessKeyInfo": "*",
    "GetCallerIdentity": "*",
    "GetDelegatedAccessToken": "*",
    "GetFederationToken": "user",
    "GetScopedCredentials": "*",
    "GetSessionToken": "*",
    "GetWebIdentityToken": "*",
}


def logged_session_token(response: dict[str, Any]) -> dict[str, Any]:
    """GetSessionToken's response as recorded: ``{"Credentials": {"AccessKeyId", "Expiration"}}``."""
    credentials = response.get("Credentials") or {}
    return {"Credentials": {k: credentials[k] for k in ("AccessKeyId", "Expiration") if k in credentials}}


def logged_assume_role(response: dict[str, Any]) -> dict[str, Any]:
    """AssumeRole's response as recorded: the credentials' ``AccessKeyId`` and ``Expiration`` only,
    then ``AssumedRoleUser``, ``PackedPolicySize`` and ``SourceIdentity`` when answered."""
    logged = logged_session_token(response)
    for member in ("AssumedRoleUser", "PackedPolicySize", "SourceIdentity"):
        if member in response:
            logged[member] = response[member]
    return logged


def role_resources(params: dict[str, Any]) -> list[dict[str, Any]] | None:
    """AssumeRole's ``resources``: ``[{accountId, type: "AWS::IAM::Role", ARN}]`` of the role ARN
    asked for (a real record, datasets/cloudtrail/invictus-ir-aws_dataset); None for an ARN that
    names no account."""
    arn = params.get("RoleArn")
    parts = arn.split(":") if isinstance(arn, str) else []
    if len(parts) < 6 or not parts[4].isdigit():
        return None
    return [{"accountId": parts[4], "type": "AWS::IAM::Role", "ARN": arn}]


def _service() -> Service:
    handlers = handlers_of("sts_handlers", "STS_HANDLERS")
    return Service(name="sts", model="sts", iam_prefix="sts", event_source="sts.amazonaws.com",
                   target_prefix="AWSSecurityTokenServiceV20110615",
                   operations=operation_table("sts", OPERATION_RESOURCES, handlers),
                   resources=OPERATION_RESOURCES,
                   logged_responses={"GetSessionToken": logged_session_token, "AssumeRole": logged_assume_role},
                   read_only=frozenset({"AssumeRole"}), recorded_resources={"AssumeRole": role_resources})


#: STS as a :class:`Service`.
STS: Service = _service()
