"""One delivery attempt of a batch of encoded records, and the retry policy around it.

:func:`deliver_batch` posts ``{"Records": [...]}`` through :class:`IngestClient` and sorts the
outcome:

- Retry later (:class:`RetryLater`): the server cannot be reached, times out, answers 5xx, 429,
  or refuses the *caller* (authentication/authorization: ``UnrecognizedClientException``,
  ``InvalidSignatureException``, ``AccessDeniedException``, ... -- a configuration error an operator
  fixes; the events wait for it), or answers anything but 400/413.
- 413 ``RequestEntityTooLargeException`` or another 400 error for the whole batch: the batch is
  split in halves and each half sent again, down to single records; a single record the server
  still refuses is reported as rejected (never retried).
- 200: the server's counts; records it rejected (``rejected: [{index, code, reason}]``) are
  reported, never retried.

A retried batch is safe: every record carries an eventID and the server deduplicates on it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Callable

import urllib3

from .ingest import IngestClient, IngestError

#: Whole-batch error codes that name the caller, not the records: wait and retry.
CALLER_ERROR_CODES = frozenset({
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "IncompleteSignatureException",
    "MissingAuthenticationTokenException",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "ExpiredTokenException",
    "ThrottlingException",
})


class RetryLater(Exception):
    """The batch was not delivered and must be sent again later (the message says why)."""


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record the server refused: its eventID (when readable), the server's ``code`` and ``reason``."""

    event_id: str | None
    code: str
    reason: str


@dataclass(slots=True)
class Outcome:
    """Counts for a delivered batch (sums of the server's answers when it was split)."""

    accepted: int = 0
    duplicates: int = 0
    expired: int = 0
    rejected: list[Rejected] = field(default_factory=list)

    def add(self, other: "Outcome") -> None:
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.expired += other.expired
        self.rejected.extend(other.rejected)


def _event_id(record: bytes) -> str | None:
    import orjson

    try:
        value = orjson.loads(record).get("eventID")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def is_retryable(error: IngestError) -> bool:
    """True unless the server refused the batch's content (400 about the records, or 413)."""
    if error.status == 413:
        return False
    if error.status == 400:
        return error.code in CALLER_ERROR_CODES
    return True


def deliver_batch(client: IngestClient, records: list[bytes], query: dict[str, str]) -> Outcome:
    """Send ``records`` (each a compact JSON object) and return the outcome; raises
    :class:`RetryLater` when the batch must be sent again (nothing in it is reported)."""
    body = b'{"Records":[' + b",".join(records) + b"]}"
    try:
        answer: dict[str, Any] = client.send_body(body, query)
    except IngestError as exc:
        if is_retryable(exc):
            raise RetryLater(str(exc)) from None
        if len(records) == 1:
            return Outcome(rejected=[Rejected(_event_id(records[0]), exc.code or f"HTTP{exc.status}", exc.message)])
        half = len(records) // 2
        out = deliver_batch(client, records[:half], query)
        out.add(deliver_batch(client, records[half:], query))
        return out
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise RetryLater(f"{type(exc).__name__}: {exc}") from None
    except ValueError as exc:  # a 200 whose body is not the ingest answer
        raise RetryLater(f"unreadable answer: {exc}") from None
    try:
        return Outcome(
            accepted=int(answer["accepted"]),
            duplicates=int(answer["duplicates"]),
            expired=int(answer["expired"]),
            rejected=[
                Rejected(_event_id(records[int(r["index"])]), str(r["code"]), str(r["reason"]))
                for r in answer["rejected"]
            ],
        )
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise RetryLater(f"unreadable answer: {answer!r:.200}") from exc


class Backoff:
    """Exponential backoff with jitter: the n-th consecutive failure waits a random time between
    half and all of ``min(max_s, base_s * 2**n)`` seconds. ``rand`` is injectable for tests."""

    def __init__(self, base_s: float = 0.1, max_s: float = 30.0, rand: Callable[[], float] = random.random) -> None:
        self.base_s = base_s
        self.max_s = max_s
        self.failures = 0
        self._rand = rand

    def next_delay(self) -> float:
        """Record one more failure; the seconds to wait before the next attempt."""
        cap = min(self.max_s, self.base_s * (2 ** min(self.failures, 30)))
        self.failures += 1
        return cap / 2 + self._rand() * cap / 2

    def reset(self) -> None:
        self.failures = 0
