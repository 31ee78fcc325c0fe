"""SNS notifications after each log file delivery, on their own thread so they never block delivery.

Message (AWS CloudTrail User Guide, "Configuring Amazon SNS notifications for CloudTrail"):
``{"s3Bucket": "<bucket>", "s3ObjectKey": ["<key>"]}`` published to the trail's topic. Each
attempt is reported with ``report(trail_arn, attempt_time, error)`` (``TrailService.record_notification``);
``error`` is the SNS error code (``NotFound``, ``AuthorizationError``...), or when the endpoint did
not answer :func:`opentrail.endpoints.unreachable_code`: ``RequestTimeout`` (no answer within
the read timeout) or ``ServiceUnavailable`` (unreachable). A failed notification is not retried
(as AWS). Timeouts and botocore retries: :mod:`opentrail.endpoints`.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Callable

import botocore.exceptions
import orjson

from ..endpoints import EndpointTimeouts, RegionalClients, unreachable_code

log = logging.getLogger(__name__)

Report = Callable[[str, float, "str | None"], None]


def notification_message(bucket: str, keys: list[str]) -> str:
    """The JSON message CloudTrail publishes for delivered ``keys``."""
    return orjson.dumps({"s3Bucket": bucket, "s3ObjectKey": keys}).decode()


class SnsNotifier:
    """Publishes notifications to SNS at ``endpoint_url`` ("" = AWS) with the AWS credential chain,
    waiting at most ``timeouts`` (seconds)."""

    def __init__(self, endpoint_url: str, report: Report, clock: Callable[[], float],
                 timeouts: EndpointTimeouts = EndpointTimeouts()) -> None:
        self._clients = RegionalClients("sns", endpoint_url, timeouts)
        self._report = report
        self._clock = clock
        self._queue: queue.Queue[tuple[str, str, str, list[str]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="opentrail-sns", daemon=True)
        self._thread.start()

    def notify(self, trail_arn: str, topic_arn: str, bucket: str, keys: list[str]) -> None:
        """Queue a notification for delivered ``keys`` (returns at once)."""
        self._queue.put((trail_arn, topic_arn, bucket, keys))

    def close(self) -> None:
        """Send what is queued, then stop."""
        self._queue.put(None)
        self._thread.join(timeout=30)
        self._clients.close()

    def publish(self, trail_arn: str, topic_arn: str, bucket: str, keys: list[str]) -> str | None:
        """Publish now; report and return the error code (None on success)."""
        error: str | None = None
        try:
            self._clients.get(topic_arn.split(":")[3]).publish(TopicArn=topic_arn, Message=notification_message(bucket, keys))
        except botocore.exceptions.ClientError as exc:
            error = str(exc.response.get("Error", {}).get("Code", "")) or "InternalError"
        except (botocore.exceptions.BotoCoreError, IndexError) as exc:
            log.warning("SNS notification for %s failed: %s", trail_arn, exc)
            error = unreachable_code(exc)
        self._report(trail_arn, self._clock(), error)
        return error

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            try:
                self.publish(*item)
            except Exception:  # a notification must never stop the thread
                log.exception("SNS notification failed")
