"""How opentrail talks to the S3 and SNS endpoints it delivers to: timeouts, retries, failure codes.

Trail delivery, digests, SNS notifications and the SNS topic check of CreateTrail/UpdateTrail all
reach their endpoint through a boto3 client built with :func:`client_config`:

- ``connect_timeout`` / ``read_timeout`` from the settings ``destination_connect_timeout_s``
  (default 5 s) and ``destination_read_timeout_s`` (default 30 s), so a destination that accepts
  connections but never answers fails the request after the read timeout instead of holding a
  worker forever (an upload also waits up to 1 s for ``100 Continue`` first: botocore's
  ``Expect: 100-continue`` on PutObject);
- :data:`MAX_ATTEMPTS` attempts per call in total (botocore's ``total_max_attempts``, ``standard``
  retry mode: timeouts, connection errors, throttling and 5xx are retried once), so a hanging
  upload gives up after about 2 x (1 + read timeout) seconds; the callers' own retry loops
  (delivery and digests back off 1, 2, 4 ... 30 s) do the rest.

A request that could not get an answer is reported (LatestDeliveryError, LatestDigestDeliveryError,
LatestNotificationError) with the code :func:`unreachable_code` gives: ``RequestTimeout`` when the
endpoint took the connection but did not answer in time (S3's error code for a timed-out request;
the capture proxy answers an upstream timeout with the same code), ``ServiceUnavailable`` when it
could not be reached at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import botocore.exceptions
from botocore.config import Config

#: Attempts per call (the first one and one botocore retry).
MAX_ATTEMPTS = 2


@dataclass(frozen=True, slots=True)
class EndpointTimeouts:
    """Seconds to wait for a connection (``connect_s``) and for an answer on it (``read_s``)."""

    connect_s: float = 5.0
    read_s: float = 30.0


def client_config(timeouts: EndpointTimeouts, *, s3_path_style: bool = False) -> Config:
    """The botocore config of every delivery client (``s3_path_style`` for S3-compatible endpoints)."""
    return Config(
        retries={"total_max_attempts": MAX_ATTEMPTS, "mode": "standard"},
        connect_timeout=timeouts.connect_s,
        read_timeout=timeouts.read_s,
        s3={"addressing_style": "path"} if s3_path_style else None,
    )


def unreachable_code(exc: BaseException) -> str:
    """``RequestTimeout`` for a read timeout (connected, no answer in time), else
    ``ServiceUnavailable`` (connection refused or timed out, DNS, credentials, other client errors)."""
    if isinstance(exc, botocore.exceptions.ReadTimeoutError):
        return "RequestTimeout"
    return "ServiceUnavailable"
