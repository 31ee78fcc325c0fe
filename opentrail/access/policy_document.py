"""IAM policy documents: parse and validate JSON text into compiled :class:`Policy` objects.

Grammar: IAM User Guide, *IAM JSON policy elements reference* and *Grammar of the IAM JSON policy
language* `[UG-IAM reference_policies_elements.md, reference_policies_grammar.md]`:
``{"Version"?, "Id"?, "Statement": statement | [statement, ...]}``, statement =
``{"Sid"?, "Effect": "Allow"|"Deny", ("Principal"|"NotPrincipal")?, ("Action"|"NotAction"),
("Resource"|"NotResource")?, "Condition"?}``. Version ``2012-10-17`` enables policy variables;
``2008-10-17`` (also the default when Version is absent) treats ``${...}`` as text.

The ``kind`` of a policy decides which elements are required or refused:

=============  ==========================================  ===========================
kind           Principal / NotPrincipal                    Resource / NotResource
=============  ==========================================  ===========================
identity       refused                                     required
resource       required                                    required
trust          required                                    refused
scp, rcp       refused (scp) / only ``"*"`` (rcp)          required
=============  ==========================================  ===========================

(``identity`` also serves permissions boundaries and session policies.) Every refusal raises
:class:`MalformedPolicyDocumentException` with IAM's text; for ``scp``/``rcp`` every refusal is
Organizations' single text. Which texts were seen in real AWS responses and which are assumed is
listed in docs/access-control.md.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from ..domain_errors import DomainError
from .conditions import Condition, ConditionSyntaxError, parse_condition_block
from .patterns import ContextLookup, Pattern

__all__ = ["MalformedPolicyDocumentException", "Policy", "Statement", "PrincipalSpec", "parse_policy",
           "PolicyKind"]

PolicyKind = Literal["identity", "resource", "trust", "scp", "rcp"]

SYNTAX = "Syntax errors in policy."
NO_PRINCIPAL = "Policy document should not specify a principal."
NEEDS_PRINCIPAL = "Missing required field Principal"
NO_RESOURCE_FIELD = "Has prohibited field Resource"
NEEDS_ACTIONS = "Policy statement must contain actions."
NEEDS_RESOURCES = "Policy statement must contain resources."
ONE_COLON = "Actions/Condition can contain only one colon."
NEEDS_VENDOR = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
VENDOR_WILDCARD = "Action vendors (e.g., aws, ec2, etc.) must not contain wildcards"
SID_UNIQUE = "Statement IDs (SID) in a single policy must be unique."
SID_ALNUM = ("Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the "
             "regular expression [0-9A-Za-z]*")
ORGANIZATIONS = "The provided policy document does not meet the requirements of the specified policy type."

VERSIONS = ("2012-10-17", "2008-10-17")
_TOP = {"Version", "Id", "Statement"}
_STMT = {"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource",
         "NotResource", "Condition"}
_SID_RE = re.compile(r"^[0-9A-Za-z]*$")
_VENDOR_RE = re.compile(r"^[A-Za-z0-9-]+$")


class MalformedPolicyDocumentException(DomainError):
    """IAM's ``MalformedPolicyDocument``: the message says what is wrong."""

    default_message = SYNTAX


@dataclass(frozen=True, slots=True)
class PrincipalSpec:
    """A ``Principal`` element: ``everyone`` for ``"*"``/``{"AWS": "*"}``; ``aws`` the AWS values
    (account ids normalised to ``arn:aws:iam::<id>:root``); ``services``, ``federated``,
    ``canonical`` the other kinds, as written."""

    everyone: bool
    aws: frozenset[str]
    services: frozenset[str]
    federated: frozenset[str]
    canonical: frozenset[str]


