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

Implemented: GetCallerIdentity, GetAccessKeyInfo, GetSessionToken (:mod:`.sts_handlers`). The
others answer InvalidAction until IAM roles, SAML/OIDC providers and federation exist.
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


def _service() -> Service:
    handlers = handlers_of("sts_handlers", "STS_HANDLERS")
    return Service(name="sts", model="sts", iam_prefix="sts", event_source="sts.amazonaws.com",
                   target_prefix="AWSSecurityTokenServiceV20110615",
                   operations=operation_table("sts", OPERATION_RESOURCES, handlers),
                   resources=OPERATION_RESOURCES,
                   logged_responses={"GetSessionToken": logged_session_token})


#: STS as a :class:`Service`.
STS: Service = _service()
