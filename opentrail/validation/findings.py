"""What a validation run finds, in the order it is printed (see :mod:`.report`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from .digests import Digest


@dataclass(frozen=True, slots=True)
class DigestValid:
    digest: Digest
    backfill: bool = False


@dataclass(frozen=True, slots=True)
class DigestInvalid:
    """One invalid digest file (or ``count`` of them); ``message`` is the status line without the
    ``(backfill) `` marker."""

    message: str
    backfill: bool = False
    count: int = 1


@dataclass(frozen=True, slots=True)
class ChainGap:
    """The chain starts again after a time without digests (logging or validation was off)."""

    message: str
    backfill: bool = False


@dataclass(frozen=True, slots=True)
class LogToCheck:
    """A ``logFiles`` entry of a valid digest; its result comes from :mod:`.loghash`."""

    log: dict[str, Any]


@dataclass(frozen=True, slots=True)
class LogAdded:
    """A log file in a period the chain covers that no digest file lists."""

    bucket: str
    key: str


Finding = Union[DigestValid, DigestInvalid, ChainGap, LogToCheck, LogAdded]
