"""Sending one delivery to its target: the outcome every sender answers, and the router that picks
the sender by the target's ARN.

Error codes are the ones EventBridge writes into a dead-letter message's ERROR_CODE (EventBridge
User Guide, "Using dead-letter queues to process undelivered events"): ``CONNECTION_FAILURE``,
``TIMEOUT``, ``THROTTLING``, ``ERROR_FROM_TARGET``, ``NO_RESOURCE``, ``NO_PERMISSIONS``,
``INVALID_PARAMETER``, ``SDK_CLIENT_ERROR``, ``INTERNAL_ERROR``.

Target ARNs (:func:`target_kind`): ``arn:<partition>:sqs:...`` (SQS queue),
``arn:<partition>:sns:...`` (SNS topic), ``arn:<partition>:events:<region>:<account>:api-destination/...``
(API destination), and opentrail's own ``arn:opentrail:file:::<absolute path>`` and
``arn:opentrail:command:::<program and arguments>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .bus_state import Delivery

SQS, SNS, API_DESTINATION, FILE, COMMAND = "sqs", "sns", "api-destination", "file", "command"
FILE_PREFIX = "arn:opentrail:file:::"
COMMAND_PREFIX = "arn:opentrail:command:::"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an attempt gave. ``ok``: the target took the event. Otherwise ``code`` / ``message``
    say why; ``retryable`` whether another attempt may succeed (``retry_after_s``: not before
    that many seconds; ``stop_retrying``: the target asked not to, a negative Retry-After);
    ``invoked`` False when the target was not called at all (missing, forbidden or unsupported)."""

    ok: bool
    code: str = ""
    message: str = ""
    retryable: bool = False
    invoked: bool = True
    retry_after_s: float | None = None
    stop_retrying: bool = False


DELIVERED = Outcome(True)


def failed(code: str, message: str, *, retryable: bool = False, invoked: bool = True,
           retry_after_s: float | None = None, stop_retrying: bool = False) -> Outcome:
    return Outcome(False, code, message, retryable, invoked, retry_after_s, stop_retrying)


class Sender(Protocol):
    def send(self, delivery: Delivery) -> Outcome: ...


def target_kind(arn: str) -> str | None:
    """:data:`SQS`, :data:`SNS`, :data:`API_DESTINATION`, :data:`FILE`, :data:`COMMAND` or None
    (a target opentrail cannot call)."""
    if arn.startswith(FILE_PREFIX):
        return FILE
    if arn.startswith(COMMAND_PREFIX):
        return COMMAND
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None
    if parts[2] == "sqs":
        return SQS
    if parts[2] == "sns":
        return SNS
    if parts[2] == "events" and parts[5].startswith("api-destination/"):
        return API_DESTINATION
    return None


class TargetRouter:
    """Sends a delivery with the sender of its target's kind; a kind without a sender is not
    invoked (``INVALID_PARAMETER``)."""

    def __init__(self, senders: dict[str, Sender]) -> None:
        self._senders = senders

    def send(self, delivery: Delivery) -> Outcome:
        kind = target_kind(delivery.target.arn)
        sender = self._senders.get(kind) if kind is not None else None
        if sender is None:
            return failed("INVALID_PARAMETER", f"opentrail cannot send events to {delivery.target.arn}", invoked=False)
        try:
            return sender.send(delivery)
        except Exception as exc:  # a sender bug must not stall the lane: retried, then given up
            return failed("INTERNAL_ERROR", f"{type(exc).__name__}: {exc}", retryable=True)
