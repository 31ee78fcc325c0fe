"""Access control, the pure part: IAM policy documents (parse + validate) and policy evaluation as
AWS documents it. No I/O: the API layer builds a :class:`Request`, looks up the principal's
:class:`CompiledPolicySet` (cached per principal) and calls :func:`evaluate`; a denial becomes
:class:`AccessDeniedException` with :func:`denial_message`. See docs/access-control.md."""

from __future__ import annotations

from .context import Principal, Request, RequestContext
from .evaluation import (
    BOUNDARY,
    IDENTITY,
    RCP,
    RESOURCE,
    SCP,
    SESSION,
    AccessDeniedException,
    CompiledPolicySet,
    Decision,
    PolicySet,
    denial_message,
    evaluate,
)
from .policy_document import MalformedPolicyDocumentException, Policy, Statement, parse_policy

__all__ = [
    "AccessDeniedException", "BOUNDARY", "CompiledPolicySet", "Decision", "IDENTITY",
    "MalformedPolicyDocumentException", "Policy", "PolicySet", "Principal", "RCP", "RESOURCE",
    "Request", "RequestContext", "SCP", "SESSION", "Statement", "denial_message", "evaluate",
    "parse_policy",
]
