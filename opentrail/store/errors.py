"""Errors raised by event store backends."""

from __future__ import annotations

from pathlib import Path


class StoreLockedError(RuntimeError):
    """Another process holds the event store's directory lock (``<directory>/LOCK``)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        super().__init__(f"event store {directory} is locked by another process")
