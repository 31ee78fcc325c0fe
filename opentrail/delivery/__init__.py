"""Trail delivery: log files of every logging trail written to its bucket, exactly once.

- :class:`DeliveryWorker` (:mod:`.worker`): the consumer of the event log that batches, plans,
  uploads and retries.
- :class:`DeliveringTrailService` (:mod:`.marks`): the trail service that places StartLogging /
  StopLogging in the event log's order.
- :class:`DeliveryState` (:mod:`.state`): ``<data-dir>/delivery.db``.
- :class:`CloudWatchLogsWorker` (:mod:`.cloudwatch_logs`): each trail's events to its CloudWatch
  Logs log group, exactly once; :class:`CloudWatchLogsState` (:mod:`.cloudwatch_logs_state`):
  ``<data-dir>/cloudwatch-logs.db``.
- :mod:`.logfile` (keys and gzip bodies), :mod:`.routing` (which trails take an event),
  :class:`SnsNotifier` (:mod:`.notify`), :class:`SnsTopics` (:mod:`.topics`, the topic check of
  CreateTrail/UpdateTrail).

See docs/delivery.md.
"""

from __future__ import annotations

from .cloudwatch_logs import CloudWatchLogsWorker, log_stream_name
from .cloudwatch_logs_state import CLOUDWATCH_LOGS_DB, CloudWatchLogsState
from .logfile import log_file_body, log_file_key
from .marks import DeliveringTrailService, head_seq
from .notify import SnsNotifier, notification_message
from .state import DELIVERY_DB, DeliveryState
from .topics import SnsTopics
from .worker import DEFAULT_INTERVAL_S, DeliveryWorker

__all__ = [
    "CLOUDWATCH_LOGS_DB",
    "CloudWatchLogsState",
    "CloudWatchLogsWorker",
    "DEFAULT_INTERVAL_S",
    "DELIVERY_DB",
    "DeliveringTrailService",
    "DeliveryState",
    "DeliveryWorker",
    "SnsNotifier",
    "SnsTopics",
    "head_seq",
    "log_file_body",
    "log_file_key",
    "log_stream_name",
    "notification_message",
]
