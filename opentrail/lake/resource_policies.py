"""Resource-based policies of CloudTrail Lake resources: channels, event data stores, dashboards
(PutResourcePolicy, GetResourcePolicy, DeleteResourcePolicy), persisted in ``<data-dir>/lake.db``
(table ``resource_policies``: ARN -> policy text as given), held in memory too and reloaded when
another node changed them (:mod:`.fresh_rows`).

Rules copied from AWS (botocore model ``cloudtrail/2013-11-01``; User Guide "Resource-based policy
examples for CloudTrail"; ``../shared/reference/access.md`` §E3):

- ResourceArn names a channel, event data store or dashboard of the caller's account and Region:
  a CloudTrail ARN of another type (a trail) is ResourceTypeNotSupportedException; anything else
  that is not such an ARN (or one of another account) ResourceARNNotValidException; a well-formed
  ARN of a resource that does not exist ResourceNotFoundException.
- ResourcePolicy 1-8192 characters (the model), a resource-based policy
  (:func:`opentrail.access.policy_document.parse_policy` kind ``resource``: every statement has a
  Principal), 1-20 statements, 1-50 principals per statement; actions per resource type: a
  channel's only ``cloudtrail-data:PutAuditEvents`` and its Resource must be the channel; an event
  data store's the ``cloudtrail:`` actions authorized on event data stores; a dashboard's the
  ``cloudtrail:`` actions authorized on dashboards and ``cloudtrail:StartQuery``. Anything else is
  ResourcePolicyNotValidException.
- Get/DeleteResourcePolicy on a resource without one: ResourcePolicyNotFoundException.

:meth:`ResourcePolicies.policy_for` gives the compiled policy of an ARN, for the checks of
PutAuditEvents and cross-account queries.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Callable, ContextManager

from ..access import Policy, parse_policy
from ..staging import Staging
from ..state_db import open_state_db
from ..state_migrate import apply_schema
from ..trails import errors as TE
from . import errors as E
from .fresh_rows import FreshRows

MAX_STATEMENTS = 20
MAX_PRINCIPALS = 50
MAX_POLICY_CHARS = 8192
_CT_ARN = re.compile(r"arn:aws[a-z-]*:cloudtrail:([a-z0-9-]+):([0-9]{12}):([a-z]+)/(.+)")
_PRINCIPAL = re.compile(r"\*|[0-9]{12}|arn:aws[a-z-]*:(iam::[0-9]{12}:(root|user/.+|role/.+)|sts::[0-9]{12}:assumed-role/.+)")
SUPPORTED_TYPES = ("channel", "eventdatastore", "dashboard")


def _allowed_actions(resource_type: str) -> frozenset[str]:
    from ..api.operations import OPERATION_RESOURCES

    if resource_type == "channel":
        return frozenset({"cloudtrail-data:putauditevents"})
    ops = {op for op, t in OPERATION_RESOURCES.items() if resource_type in t.split("|")}
    if resource_type == "dashboard":
        ops.add("StartQuery")
    return frozenset(f"cloudtrail:{op}".lower() for op in ops)


def _strings(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _invalid(reason: str) -> E.ResourcePolicyNotValidException:
    return E.ResourcePolicyNotValidException(f"The resource-based policy is not valid: {reason}")


def validate_policy(text: str, arn: str, resource_type: str) -> Policy:
    """The compiled policy ``text`` for the resource ``arn`` of ``resource_type`` (module
    docstring); raises ResourcePolicyNotValidException."""
    if not 1 <= len(text) <= MAX_POLICY_CHARS:
        raise _invalid(f"a policy must have between 1 and {MAX_POLICY_CHARS} characters.")
    try:
        doc = json.loads(text)
    except ValueError:
        raise _invalid("the policy is not valid JSON.") from None
    try:
        policy = parse_policy(doc, "resource", arn)
    except Exception as exc:  # MalformedPolicyDocumentException
        raise _invalid(str(getattr(exc, "message", exc))) from None
    statements = _strings(doc.get("Statement"))
    if not 1 <= len(statements) <= MAX_STATEMENTS:
        raise _invalid(f"a policy must have between 1 and {MAX_STATEMENTS} statements.")
    allowed = _allowed_actions(resource_type)
    for st in statements:
        principal = st.get("Principal", st.get("NotPrincipal"))
        if isinstance(principal, str):
            values = [principal]
        elif isinstance(principal, dict):
            values = [v for k, vs in principal.items() for v in _strings(vs)]
            for k, vs in principal.items():
                if k == "Service" and any(v != "cloudtrail.amazonaws.com" for v in _strings(vs)):
                    raise _invalid(f"the principal {vs} is not valid.")
                if k not in ("AWS", "Service"):
                    raise _invalid(f"the principal type {k} is not supported.")
                if k == "AWS" and not all(isinstance(v, str) and _PRINCIPAL.fullmatch(v) for v in _strings(vs)):
                    raise _invalid(f"the principal {vs} is not valid.")
        else:
            values = []
        if not 1 <= len(values) <= MAX_PRINCIPALS:
            raise _invalid(f"a statement must have between 1 and {MAX_PRINCIPALS} principals.")
        if "NotAction" in st:
            raise _invalid("NotAction is not supported in CloudTrail resource-based policies.")
        for action in _strings(st.get("Action")):
            if not isinstance(action, str) or action.lower() not in allowed:
                raise _invalid(f"the action {action} is not supported for a {resource_type} resource.")
        if resource_type == "channel":
            if "NotResource" in st or any(r != arn for r in _strings(st.get("Resource"))):
                raise _invalid(f"the Resource of a channel's policy must be the channel ARN {arn}.")
    return policy


class ResourcePolicies:
    """Resource-based policies over ``<data_dir>/lake.db``. ``exists(type, account, region, arn)``
    says whether the resource exists (set by the server from the channel, event data store and
    dashboard services; None answers: dashboards not served)."""

    def __init__(self, data_dir: Path, exists: Callable[[str, str, str, str], bool], *,
                 recheck_s: float | None = None) -> None:
        from .service import LAKE_DB

        self._db = open_state_db(Path(data_dir) / LAKE_DB)
        apply_schema(self._db, "opentrail.lake", "resource_policies")
        self._texts: FreshRows[str, str] = FreshRows(
            self._db, lambda db: dict(db.execute("SELECT arn, policy FROM resource_policies")), recheck_s=recheck_s)
        #: hold for a read-check-write block (reloads what other nodes committed on entry)
        self.lock = self._texts.lock
        #: ARN -> (the policy text, compiled)
        self._compiled: dict[str, tuple[str, Policy]] = {}
        self._exists = exists
        self._staging = Staging(self.lock)

    def close(self) -> None:
        with self._texts.mutex:
            self._db.close()

    def staged_changes(self) -> ContextManager[Callable[[], None]]:
        return self._staging.changes()

    def _resource(self, account_id: str, region: str, arn: str) -> str:
        """The resource type of ``arn`` after the checks of the module docstring."""
        m = _CT_ARN.fullmatch(arn)
        if m is None:
            raise E.ResourceARNNotValidException()
        arn_region, account, rtype = m.group(1), m.group(2), m.group(3)
        if rtype not in SUPPORTED_TYPES:
            raise TE.ResourceTypeNotSupportedException.for_arn(arn)
        if account != account_id:
            raise E.ResourceARNNotValidException()
        if arn_region != region or not self._exists(rtype, account_id, region, arn):
            raise TE.ResourceNotFoundException.for_arn(arn)
        return rtype

    def put(self, account_id: str, region: str, arn: str, text: str) -> str:
        """PutResourcePolicy; returns the policy as stored."""
        with self.lock:
            rtype = self._resource(account_id, region, arn)
            policy = validate_policy(text, arn, rtype)

            def write() -> None:
                with self._texts.mutex:
                    self._db.execute("INSERT OR REPLACE INTO resource_policies (arn, policy) VALUES (?, ?)",
                                     (arn, text))
                    self._texts.put(arn, text)
                    self._compiled[arn] = (text, policy)

            self._staging.apply(write)
            return text

    def get(self, account_id: str, region: str, arn: str) -> str:
        """GetResourcePolicy; ResourcePolicyNotFoundException when there is none."""
        with self.lock:
            self._resource(account_id, region, arn)
            text = self._texts.rows().get(arn)
            if text is None:
                raise E.ResourcePolicyNotFoundException()
            return text

    def delete(self, account_id: str, region: str, arn: str) -> None:
        """DeleteResourcePolicy; ResourcePolicyNotFoundException when there is none."""
        with self.lock:
            self._resource(account_id, region, arn)
            if arn not in self._texts.rows():
                raise E.ResourcePolicyNotFoundException()
            self._staging.apply(lambda: self.forget(arn))

    def forget(self, arn: str) -> None:
        """Remove the policy of ``arn`` (its resource is gone), if any."""
        with self._texts.mutex:
            self._db.execute("DELETE FROM resource_policies WHERE arn = ?", (arn,))
            self._texts.pop(arn)
            self._compiled.pop(arn, None)

    def policy_for(self, arn: str) -> Policy | None:
        """The compiled policy of ``arn``, or None."""
        text = self._texts.rows().get(arn)
        if text is None:
            return None
        found = self._compiled.get(arn)
        if found is None or found[0] != text:  # new, or changed by another node
            found = self._compiled[arn] = (text, parse_policy(text, "resource", arn))
        return found[1]
