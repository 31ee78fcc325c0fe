"""IAM identifiers and ARNs (IAM User Guide, "IAM identifiers"): unique ids are a four-letter prefix
(``AIDA`` user, ``AGPA`` group, ``AROA`` role, ``ANPA`` managed policy) and 17 random uppercase
letters and digits; ARNs are ``arn:aws:iam::<account>:<kind><path><name>`` (path ``/`` or
``/a/b/``)."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_uppercase + string.digits

#: Entity kind -> unique id prefix.
ID_PREFIXES = {"user": "AIDA", "group": "AGPA", "role": "AROA", "policy": "ANPA"}

#: The account part of AWS managed policy ARNs (``arn:aws:iam::aws:policy/...``).
AWS_ACCOUNT = "aws"


def new_id(kind: str) -> str:
    """A new unique id of an entity of ``kind`` (``user``, ``group``, ``role``, ``policy``): 21 characters."""
    return ID_PREFIXES[kind] + "".join(secrets.choice(_ALPHABET) for _ in range(17))


def arn(account_id: str, kind: str, path: str, name: str) -> str:
    """``arn:aws:iam::<account_id>:<kind><path><name>``."""
    return f"arn:aws:iam::{account_id}:{kind}{path}{name}"


def split_policy_arn(policy_arn: str) -> tuple[str, str, str] | None:
    """(account, path, name) of a managed policy ARN ``arn:aws:iam::<account>:policy<path><name>``
    (account ``aws`` for AWS managed policies), or None when it is not one."""
    parts = policy_arn.split(":", 5)
    if len(parts) != 6 or parts[:3] != ["arn", "aws", "iam"] or parts[3] != "" or not parts[5].startswith("policy/"):
        return None
    rest = parts[5][len("policy"):]
    path, _, name = rest.rpartition("/")
    if not name:
        return None
    return parts[4], path + "/", name
