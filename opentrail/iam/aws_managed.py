"""The AWS managed policies opentrail knows (``arn:aws:iam::aws:policy/<name>``), shipped as package
data in ``aws_policies/<name>.json``: ``{PolicyName, Path, Description, CreateDate, UpdateDate,
DefaultVersionId, Document}``, each written from its page of the AWS Managed Policy Reference
(docs.aws.amazon.com/aws-managed-policy/latest/reference/<name>.html) as seen on 2026-12-03. They
can be attached and read, never changed or deleted. Their ``PolicyId`` is derived from the name
(``ANPA`` + 17 characters of its SHA-256): AWS's real ids are not in the reference."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .store import ManagedPolicy

#: ARN prefix of AWS managed policies.
AWS_POLICY_PREFIX = "arn:aws:iam::aws:policy"


@lru_cache(maxsize=1)
def _all() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for entry in resources.files(__package__).joinpath("aws_policies").iterdir():
        if entry.name.endswith(".json"):
            data = json.loads(entry.read_text(encoding="utf-8"))
            out[f"{AWS_POLICY_PREFIX}{data['Path']}{data['PolicyName']}"] = data
    return out


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def policy(policy_arn: str) -> "ManagedPolicy | None":
    """The AWS managed policy ``policy_arn``, or None when opentrail does not ship it."""
    from .store import ManagedPolicy

    data = _all().get(policy_arn)
    if data is None:
        return None
    digest = hashlib.sha256(data["PolicyName"].encode()).hexdigest().upper()
    return ManagedPolicy(arn=policy_arn, id="ANPA" + digest[:17], account_id="aws", name=data["PolicyName"],
                         path=data["Path"], description=data["Description"], created=_epoch(data["CreateDate"]),
                         updated=_epoch(data["UpdateDate"]), default_version=data["DefaultVersionId"])


def document(policy_arn: str) -> str | None:
    """The default version's document (JSON text) of AWS managed policy ``policy_arn``, or None."""
    data = _all().get(policy_arn)
    return None if data is None else json.dumps(data["Document"], indent=4)


def arns() -> list[str]:
    """Every AWS managed policy ARN shipped, by name."""
    return sorted(_all(), key=lambda a: a.rsplit("/", 1)[1].lower())
