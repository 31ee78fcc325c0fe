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

import threading
from dataclasses import dataclass
from typing import Any

import boto3
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


class RegionalClients:
    """boto3 clients of ``service`` at ``endpoint_url`` ("" = AWS), one per Region, built on first
    use with :func:`client_config` (the AWS credential chain); thread-safe. :meth:`close` closes
    them all."""

    def __init__(self, service: str, endpoint_url: str, timeouts: EndpointTimeouts = EndpointTimeouts()) -> None:
        self._service, self._endpoint_url, self._timeouts = service, endpoint_url or None, timeouts
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def get(self, region: str) -> Any:
        """The client for ``region``."""
        with self._lock:
            if region not in self._clients:
                self._clients[region] = boto3.session.Session().client(
                    self._service, endpoint_url=self._endpoint_url, region_name=region,
                    config=client_config(self._timeouts))
            return self._clients[region]

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()
