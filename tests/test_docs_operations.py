"""docs/operations.md is exactly what ``python3 -m opentrail.api.coverage`` prints."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from opentrail.api.coverage import operation_rows, render

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "operations.md"


def test_committed_page_matches_the_generator() -> None:
    expected = render()
    assert PAGE.read_text(encoding="utf-8") == expected, (
        "docs/operations.md is stale: run `python3 -m opentrail.api.coverage > docs/operations.md`"
    )


def test_module_entry_point_prints_the_page() -> None:
    out = subprocess.run([sys.executable, "-m", "opentrail.api.coverage"], cwd=ROOT, capture_output=True,
                         check=True).stdout.decode("utf-8")
    assert out == render()


def test_rows_cover_the_model_and_mark_lookup_events() -> None:
    rows = {r.name: r for r in operation_rows()}
    assert len(rows) == 60
    lookup = rows["LookupEvents"]
    assert (lookup.implemented, lookup.read_only) == (True, True)
    assert lookup.errors == (
        "InvalidEventCategoryException", "InvalidLookupAttributesException", "InvalidMaxResultsException",
        "InvalidNextTokenException", "InvalidTimeRangeException", "OperationNotPermittedException",
        "UnsupportedOperationException",
    )
    assert (rows["CreateTrail"].read_only, rows["GetTrail"].read_only) == (False, True)
    table_lines = [line for line in render().splitlines() if line.startswith("| `")]
    assert len(table_lines) == 60
    assert "| `LookupEvents` | implemented | yes | 7 |" in table_lines
