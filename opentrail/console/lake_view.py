"""What the Lake page shows, from the API's answers (no I/O): store rows, the create form, sample
queries, the results table, the CSV of a query's rows, the recent queries list.

Values come from GetEventDataStore, ListQueries, DescribeQuery and GetQueryResults exactly as the
API answers them (Lake's column names and string values); times are shown as
``2024-05-01 10:00:00 UTC``.
"""

from __future__ import annotations

import csv
import io
from typing import Any, Iterable, Iterator, Mapping

from .export import spreadsheet_safe
from .history import time_text

#: Form defaults of a new event data store (AWS's defaults: retention 366 days under
#: EXTENDABLE_RETENTION_PRICING, multi-Region and termination protection on).
STORE_FORM_DEFAULTS = {"name": "", "retention": "366", "multi_region": "on", "termination_protection": "on"}

#: (title, statement) of the sample queries; ``$EDS`` stands for the chosen store's ID.
SAMPLE_QUERIES: tuple[tuple[str, str], ...] = (
    ("Events by name",
     "SELECT eventName, count(*) AS n FROM $EDS\nGROUP BY eventName\nORDER BY n DESC\nLIMIT 10"),
    ("Latest events",
     "SELECT eventTime, eventName, userIdentity.arn, sourceIPAddress FROM $EDS\nORDER BY eventTime DESC\nLIMIT 50"),
    ("Errors",
     "SELECT eventTime, eventName, errorCode, errorMessage FROM $EDS\nWHERE errorCode IS NOT NULL\n"
     "ORDER BY eventTime DESC\nLIMIT 50"),
    ("Calls per user",
     "SELECT userIdentity.arn, count(*) AS calls FROM $EDS\nGROUP BY userIdentity.arn\nORDER BY calls DESC\nLIMIT 20"),
)

#: Query statuses after which DescribeQuery no longer changes.
TERMINAL = frozenset({"FINISHED", "FAILED", "CANCELLED", "TIMED_OUT"})
#: Rows per page of the results table (GetQueryResults MaxQueryResults).
RESULTS_PAGE = 50
#: Rows per GetQueryResults call of a CSV download (the model's maximum).
DOWNLOAD_PAGE = 1000
#: Recent queries shown (newest first, over every store of the Region).
RECENT_QUERIES = 20


class StoreFormError(ValueError):
    """The create form cannot become a CreateEventDataStore request (message for the page)."""


def sample_statement(index: int, store_id: str) -> str:
    """Sample query ``index`` over store ``store_id`` ("" when there is no such sample)."""
    if not 0 <= index < len(SAMPLE_QUERIES):
        return ""
    return SAMPLE_QUERIES[index][1].replace("$EDS", store_id)


def create_request(form: Mapping[str, str]) -> dict[str, Any]:
    """The CreateEventDataStore request of the create form: Name, RetentionPeriod (whole days),
    MultiRegionEnabled and TerminationProtectionEnabled (unticked boxes are false). Raises
    :class:`StoreFormError` when the retention is not a whole number; its range is the API's to
    check."""
    retention = form.get("retention", "").strip()
    try:
        days = int(retention)
    except ValueError:
        raise StoreFormError(f"Retention period must be a whole number of days, not {retention!r}.") from None
    return {"Name": form.get("name", "").strip(), "RetentionPeriod": days,
            "MultiRegionEnabled": bool(form.get("multi_region")),
            "TerminationProtectionEnabled": bool(form.get("termination_protection"))}


def store_row(eds: Mapping[str, Any]) -> dict[str, Any]:
    """One row of the stores table from GetEventDataStore's answer (CreatedTimestamp in epoch
    seconds)."""
    arn = str(eds.get("EventDataStoreArn", ""))
    return {
        "name": eds.get("Name", ""),
        "id": arn.rsplit("/", 1)[-1],
        "arn": arn,
        "status": eds.get("Status", ""),
        "retention": eds.get("RetentionPeriod", ""),
        "multi_region": bool(eds.get("MultiRegionEnabled")),
        "termination_protection": bool(eds.get("TerminationProtectionEnabled")),
        "created": time_text(eds.get("CreatedTimestamp")),
    }


def result_table(rows: list[list[Mapping[str, str]]]) -> tuple[list[str], list[list[str]]]:
    """``QueryResultRows`` (``[[{"eventName": "PutObject"}, {"n": "96"}], ...]``) as the column
    names (those of the first row, as Lake names them) and the rows' values in that order."""
    if not rows:
        return [], []
    columns = [next(iter(cell)) for cell in rows[0]]
    return columns, [[next(iter(cell.values())) for cell in r] for r in rows]


def csv_chunks(pages: Iterable[list[list[Mapping[str, str]]]]) -> Iterator[str]:
    """The CSV of every page of ``QueryResultRows``: a header of the column names, then one line
    per row; cells starting with a formula character get a leading ``'``
    (:func:`.export.spreadsheet_safe`). No rows: an empty file (the API names no columns then)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    header = False
    for page in pages:
        columns, values = result_table(page)
        if not header and columns:
            writer.writerow([spreadsheet_safe(c) for c in columns])
            header = True
        for row in values:
            writer.writerow([spreadsheet_safe(v) for v in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def recent_queries(per_store: Iterable[tuple[Mapping[str, Any], list[Mapping[str, Any]]]]) -> list[dict[str, Any]]:
    """The newest :data:`RECENT_QUERIES` queries of ListQueries' answers, one list per store row
    (``(store_row, Queries)``), newest first."""
    out = [{"id": q["QueryId"], "status": q.get("QueryStatus", ""), "created_s": q.get("CreationTime") or 0,
            "created": time_text(q.get("CreationTime")), "store": store["name"], "store_id": store["id"]}
           for store, queries in per_store for q in queries]
    out.sort(key=lambda q: (-float(q["created_s"]), q["id"]))
    return out[:RECENT_QUERIES]
