"""Downloads of the current event history result, every page, streamed.

The download pages through LookupEvents (50 events a call) with the view's filter and resolved
time range, and writes each page as it arrives: memory stays flat whatever the result's size.

- CSV: a header row of every column of :data:`.history.COLUMNS` (whatever columns the page
  shows), then one row per event, newest first; times as eventTime text
  (``2024-05-01T10:00:00Z``); several resources joined with ", ". A cell that starts with ``=``,
  ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'`` (:func:`spreadsheet_safe`) so
  spreadsheets show it as text instead of running it as a formula (OWASP "CSV Injection").
- JSON: ``{"Records": [<CloudTrailEvent>, ...]}`` -- the records themselves, newest first, in the
  log file layout ``opentrail import`` reads back. (The shape of the CloudTrail console's own JSON
  download is unconfirmed.)
"""

from __future__ import annotations

import csv
import io
from typing import Any, Callable, Iterator

from .history import COLUMNS, HistoryQuery, row

#: LookupEvents calls a download makes per page of the result.
PAGE = 50

#: (operation params) -> response; the first call of a download is the recorded one.
Lookup = Callable[[dict[str, Any], bool], dict[str, Any]]


def events(query: HistoryQuery, lookup: Lookup) -> Iterator[dict[str, Any]]:
    """Every event of ``query``'s result, newest first (LookupEvents ``Event`` objects)."""
    token: str | None = None
    first = True
    while True:
        params = query.lookup_params(max_results=PAGE, token=token or "")
        response = lookup(params, first)
        first = False
        yield from response.get("Events", [])
        token = response.get("NextToken")
        if not token:
            return


#: First characters that make a spreadsheet read a cell as a formula (OWASP "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: str) -> str:
    """``value`` with a ``'`` in front when it starts with one of :data:`FORMULA_STARTS`; the csv
    module then quotes it as any other cell."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def csv_chunks(query: HistoryQuery, lookup: Lookup) -> Iterator[str]:
    """The CSV file in pieces (header first)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS.values())
    count = 0
    for event in events(query, lookup):
        values = row(event)
        writer.writerow([spreadsheet_safe(str(values[c])) for c in COLUMNS])
        count += 1
        if count % PAGE == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def json_chunks(query: HistoryQuery, lookup: Lookup) -> Iterator[str]:
    """``{"Records":[...]}`` in pieces; each record is CloudTrailEvent unchanged."""
    yield '{"Records":['
    separator = ""
    for event in events(query, lookup):
        yield separator + event["CloudTrailEvent"]
        separator = ","
    yield "]}\n"
