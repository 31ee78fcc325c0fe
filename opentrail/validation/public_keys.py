"""Public keys for digest signatures, from the CloudTrail API's ListPublicKeys.

Source: the AWS CLI's ``PublicKeyProvider`` and ``DigestTraverser._load_public_keys``: keys valid
between the start time and the end time plus two hours are loaded once, indexed by fingerprint;
an empty answer is fatal ("No public keys found between ..."). Backfill digests whose fingerprint
is not among them load the keys of their generation time +/- one hour. Unlike the AWS CLI this
follows ``NextToken`` (the API pages; the CLI reads the first page only).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from .errors import ValidationAbort
from .layout import format_display_date


class PublicKeySource(Protocol):
    def list_public_keys(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """ListPublicKeys entries ``{"Value": bytes, "ValidityStartTime", "ValidityEndTime",
        "Fingerprint": str}`` valid between ``start`` and ``end``."""
        ...


class CloudTrailPublicKeys:
    """ListPublicKeys through a boto3 ``cloudtrail`` client (pages followed)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def list_public_keys(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        keys: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"StartTime": start, "EndTime": end}
            if token:
                kwargs["NextToken"] = token
            answer = self._client.list_public_keys(**kwargs)
            keys.extend(answer.get("PublicKeyList", []))
            token = answer.get("NextToken")
            if not token:
                return keys


def load_public_keys(source: PublicKeySource, start: datetime, end: datetime) -> dict[str, dict[str, Any]]:
    """``{fingerprint: entry}``. Raises :class:`ValidationAbort` when there are none."""
    keys = {str(k["Fingerprint"]): k for k in source.list_public_keys(start, end)}
    if not keys:
        raise ValidationAbort(f"No public keys found between {format_display_date(start)} and {format_display_date(end)}")
    return keys