@dataclass(frozen=True, slots=True)
class Statement:
    """One compiled statement; ``index`` is its 0-based position in the policy."""

    index: int
    sid: str | None
    effect: Literal["Allow", "Deny"]
    actions: tuple[Pattern, ...]
    not_action: bool
    resources: tuple[Pattern, ...] | None  # None: no Resource element (trust policies)
    not_resource: bool
    principal: PrincipalSpec | None
    not_principal: bool
    conditions: tuple[Condition, ...]

    def matches_action(self, action: str) -> bool:
        """``action`` (any case) is covered by Action, or not covered by NotAction."""
        for p in self.actions:
            if p.match(action):
                return not self.not_action
        return self.not_action

    def matches_resource(self, resource: str, ctx: ContextLookup) -> bool:
        """``resource`` (an ARN or ``*``) is covered by Resource, or not by NotResource."""
        if self.resources is None:
            return True
        for p in self.resources:
            if p.match(resource, ctx):
                return not self.not_resource
        return self.not_resource

    def conditions_hold(self, ctx: ContextLookup) -> bool:
        """Every condition is true (operators and keys are ANDed). Results are memoised in
        ``ctx.memo`` when the context has one (one request: the same condition, same answer)."""
        memo: dict[int, bool] | None = getattr(ctx, "memo", None)
        for c in self.conditions:
            if memo is None:
                if not c.fn(ctx):
                    return False
                continue
            hit = memo.get(c.cache_id)
            if hit is None:
                hit = memo[c.cache_id] = c.fn(ctx)
            if not hit:
                return False
        return True


@dataclass(frozen=True, slots=True)
class Policy:
    """A parsed policy. ``name`` labels it in decisions (a policy ARN or name, caller's choice)."""

    kind: str
    version: str
    id: str | None
    statements: tuple[Statement, ...]
    name: str | None = None


def _strings(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, str) for v in items):
        raise MalformedPolicyDocumentException(SYNTAX)
    return items


def _action(text: str) -> Pattern:
    if text != "*":
        if ":" not in text:
            raise MalformedPolicyDocumentException(NEEDS_VENDOR)
        if text.count(":") > 1:
            raise MalformedPolicyDocumentException(ONE_COLON)
        vendor = text.split(":", 1)[0]
        if "*" in vendor or "?" in vendor:
            raise MalformedPolicyDocumentException(VENDOR_WILDCARD)
        if not _VENDOR_RE.match(vendor):
            raise MalformedPolicyDocumentException(SYNTAX)
    return Pattern(text, "action", variables=False, ignore_case=True)


def _resource(text: str, variables: bool) -> Pattern:
    if text != "*" and not text.startswith("arn:"):
        raise MalformedPolicyDocumentException(f'Resource {text} must be in ARN format or "*".')
    return Pattern(text, "resource", variables=variables)


def _principal(value: Any, kind: str) -> PrincipalSpec:
    if value == "*":
        return PrincipalSpec(True, frozenset(), frozenset(), frozenset(), frozenset())
    if not isinstance(value, dict) or not value:
        raise MalformedPolicyDocumentException(SYNTAX)
    groups: dict[str, set[str]] = {"AWS": set(), "Service": set(), "Federated": set(), "CanonicalUser": set()}
    everyone = False
    for k, v in value.items():
        if k not in groups:
            raise MalformedPolicyDocumentException(SYNTAX)
        for item in _strings(v):
            if k == "AWS" and item == "*":
                everyone = True
            elif k == "AWS" and re.fullmatch(r"[0-9]{12}", item):
                groups[k].add(f"arn:aws:iam::{item}:root")
            else:
                groups[k].add(item)
    if kind == "rcp" and not (everyone and not any(groups.values())):
        raise MalformedPolicyDocumentException(ORGANIZATIONS)
    return PrincipalSpec(everyone, frozenset(groups["AWS"]), frozenset(groups["Service"]),
                         frozenset(groups["Federated"]), frozenset(groups["CanonicalUser"]))


