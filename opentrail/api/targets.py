"""``X-Amz-Target`` of the AWS JSON protocols (``awsJson1_0`` / ``awsJson1_1``): which header values
name which operation, for any AWS JSON service.

Two families of clients send two forms of the header for the same operation:

- botocore (boto3, the AWS CLI) and the AWS SDKs generated from the older models send
  ``<targetPrefix>.<Operation>``, ``targetPrefix`` being the model metadata member. For most services
  that is a bare name (logs ``Logs_20140328``, events ``AWSEvents``, monitoring's JSON protocol
  ``GraniteServiceVersion20100801``); for a few it is a dotted Coral name
  (cloudtrail ``com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101``).
- Smithy-generated SDKs (Go v2 and so Terraform's AWS provider, JavaScript v3, Java v2, .NET, the
  Python ``aws-sdk-*`` packages) send ``<service shape name>.<Operation>`` (Smithy's awsJson1_x
  protocol: "the shape name of the service's shape ID" joined to the operation name by "."),
  the service shape name being the last dotted part of the Coral name: ``CloudTrail_20131101``.

AWS accepts both forms, so :func:`accepted_target_prefixes` derives from a model's ``targetPrefix``
the full prefix and, when dotted, its last part. Matching is exact (case-sensitive), as AWS's.
"""

from __future__ import annotations

from typing import Collection, Iterable


def accepted_target_prefixes(target_prefix: str, *aliases: str) -> frozenset[str]:
    """The ``X-Amz-Target`` prefixes (the part before the last ``.``) a service answers: the botocore
    model's ``targetPrefix``; when it is a dotted Coral name (``com.amazonaws.<service>.v<version>.<Shape>``)
    also the Smithy service shape name after its last ``.``; and any ``aliases`` a service adds.

    >>> sorted(accepted_target_prefixes("com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101"))
    ['CloudTrail_20131101', 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101']
    >>> sorted(accepted_target_prefixes("Logs_20140328"))
    ['Logs_20140328']
    """
    if not target_prefix:
        raise ValueError("target_prefix must not be empty")
    prefixes = {target_prefix, target_prefix.rpartition(".")[2], *aliases}
    return frozenset(p for p in prefixes if p)


def operation_for_target(target: str | None, prefixes: Iterable[str], operations: Collection[str]) -> str | None:
    """The operation an ``X-Amz-Target`` value names: ``<prefix>.<Operation>`` with ``prefix`` one of
    ``prefixes`` (from :func:`accepted_target_prefixes`) and ``Operation`` one of ``operations``.
    None when the header is missing, empty, for another service or names no operation of the model
    (the caller answers ``UnknownOperationException`` without a message, as AWS does)."""
    if not target:
        return None
    prefix, dot, name = target.rpartition(".")
    if not dot or prefix not in prefixes or name not in operations:
        return None
    return name
