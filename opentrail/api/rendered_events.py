"""LookupEvents ``Event`` entries, rendered once and kept as JSON bytes.

Rendering an entry (parse the record, derive Username/Resources, escape the record into the
CloudTrailEvent string) costs more than reading it from the store, and event history is read
newest first: the same recent events are rendered again and again (a console refreshing, a poller,
paging). :class:`RenderedEvents` keeps the rendered bytes of the most recently answered events as
:class:`orjson.Fragment` values, which ``orjson.dumps`` copies into the response unchanged: the
response bytes are exactly those of rendering every entry anew.

An entry is a pure function of the stored event's ``record``, ``event_id`` and ``event_time``
(:func:`render_event`). The LRU is keyed by ``seq`` for locality, and a hit is only used when all
three inputs are equal to the cached ones, so nothing cached can outlive a purge or a reused
sequence number: a purged event is never returned by the store again, and a different event under
the same seq (another store, a seq given out again after a purge) does not match and replaces it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Sequence

import orjson

from ..events.lookup import lookup_fields
from ..store.base import StoredEvent

#: Entries kept (each holds the record and its rendering: ~2-5 KiB for typical records).
DEFAULT_CAPACITY = 4096
#: Records larger than this are rendered every time (they would crowd out many small ones).
MAX_CACHED_RECORD_BYTES = 16 * 1024


def render_event(stored: StoredEvent) -> dict[str, Any]:
    """One ``Event`` of the LookupEvents response (API model ``Event`` shape): EventId, EventName,
    ReadOnly, AccessKeyId, EventTime (epoch seconds), EventSource, Username, Resources,
    CloudTrailEvent; members without a value are left out, Resources is always a list (AWS sends
    ``[]``); CloudTrailEvent is the stored record bytes unchanged (decoded as UTF-8)."""
    record = orjson.loads(stored.record)
    fields = lookup_fields(record if isinstance(record, dict) else {}, event_id=stored.event_id)
    out: dict[str, Any] = {}
    for name, value in (
        ("EventId", fields.event_id),
        ("EventName", fields.event_name),
        ("ReadOnly", fields.read_only),
        ("AccessKeyId", fields.access_key_id),
        ("EventTime", stored.event_time),
        ("EventSource", fields.event_source),
        ("Username", fields.username),
    ):
        if value is not None:
            out[name] = value
    out["Resources"] = [{"ResourceType": t, "ResourceName": n} for t, n in fields.resources]
    out["CloudTrailEvent"] = stored.record.decode("utf-8")
    return out


class RenderedEvents:
    """A thread-safe LRU of rendered entries: ``render(events)`` returns one
    :class:`orjson.Fragment` per event, in order, equal to ``orjson.dumps(render_event(e))``.
    Raises what :func:`render_event` raises (``UnicodeDecodeError``, ``orjson.JSONDecodeError``
    for a record that is not JSON) -- nothing is cached then."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self._lock = threading.Lock()
        self._entries: OrderedDict[int, tuple[int, str, bytes, orjson.Fragment]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def render(self, events: Sequence[StoredEvent]) -> list[orjson.Fragment]:
        out: list[orjson.Fragment | None] = [None] * len(events)
        missing: list[int] = []
        with self._lock:
            entries = self._entries
            for i, e in enumerate(events):
                hit = entries.get(e.seq)
                if hit is not None and hit[0] == e.event_time and hit[1] == e.event_id and hit[2] == e.record:
                    entries.move_to_end(e.seq)
                    out[i] = hit[3]
                else:
                    missing.append(i)
            self.hits += len(events) - len(missing)
            self.misses += len(missing)
        if not missing:
            return out  # type: ignore[return-value]
        fresh = []
        for i in missing:
            e = events[i]
            out[i] = fragment = orjson.Fragment(orjson.dumps(render_event(e)))
            if len(e.record) <= MAX_CACHED_RECORD_BYTES:
                fresh.append((e.seq, (e.event_time, e.event_id, e.record, fragment)))
        if fresh and self.capacity > 0:
            with self._lock:
                entries = self._entries
                for seq, value in fresh:
                    entries[seq] = value
                    entries.move_to_end(seq)
                while len(entries) > self.capacity:
                    entries.popitem(last=False)
        return out  # type: ignore[return-value]
