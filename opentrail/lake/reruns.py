"""Re-running an operation whose write found its resource changed by another node meanwhile.

A change of an event data store or a channel is written in a transaction that first checks the
row is still the one the operation read (several nodes on one database, issue 17); when another
node changed it since, the write raises :class:`.errors.ConflictException` and writes nothing.
Where the operation's botocore model lists ConflictException (UpdateEventDataStore, AddTags,
DeleteEventDataStore, Start/StopEventDataStoreIngestion, PutInsightSelectors, ...) that is the
answer. Where it does not (RestoreEventDataStore, UpdateChannel, EnableFederation,
DisableFederation) AWS answers as if the calls had run one after the other: the operation is run
again against the fresh row (its checks included, so e.g. a store another node restored meanwhile
answers InvalidEventDataStoreStatusException), at most :data:`RERUNS` times in a row; only when
the row keeps changing under every re-run is ConflictException raised.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from . import errors as E

#: Re-runs of one operation after conflicts, in a row, before ConflictException is answered.
RERUNS = 3
_depth = threading.local()


def write_or_rerun(write: Callable[[], None], rerun: Callable[[], Any] | None) -> Any:
    """Run ``write``; returns None. When it raises ConflictException and ``rerun`` is given (the
    whole operation again, as the caller called it: its checks read the rows the failed write
    transaction reloaded), returns what ``rerun`` returns or raises what it raises; a re-run
    nested :data:`RERUNS` deep lets ConflictException through."""
    try:
        write()
    except E.ConflictException:
        depth = getattr(_depth, "n", 0)
        if rerun is None or depth >= RERUNS:
            raise
        _depth.n = depth + 1
        try:
            return rerun()
        finally:
            _depth.n = depth
    return None


__all__ = ["RERUNS", "write_or_rerun"]
