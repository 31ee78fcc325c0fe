"""Reading log events: GetLogEvents (one stream, both directions) and FilterLogEvents (a log group's
streams interleaved, a filter pattern), as the Logs API reference describes them.

A read stops at :data:`~.logs_model.MAX_PAGE_EVENTS` events or the ``limit``, or before the page
would pass :data:`~.logs_model.MAX_PAGE_BYTES` (messages' UTF-8 bytes plus 26 per event). It ends at
a :class:`~.logs_model.Cursor`: the (timestamp, id) key of the last event returned and the direction,
which the API layer turns into a token.

GetLogEvents: ``startTime`` inclusive, ``endTime`` exclusive; without a token, the newest events
unless ``startFromHead``; a page is always oldest first; the forward cursor is after the page's last
event, the backward cursor before its first. When a page is empty the cursors are the one given
(so a client reading forward sees the same token back at the end, as AWS documents), or, with no
token, the start of the stream.

FilterLogEvents: ``startTime`` and ``endTime`` both inclusive; events of every stream of the group
(or of ``logStreamNames`` / ``logStreamNamePrefix``) in (timestamp, ingestion order) order, oldest
first unless ``startFromHead`` is false (then ``startTime`` must not be before 2024-01-01, as AWS
requires). Events are read in blocks of :data:`BLOCK_EVENTS`; the pattern is tried only on those a
block-wide substring search leaves (:mod:`.logs_needles`). One call scans at most ``scan_budget``
events: a page may be partly full or empty while a next cursor still says more may follow, as on
AWS. Streams named in ``logStreamNames`` that do not exist are ignored.
"""

from __future__ import annotations

from typing import Iterator, Sequence

from .filter_pattern import InvalidFilterPattern, compile_pattern
from .logs_errors import InvalidParameter
from .logs_needles import candidates, needle_of
from .logs_model import EVENT_OVERHEAD_BYTES, MAX_PAGE_BYTES, MAX_PAGE_EVENTS, Cursor, LogGroup
from .logs_store import Row, SqliteLogsStore

#: FilterLogEvents with startFromHead false needs a startTime on or after this (2024-01-01, ms).
NEWEST_FIRST_SINCE_MS = 1_704_067_200_000
#: Events read and pre-selected together (:mod:`.logs_needles`).
BLOCK_EVENTS = 2000
#: Upper bound for "no end time" (exclusive), in ms.
NO_END = 2**62

def _key(row: Row) -> tuple[int, int]:
    return (row[2], row[0])


def _page(rows: Iterator[Row], limit: int) -> list[Row]:
    out: list[Row] = []
    size = 0
    for row in rows:
        bytes_ = len(row[4].encode("utf-8")) + EVENT_OVERHEAD_BYTES
        if out and size + bytes_ > MAX_PAGE_BYTES:
            break
        out.append(row)
        size += bytes_
        if len(out) >= limit:
            break
    return out


