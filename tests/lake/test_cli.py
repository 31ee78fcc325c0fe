"""The stock AWS CLI against ``opentrail serve`` (a real process): create, get, list, update, stop and
delete an event data store; the stores survive a restart of the server (``<data-dir>/lake.db``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.test_e2e_cli import Server, aws, aws_env


def test_aws_cli_event_data_store_lifecycle_and_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    srv = Server(data, None, "--event-history-retention-days", "0")
    try:
        env = aws_env(srv, tmp_path)
        created = aws(env, "create-event-data-store", "--name", "sec", "--retention-period", "365")
        arn = created["EventDataStoreArn"]
        assert (created["Name"], created["Status"], created["RetentionPeriod"], created["MultiRegionEnabled"],
                created["TerminationProtectionEnabled"]) == ("sec", "CREATED", 365, True, True)
        assert created["AdvancedEventSelectors"] == [{"Name": "Default management events", "FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Management"]}]}]
        eds_id = arn.rsplit("/", 1)[1]
        got = aws(env, "get-event-data-store", "--event-data-store", eds_id)
        assert (got["EventDataStoreArn"], got["Status"], got["FederationStatus"]) == (arn, "ENABLED", "DISABLED")
        assert got["CreatedTimestamp"] == created["CreatedTimestamp"]
        assert aws(env, "list-event-data-stores") == {"EventDataStores": [{"EventDataStoreArn": arn, "Name": "sec"}]}
        aws(env, "update-event-data-store", "--event-data-store", arn, "--no-termination-protection-enabled")
        aws(env, "stop-event-data-store-ingestion", "--event-data-store", arn)
    finally:
        srv.stop()
    srv = Server(data, None, "--event-history-retention-days", "0")
    try:
        env = aws_env(srv, tmp_path)
        got = aws(env, "get-event-data-store", "--event-data-store", arn)
        assert (got["Status"], got["TerminationProtectionEnabled"]) == ("STOPPED_INGESTION", False)
        aws(env, "delete-event-data-store", "--event-data-store", arn)
        assert aws(env, "get-event-data-store", "--event-data-store", arn)["Status"] == "PENDING_DELETION"
        missing = subprocess.run([sys.executable, "-m", "awscli", "cloudtrail", "get-event-data-store",
                                  "--event-data-store", "0233062b-51c6-4d18-8dec-a8c90da840d9"],
                                 env=env, capture_output=True, text=True, timeout=120)
        assert missing.returncode == 255
        assert "(EventDataStoreNotFoundException) when calling the GetEventDataStore operation: " \
               "The event data store was not found." in missing.stderr
    finally:
        srv.stop()
