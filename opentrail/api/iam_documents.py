"""Policy documents given to IAM: parsed with :func:`opentrail.access.policy_document.parse_policy`
(MalformedPolicyDocument with IAM's messages) and held to IAM's size quotas (IAM User Guide, "IAM and
AWS STS quotas", counted without whitespace):

- managed policy: 6,144 characters: LimitExceeded "Cannot exceed quota for PolicySize: 6144";
- inline policies, all of one principal together: user 2,048, group 5,120, role 10,240:
  LimitExceeded "Maximum policy size of 2048 bytes exceeded for user <name>";
- role trust policy: 2,048: LimitExceeded "Cannot exceed quota for ACLSizePerRole: 2048".
"""

from __future__ import annotations

import re
from typing import Any

from ..access.policy_document import MalformedPolicyDocumentException as _Malformed
from ..access.policy_document import PolicyKind, parse_policy
from . import iam_errors as e

MANAGED_POLICY_SIZE = 6144
INLINE_POLICY_SIZE = {"user": 2048, "group": 5120, "role": 10240}
TRUST_POLICY_SIZE = 2048

_SPACE = re.compile(r"\s+")


def size(document: str) -> int:
    """Characters of ``document`` that count against IAM's quotas (whitespace left out)."""
    return len(_SPACE.sub("", document))


def checked(document: str, kind: PolicyKind = "identity") -> str:
    """``document`` when it parses as a policy of ``kind``; MalformedPolicyDocument otherwise."""
    try:
        parse_policy(document, kind=kind)
    except _Malformed as exc:
        raise e.MalformedPolicyDocumentException(exc.message) from None
    except (ValueError, TypeError, RecursionError):
        raise e.MalformedPolicyDocumentException("Syntax errors in policy.") from None
    return document


def check_managed_size(document: str) -> None:
    if size(document) > MANAGED_POLICY_SIZE:
        raise e.LimitExceededException(f"Cannot exceed quota for PolicySize: {MANAGED_POLICY_SIZE}")


def check_inline_size(kind: str, name: str, documents: Any) -> None:
    """LimitExceeded when the inline ``documents`` of principal ``name`` together exceed its quota."""
    limit = INLINE_POLICY_SIZE[kind]
    if sum(size(d) for d in documents) > limit:
        raise e.LimitExceededException(f"Maximum policy size of {limit} bytes exceeded for {kind} {name}")


def check_trust_size(document: str) -> None:
    if size(document) > TRUST_POLICY_SIZE:
        raise e.LimitExceededException(f"Cannot exceed quota for ACLSizePerRole: {TRUST_POLICY_SIZE}")