def _statement(index: int, raw: Any, kind: str, variables: bool) -> Statement:
    if not isinstance(raw, dict) or not set(raw) <= _STMT:
        raise MalformedPolicyDocumentException(SYNTAX)
    sid = raw.get("Sid")
    if sid is not None and (not isinstance(sid, str) or (kind == "identity" and not _SID_RE.match(sid))):
        raise MalformedPolicyDocumentException(SID_ALNUM if isinstance(sid, str) else SYNTAX)
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise MalformedPolicyDocumentException(SYNTAX)
    has_p, has_np = "Principal" in raw, "NotPrincipal" in raw
    if has_p and has_np:
        raise MalformedPolicyDocumentException(SYNTAX)
    if (has_p or has_np) and kind in ("identity", "scp"):
        raise MalformedPolicyDocumentException(NO_PRINCIPAL)
    if not (has_p or has_np) and kind in ("resource", "trust"):
        raise MalformedPolicyDocumentException(NEEDS_PRINCIPAL)
    if has_np and (kind == "rcp" or effect == "Allow"):
        # NotPrincipal with Allow is not supported `[UG-IAM reference_policies_elements_notprincipal.md]`
        raise MalformedPolicyDocumentException(SYNTAX)
    principal = _principal(raw["Principal" if has_p else "NotPrincipal"], kind) if (has_p or has_np) else None
    if kind == "rcp" and principal is None:
        raise MalformedPolicyDocumentException(ORGANIZATIONS)
    has_a, has_na = "Action" in raw, "NotAction" in raw
    if has_a and has_na:
        raise MalformedPolicyDocumentException(SYNTAX)
    if not (has_a or has_na):
        raise MalformedPolicyDocumentException(NEEDS_ACTIONS)
    actions = tuple(_action(a) for a in _strings(raw["Action" if has_a else "NotAction"]))
    has_r, has_nr = "Resource" in raw, "NotResource" in raw
    if has_r and has_nr:
        raise MalformedPolicyDocumentException(SYNTAX)
    resources: tuple[Pattern, ...] | None = None
    if kind == "trust":
        if has_r or has_nr:
            raise MalformedPolicyDocumentException(NO_RESOURCE_FIELD)
    elif not (has_r or has_nr):
        raise MalformedPolicyDocumentException(NEEDS_RESOURCES)
    else:
        resources = tuple(_resource(r, variables) for r in _strings(raw["Resource" if has_r else "NotResource"]))
    conditions: tuple[Condition, ...] = ()
    if "Condition" in raw:
        try:
            conditions = parse_condition_block(raw["Condition"], variables)
        except ConditionSyntaxError:
            raise MalformedPolicyDocumentException(SYNTAX) from None
    return Statement(index, sid, effect, actions, has_na, resources, has_nr, principal, has_np, conditions)


def parse_policy(document: str | dict[str, Any], kind: PolicyKind = "identity", name: str | None = None) -> Policy:
    """Parse and validate ``document`` (JSON text or an already decoded object) as a policy of
    ``kind``. Returns the compiled :class:`Policy`. Raises MalformedPolicyDocumentException."""
    try:
        return _parse(document, kind, name)
    except MalformedPolicyDocumentException as e:
        if kind in ("scp", "rcp"):
            raise MalformedPolicyDocumentException(ORGANIZATIONS) from None
        raise e


def _parse(document: str | dict[str, Any], kind: str, name: str | None) -> Policy:
    if isinstance(document, str):
        try:
            doc = json.loads(document)
        except ValueError:
            raise MalformedPolicyDocumentException(SYNTAX) from None
    else:
        doc = document
    if not isinstance(doc, dict) or not set(doc) <= _TOP or "Statement" not in doc:
        raise MalformedPolicyDocumentException(SYNTAX)
    version = doc.get("Version", "2008-10-17")
    if version not in VERSIONS:
        raise MalformedPolicyDocumentException(SYNTAX)
    policy_id = doc.get("Id")
    if policy_id is not None and not isinstance(policy_id, str):
        raise MalformedPolicyDocumentException(SYNTAX)
    raw = doc["Statement"]
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise MalformedPolicyDocumentException(SYNTAX)
    variables = version == "2012-10-17"
    statements = tuple(_statement(i, s, kind, variables) for i, s in enumerate(items))
    sids = [s.sid for s in statements if s.sid]
    if len(sids) != len(set(sids)):
        raise MalformedPolicyDocumentException(SID_UNIQUE)
    return Policy(kind, version, policy_id, statements, name)
