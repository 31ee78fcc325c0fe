"""docs/operations.md agrees with ``python3 -m opentrail.api.coverage``.

The page lists the operations of the botocore models it was generated with; a newer botocore may
add operations, so the check is on the operations both know (and on what is implemented), not on
the exact bytes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from opentrail.api.coverage import operation_rows, render

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "operations.md"


def _rows(page: str) -> dict[tuple[str, str], tuple[str, ...]]:
    out = {}
    section = ""
    for line in page.splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
        elif line.startswith("| `"):
            name, *rest = (c.strip() for c in line.strip("|").split("|"))
            out[(section, name.strip("`"))] = tuple(rest)
    return out


def test_committed_page_matches_the_generator() -> None:
    committed, generated = _rows(PAGE.read_text(encoding="utf-8")), _rows(render())
    stale = "docs/operations.md is stale: run `python3 -m opentrail.api.coverage > docs/operations.md`"
    assert {n: r for n, r in committed.items() if n in generated} == {
        n: r for n, r in generated.items() if n in committed
    }, stale
    assert {n for n, r in committed.items() if r[0] == "implemented"} == {
        n for n, r in generated.items() if r[0] == "implemented"
    }, stale
    assert len([n for n in committed if n[0] == "CloudTrail"]) >= 60


def test_module_entry_point_prints_the_page() -> None:
    out = subprocess.run([sys.executable, "-m", "opentrail.api.coverage"], cwd=ROOT, capture_output=True,
                         check=True).stdout.decode("utf-8")
    assert out == render()


def test_rows_cover_the_models_and_mark_lookup_events() -> None:
    rows = {(r.service, r.name): r for r in operation_rows()}
    assert len([k for k in rows if k[0] == "cloudtrail"]) >= 60
    assert len([k for k in rows if k[0] == "logs"]) >= 118
    assert len([k for k in rows if k[0] == "monitoring"]) >= 59
    assert len([k for k in rows if k[0] == "events"]) >= 57
    lookup = rows[("cloudtrail", "LookupEvents")]
    assert (lookup.implemented, lookup.read_only, lookup.recorded, lookup.resource) == (True, True, "management", "*")
    assert rows[("logs", "PutLogEvents")].recorded == "no"
    assert rows[("monitoring", "PutMetricData")].recorded == "data"
    assert rows[("monitoring", "DescribeAlarms")].read_only is True
    assert (rows[("events", "PutEvents")].recorded, rows[("events", "PutEvents")].resource) == ("data", "event-bus")
    assert (rows[("events", "PutRule")].recorded, rows[("events", "PutRule")].resource) == ("management", "rule")
    assert rows[("events", "TestEventPattern")].read_only is True
