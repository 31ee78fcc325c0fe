"""The stock AWS CLI against ``opentrail serve`` (a real process) over a store of real records:
create-dashboard with widgets and a schedule, start-dashboard-refresh, describe-query with
--query-alias/--refresh-id, get-query-results, search-sample-queries, an error; the dashboard and
its last refresh survive a restart (``<data-dir>/lake.db``)."""

from __future__ import annotations

import collections
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.lake.fakes import load_records, write_store
from tests.test_e2e_cli import Server, aws, aws_env


@pytest.mark.slow
def test_aws_cli_dashboard_refresh_results_and_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    records = load_records()
    srv = Server(data, None, "--event-history-retention-days", "0")
    try:
        env = aws_env(srv, tmp_path)
        eds_id = aws(env, "create-event-data-store", "--name", "rec")["EventDataStoreArn"].rsplit("/", 1)[1]
        write_store(data / "lake", eds_id, records, files=2)
        widget = {"QueryStatement": f"SELECT eventSource, count(*) AS n FROM {eds_id} WHERE eventTime >= '?' AND "
                                    "eventTime < '?' GROUP BY eventSource ORDER BY n DESC, eventSource LIMIT 3",
                  "QueryParameters": ["$StartTime$", "$EndTime$"],
                  "ViewProperties": {"Title": "Sources", "View": "BarChart"}}
        created = aws(env, "create-dashboard", "--name", "cli-dash", "--widgets", json.dumps([widget]),
                      "--refresh-schedule", "Frequency={Unit=DAYS,Value=1},Status=ENABLED,TimeOfDay=06:00",
                      "--tags-list", "Key=team,Value=sec")
        assert created["Widgets"][0]["QueryAlias"] == "dashboard.cli-dash.1"
        assert created["RefreshSchedule"] == {"Frequency": {"Unit": "DAYS", "Value": 1}, "Status": "ENABLED",
                                              "TimeOfDay": "06:00"}
        refresh_id = aws(env, "start-dashboard-refresh", "--dashboard-id", "cli-dash", "--query-parameter-values",
                         json.dumps({"$StartTime$": "2023-07-10T00:00:00Z", "$EndTime$": "2023-07-11T00:00:00Z"}))["RefreshId"]
        query_id = aws(env, "describe-query", "--query-alias", "dashboard.cli-dash.1",
                       "--refresh-id", refresh_id)["QueryId"]
        deadline = time.monotonic() + 30
        while aws(env, "describe-query", "--query-id", query_id)["QueryStatus"] in ("QUEUED", "RUNNING"):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        rows = aws(env, "get-query-results", "--query-id", query_id)["QueryResultRows"]
        counts = collections.Counter(r["eventSource"] for r in records)
        top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        assert rows == [[{"eventSource": s}, {"n": str(n)}] for s, n in top]
        found = aws(env, "search-sample-queries", "--search-phrase", "root user activity", "--max-results", "1")
        assert [r["Name"] for r in found["SearchResults"]] == ["Root user activity"]
        missing = subprocess.run([sys.executable, "-m", "awscli", "cloudtrail", "get-dashboard", "--dashboard-id",
                                  "nope"], env=env, capture_output=True, text=True, timeout=120)
        assert missing.returncode == 255
        assert "(ResourceNotFoundException) when calling the GetDashboard operation: Resource not found: dashboard " \
               "nope does not exist." in missing.stderr
    finally:
        srv.stop()
    srv = Server(data, None, "--event-history-retention-days", "0")
    try:
        env = aws_env(srv, tmp_path)
        got = aws(env, "get-dashboard", "--dashboard-id", "cli-dash")
        assert (got["LastRefreshId"], got["Status"], got["Widgets"][0]["QueryStatement"]) == (
            refresh_id, "CREATED", widget["QueryStatement"])
        listed = aws(env, "list-dashboards", "--type", "CUSTOM")["Dashboards"]
        assert listed == [{"DashboardArn": created["DashboardArn"], "Type": "CUSTOM"}]
        assert aws(env, "list-tags", "--resource-id-list", created["DashboardArn"])["ResourceTagList"] == [
            {"ResourceId": created["DashboardArn"], "TagsList": [{"Key": "team", "Value": "sec"}]}]
        aws(env, "delete-dashboard", "--dashboard-id", created["DashboardArn"])
    finally:
        srv.stop()