class LogsReads:
    """The read side over ``store``; ``scan_budget`` bounds the events one FilterLogEvents call
    reads."""

    def __init__(self, store: SqliteLogsStore, *, scan_budget: int = 500_000) -> None:
        self._store = store
        self.scan_budget = scan_budget

    def get_log_events(self, group: LogGroup, stream_id: int, *, start_ms: int | None = None,
                       end_ms: int | None = None, cursor: Cursor | None = None, limit: int | None = None,
                       start_from_head: bool = False) -> tuple[list[Row], Cursor, Cursor]:
        """A page of one stream and the (forward, backward) cursors (see the module docstring)."""
        limit = min(limit or MAX_PAGE_EVENTS, MAX_PAGE_EVENTS)
        start = start_ms if start_ms is not None else 0
        end = end_ms if end_ms is not None else NO_END
        forward = cursor.forward if cursor is not None else start_from_head
        after = None if cursor is None else cursor.key
        rows = _page(self._store.scan(stream_id=stream_id, start_ms=start, end_ms=end, after=after,
                                      descending=not forward), limit)
        if not forward:
            rows.reverse()
        if rows:
            return rows, Cursor(True, _key(rows[-1])), Cursor(False, _key(rows[0]))
        if cursor is None:
            origin = (0, 0)
            return rows, Cursor(True, origin), Cursor(False, origin)
        if cursor.forward:
            return rows, cursor, Cursor(False, (cursor.key[0], cursor.key[1] + 1))
        return rows, Cursor(True, (cursor.key[0], cursor.key[1] - 1)), cursor

    def filter_log_events(self, group: LogGroup, *, stream_names: Sequence[str] | None = None,
                          stream_prefix: str | None = None, start_ms: int | None = None, end_ms: int | None = None,
                          pattern: str | None = None, cursor: Cursor | None = None, limit: int | None = None,
                          start_from_head: bool = True) -> tuple[list[tuple[Row, str]], Cursor | None]:
        """Matching events with their stream names, and the cursor to continue from (None: the
        search is complete). Raises InvalidParameter for an invalid pattern (FilterLogEvents'
        wording), both stream selections, or newest-first before 2024. The text for both stream
        selections is opentrail's (AWS's is not known)."""
        if stream_names is not None and stream_prefix is not None:
            raise InvalidParameter("logStreamNames and logStreamNamePrefix are mutually exclusive parameters.")
        forward = cursor.forward if cursor is not None else start_from_head
        if cursor is None and not start_from_head and start_ms is not None and start_ms < NEWEST_FIRST_SINCE_MS:
            raise InvalidParameter("startFromHead false is supported only with a startTime on or after"
                                   " Jan 1, 2024 00:00:00 UTC.")
        try:
            compiled = compile_pattern(pattern or "")
        except InvalidFilterPattern as exc:
            raise InvalidParameter(exc.filter_log_events_message) from None
        names = self._store.stream_names(group.id)
        wanted: set[int] | None = None
        if stream_names is not None:
            named = set(stream_names)
            wanted = {i for i, n in names.items() if n in named}
        elif stream_prefix is not None:
            wanted = {i for i, n in names.items() if n.startswith(stream_prefix)}
        if wanted is not None and not wanted:
            return [], None
        limit = min(limit or MAX_PAGE_EVENTS, MAX_PAGE_EVENTS)
        start = start_ms if start_ms is not None else 0
        end = end_ms + 1 if end_ms is not None else NO_END
        after = cursor.key if cursor is not None else None
        block_size = max(1, min(BLOCK_EVENTS, self.scan_budget))
        if wanted is not None and len(wanted) == 1:
            blocks = self._store.scan_blocks(stream_id=next(iter(wanted)), start_ms=start, end_ms=end, after=after,
                                             descending=not forward, batch=block_size, raw=True)
            wanted = None
        else:
            blocks = self._store.scan_blocks(group_id=group.id, start_ms=start, end_ms=end, after=after,
                                             descending=not forward, batch=block_size, raw=True)
        needle = needle_of(compiled)
        match_all = compiled.kind == "all"
        matches = compiled.matches
        out: list[tuple[Row, str]] = []
        size = 0
        scanned = 0
        budget = self.scan_budget
        try:
            for block in blocks:
                chosen = range(len(block)) if match_all else candidates(needle, [r[4] for r in block])
                for i in chosen:
                    row = block[i]
                    if wanted is not None and row[1] not in wanted:
                        continue
                    message = row[4].decode("utf-8")
                    if match_all or matches(message):
                        bytes_ = len(row[4]) + EVENT_OVERHEAD_BYTES
                        if out and size + bytes_ > MAX_PAGE_BYTES:
                            return out, Cursor(forward, _key(out[-1][0]))
                        out.append(((row[0], row[1], row[2], row[3], message), names.get(row[1], "")))
                        size += bytes_
                        if len(out) >= limit:
                            return out, Cursor(forward, _key(row))
                scanned += len(block)
                if scanned >= budget:
                    return out, Cursor(forward, _key(block[-1]))
        finally:
            blocks.close()
        return out, None
