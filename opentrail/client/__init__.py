"""Clients for opentrail's own endpoints (the CloudTrail API itself is used through boto3).

- :class:`EventClient` -- the application SDK: batching, retries, back-pressure, disk spool.
- :func:`audit_event` -- a CloudTrail record for an action of your own application.
- :class:`opentrail.client.ingest.IngestClient` -- one signed ingest request (import, tools).
"""

from .audit import audit_event
from .events import EventClient
from .spool import SpoolLockedError

__all__ = ["EventClient", "SpoolLockedError", "audit_event"]
