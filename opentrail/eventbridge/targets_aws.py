"""SQS queues and SNS topics as targets, and SQS dead-letter queues, through boto3 clients at
``--sqs-endpoint-url`` / ``--sns-endpoint-url`` (empty: AWS) with the AWS credential chain and
the timeouts and retries of :mod:`opentrail.endpoints` (as trail notifications reach SNS).

- SQS (``arn:aws:sqs:<region>:<account>:<name>``): the queue URL is asked once
  (GetQueueUrl with the owner account), then SendMessage with the input as the body; a FIFO queue
  (name ending ``.fifo``) gets the target's SqsParameters.MessageGroupId and a
  MessageDeduplicationId derived from the event, the rule and the target (a repeat after a crash
  is dropped by SQS within its 5-minute window).
- SNS (``arn:aws:sns:...``): Publish with the input as the message.
- Dead-letter queue: SendMessage of the event with the message attributes EventBridge documents
  ("Using dead-letter queues to process undelivered events"): RULE_ARN, TARGET_ARN, ERROR_CODE,
  ERROR_MESSAGE, EXHAUSTED_RETRY_CONDITION (when retries ran out) and RETRY_ATTEMPTS.

Errors (:func:`classify`): missing queue/topic -> NO_RESOURCE and access errors -> NO_PERMISSIONS
(not retried, as EventBridge sends those to the dead-letter queue at once); throttling, 5xx,
timeouts and unreachable endpoints are retried.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

import botocore.exceptions

from ..endpoints import EndpointTimeouts, RegionalClients
from .bus_state import Delivery
from .targets import DELIVERED, Outcome, failed

_MISSING = frozenset({"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", "NotFound",
                      "NotFoundException", "ResourceNotFoundException"})
_DENIED = frozenset({"AccessDenied", "AccessDeniedException", "AuthorizationError", "InvalidClientTokenId",
                     "UnrecognizedClientException", "SignatureDoesNotMatch", "KMSAccessDenied"})
_THROTTLED = frozenset({"Throttling", "ThrottlingException", "RequestThrottled", "TooManyRequestsException",
                        "KMSThrottling", "ThrottledException"})
_DEDUP_NAMESPACE = uuid.UUID("0f4c1c2e-8a57-4c38-b1f5-3e0c6d2a9b70")


def classify(exc: Exception) -> Outcome:
    """The outcome of a boto3 call that raised ``exc``."""
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        message = str(error.get("Message", "")) or code
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code in _MISSING:
            return failed("NO_RESOURCE", message)
        if code in _DENIED:
            return failed("NO_PERMISSIONS", message)
        if code in _THROTTLED or status == 429:
            return failed("THROTTLING", message, retryable=True)
        if status >= 500:
            return failed("SDK_CLIENT_ERROR", message, retryable=True)
        return failed("INVALID_PARAMETER", f"{code}: {message}")
    if isinstance(exc, (botocore.exceptions.ReadTimeoutError, botocore.exceptions.ConnectTimeoutError)):
        return failed("TIMEOUT", str(exc), retryable=True)
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return failed("NO_PERMISSIONS", str(exc))
    return failed("CONNECTION_FAILURE", str(exc), retryable=True)


def _arn_parts(arn: str) -> tuple[str, str, str]:
    """(region, account, name) of an SQS or SNS ARN; ValueError if it has not six parts."""
    parts = arn.split(":")
    if len(parts) != 6 or not parts[3] or not parts[5]:
        raise ValueError(f"{arn} is not a queue or topic ARN")
    return parts[3], parts[4], parts[5]


class SqsTargets:
    """Queues as targets and dead-letter queues."""

    def __init__(self, endpoint_url: str = "", timeouts: EndpointTimeouts = EndpointTimeouts()) -> None:
        self._clients = RegionalClients("sqs", endpoint_url, timeouts)
        self._urls: dict[str, str] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self._clients.close()

    def _queue_url(self, arn: str) -> tuple[Any, str]:
        region, account, name = _arn_parts(arn)
        client = self._clients.get(region)
        with self._lock:
            url = self._urls.get(arn)
        if url is None:
            url = str(client.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"])
            with self._lock:
                self._urls[arn] = url
        return client, url

    def _send(self, arn: str, **params: Any) -> Outcome:
        try:
            client, url = self._queue_url(arn)
            client.send_message(QueueUrl=url, **params)
        except ValueError as exc:
            return failed("INVALID_PARAMETER", str(exc), invoked=False)
        except Exception as exc:
            outcome = classify(exc)
            if outcome.code == "NO_RESOURCE":
                with self._lock:
                    self._urls.pop(arn, None)
            return outcome
        return DELIVERED

    def send(self, delivery: Delivery) -> Outcome:
        target = delivery.target
        params: dict[str, Any] = {"MessageBody": delivery.payload.decode("utf-8", "replace")}
        if target.arn.endswith(".fifo"):
            if not target.sqs_message_group_id:
                return failed("INVALID_PARAMETER", "a FIFO queue target needs SqsParameters.MessageGroupId",
                              invoked=False)
            params["MessageGroupId"] = target.sqs_message_group_id
            params["MessageDeduplicationId"] = str(uuid.uuid5(
                _DEDUP_NAMESPACE, f"{delivery.event_id}|{delivery.rule_arn}|{target.id}"))
        return self._send(target.arn, **params)

    def send_dead_letter(self, delivery: Delivery, code: str, message: str, exhausted: str | None,
                         attempts: int) -> Outcome:
        """Send the event of ``delivery`` to its target's dead-letter queue."""
        assert delivery.target.dead_letter_arn is not None
        attributes = {
            "RULE_ARN": {"DataType": "String", "StringValue": delivery.rule_arn},
            "TARGET_ARN": {"DataType": "String", "StringValue": delivery.target.arn},
            "ERROR_CODE": {"DataType": "String", "StringValue": code},
            "ERROR_MESSAGE": {"DataType": "String", "StringValue": (message or code)[:1024]},
            "RETRY_ATTEMPTS": {"DataType": "Number", "StringValue": str(max(attempts - 1, 0))},
        }
        if exhausted:
            attributes["EXHAUSTED_RETRY_CONDITION"] = {"DataType": "String", "StringValue": exhausted}
        return self._send(delivery.target.dead_letter_arn, MessageBody=delivery.event.decode("utf-8", "replace"),
                          MessageAttributes=attributes)


class SnsTargets:
    """Topics as targets."""

    def __init__(self, endpoint_url: str = "", timeouts: EndpointTimeouts = EndpointTimeouts()) -> None:
        self._clients = RegionalClients("sns", endpoint_url, timeouts)

    def close(self) -> None:
        self._clients.close()

    def send(self, delivery: Delivery) -> Outcome:
        try:
            region, _, _ = _arn_parts(delivery.target.arn)
            self._clients.get(region).publish(TopicArn=delivery.target.arn,
                                              Message=delivery.payload.decode("utf-8", "replace"))
        except ValueError as exc:
            return failed("INVALID_PARAMETER", str(exc), invoked=False)
        except Exception as exc:
            return classify(exc)
        return DELIVERED
