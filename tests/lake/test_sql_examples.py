"""AWS's documented Lake query examples (User Guide "CloudTrail Lake query examples" and the
aws-samples query samples, adapted to this dataset's values) over real records (invictus-ir), with
the expected rows computed by Python over the records, not by the code under test."""

from __future__ import annotations

import collections
import json
from typing import Any

import pytest

from tests.lake.conftest import Runner


def _time(record: dict[str, Any]) -> str:
    return record["eventTime"].replace("T", " ").replace("Z", "") + ".000"


def test_top_apis_by_source(run: Runner, records: list[dict[str, Any]]) -> None:
    # "Find the number of API calls grouped by event name and event source" (query-lake-examples)
    names, rows = run("SELECT eventSource, eventName, COUNT(*) AS apiCount FROM $EDS "
                      "GROUP BY eventSource, eventName ORDER BY apiCount DESC, eventName, eventSource LIMIT 10")
    counts = collections.Counter((r["eventSource"], r["eventName"]) for r in records)
    expected = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0][1], kv[0][0]))[:10]
    assert names == ("eventSource", "eventName", "apiCount")
    assert rows == [[s, n, str(c)] for (s, n), c in expected]


def test_struct_path_column_is_named_by_its_last_field(run: Runner, records: list[dict[str, Any]]) -> None:
    # "Find the identities that called an API most often"
    names, rows = run("SELECT userIdentity.arn, count(*) AS n FROM $EDS WHERE userIdentity.arn IS NOT NULL "
                      "GROUP BY userIdentity.arn ORDER BY n DESC, arn LIMIT 3")
    counts = collections.Counter(r["userIdentity"].get("arn") for r in records if r["userIdentity"].get("arn"))
    assert names == ("arn", "n")
    assert rows == [[a, str(c)] for a, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3]]


def test_selective_query_with_time_literal(run: Runner, records: list[dict[str, Any]]) -> None:
    # "Find all API calls of one name after a time" (eventTime compared with a string literal)
    names, rows = run("SELECT eventID, eventTime, awsRegion FROM $EDS WHERE eventName = 'GetUser' "
                      "AND eventTime > '2023-07-10 12:00:00' ORDER BY eventTime, eventID")
    picked = sorted((r for r in records if r["eventName"] == "GetUser" and r["eventTime"] > "2023-07-10T12:00:00Z"),
                    key=lambda r: (r["eventTime"], r["eventID"]))
    assert names == ("eventID", "eventTime", "awsRegion")
    assert rows == [[r["eventID"], _time(r), r["awsRegion"]] for r in picked]
    assert len(rows) > 10


def test_unnamed_expressions_are_col_n(run: Runner, records: list[dict[str, Any]]) -> None:
    names, rows = run("SELECT count(*), max(eventTime), eventName FROM $EDS WHERE eventName = 'Decrypt' GROUP BY eventName")
    picked = [r for r in records if r["eventName"] == "Decrypt"]
    assert names == ("_col0", "_col1", "eventName")
    assert rows == [[str(len(picked)), _time(max(picked, key=lambda r: r["eventTime"])), "Decrypt"]]


def test_element_at_request_parameters(run: Runner, records: list[dict[str, Any]]) -> None:
    # "Find the S3 buckets most accessed" (element_at on requestParameters)
    names, rows = run("SELECT element_at(requestParameters, 'bucketName') AS bucket, count(*) AS calls FROM $EDS "
                      "WHERE element_at(requestParameters, 'bucketName') IS NOT NULL "
                      "GROUP BY 1 ORDER BY calls DESC, bucket LIMIT 5")
    counts = collections.Counter((r.get("requestParameters") or {}).get("bucketName") for r in records)
    counts.pop(None, None)
    assert names == ("bucket", "calls")
    assert rows == [[b, str(c)] for b, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]]


def test_cast_of_json_extract_has_no_quotes(run: Runner, records: list[dict[str, Any]]) -> None:
    # The SSM samples: CAST(json_extract(eventjson, '$.x') AS varchar) is the bare string on Trino.
    names, rows = run("SELECT DISTINCT CAST(json_extract(eventJson, '$.userIdentity.type') AS varchar) AS t, "
                      "json_extract_scalar(eventJson, '$.userIdentity') AS obj FROM $EDS ORDER BY t")
    seen = {(r.get("userIdentity") or {}).get("type") for r in records}
    types = sorted(seen - {None}) + ([""] if None in seen else [])  # NULLs sort last, render ""
    assert names == ("t", "obj")
    assert rows == [[t, ""] for t in types]  # json_extract_scalar of an object is NULL on Trino
    assert "IAMUser" in types


def test_json_functions_missing_from_duckdb(run: Runner, records: list[dict[str, Any]]) -> None:
    names, rows = run("SELECT json_array_get('[\"a\", [3, 9], \"c\"]', 0), json_array_get('[1, 2, 3]', -1), "
                      "json_array_contains('[1, 2, 3]', 2), is_json_scalar('1'), is_json_scalar('[1]') FROM $EDS LIMIT 1")
    assert rows == [['"a"', "3", "true", "true", "false"]]


def test_array_and_map_functions(run: Runner, records: list[dict[str, Any]]) -> None:
    names, rows = run("SELECT slice(ARRAY[1, 2, 3, 4], 2, 2), array_distinct(ARRAY[3, 1, 3, 2, 1]), "
                      "cardinality(MAP(ARRAY['a', 'b'], ARRAY[1, 2])), cardinality(ARRAY[1, 2, 3]), "
                      "any_match(ARRAY[1, 5], x -> x > 4), all_match(ARRAY[1, 5], x -> x > 4), "
                      "none_match(ARRAY[1, 5], x -> x > 9) FROM $EDS LIMIT 1")
    assert rows == [["[2, 3]", "[3, 1, 2]", "2", "3", "true", "false", "true"]]


def test_any_match_on_resources(run: Runner, records: list[dict[str, Any]]) -> None:
    # AWS's MCP server's idiom: any_match over the resources array of structs.
    names, rows = run("SELECT count(*) AS n FROM $EDS WHERE any_match(resources, r -> r.type = 'AWS::KMS::Key')")
    expected = sum(1 for r in records if any(x.get("type") == "AWS::KMS::Key" for x in r.get("resources") or []))
    assert rows == [[str(expected)]] and expected > 0


def test_time_and_url_functions(run: Runner, records: list[dict[str, Any]]) -> None:
    first = min(records, key=lambda r: r["eventTime"])
    names, rows = run("SELECT to_iso8601(min(eventTime)), url_extract_host('https://console.aws.amazon.com/x?y=1'), "
                      "date_format(min(eventTime), '%Y-%m-%d') FROM $EDS")
    assert rows == [[first["eventTime"].replace("Z", ".000"), "console.aws.amazon.com", first["eventTime"][:10]]]


def test_cardinality_of_request_parameters_map(run: Runner, records: list[dict[str, Any]]) -> None:
    names, rows = run("SELECT eventID, cardinality(requestParameters) FROM $EDS WHERE requestParameters IS NOT NULL "
                      "ORDER BY eventID LIMIT 5")
    picked = sorted((r for r in records if isinstance(r.get("requestParameters"), dict)), key=lambda r: r["eventID"])[:5]
    assert rows == [[r["eventID"], str(len(r["requestParameters"]))] for r in picked]


def test_union_cte_window(run: Runner, records: list[dict[str, Any]]) -> None:
    names, rows = run("WITH c AS (SELECT eventName, count(*) AS n FROM $EDS GROUP BY eventName) "
                      "SELECT eventName, n, rank() OVER (ORDER BY n DESC) AS r FROM c ORDER BY n DESC, eventName LIMIT 2")
    counts = sorted(collections.Counter(r["eventName"] for r in records).items(), key=lambda kv: (-kv[1], kv[0]))
    assert names == ("eventName", "n", "r")
    assert rows == [[counts[0][0], str(counts[0][1]), "1"], [counts[1][0], str(counts[1][1]), "2"]]
    names, rows = run("SELECT eventName FROM $EDS WHERE eventName = 'GetUser' UNION "
                      "SELECT eventName FROM $EDS WHERE eventName = 'Decrypt' ORDER BY eventName")
    assert rows == [["Decrypt"], ["GetUser"]]


def test_nested_values_rendering(run: Runner, records: list[dict[str, Any]]) -> None:
    # Pinned renderings (docs/lake.md "Result format"): map {k=v}, array [a, b], row {f=v}, NULL "".
    names, rows = run("SELECT MAP(ARRAY['a', 'b'], ARRAY['1', NULL]), ARRAY['x', NULL], "
                      "CAST(ROW('v', 2) AS ROW(f VARCHAR, g INTEGER)), NULL, true, 1.5E0, 1e7, "
                      "TIMESTAMP '2023-01-22 16:53:53', DATE '2023-01-22' FROM $EDS LIMIT 1")
    assert rows == [["{a=1, b=null}", "[x, null]", "{f=v, g=2}", "", "true", "1.5", "1.0E7",
                     "2023-01-22 16:53:53.000", "2023-01-22"]]


def test_user_identity_struct_rendering(run: Runner, records: list[dict[str, Any]]) -> None:
    names, rows = run("SELECT tlsDetails FROM $EDS WHERE tlsDetails IS NOT NULL ORDER BY eventID LIMIT 1")
    first = sorted((r for r in records if r.get("tlsDetails")), key=lambda r: r["eventID"])[0]["tlsDetails"]
    assert names == ("tlsDetails",)
    assert rows == [["{tlsversion=%s, ciphersuite=%s, clientprovidedhostheader=%s}" % (
        first.get("tlsVersion"), first.get("cipherSuite"), first.get("clientProvidedHostHeader"))]]


def test_select_star_names_are_the_schema_columns(run: Runner, records: list[dict[str, Any]]) -> None:
    names, rows = run("SELECT * FROM $EDS ORDER BY eventID LIMIT 1")
    assert names[:3] == ("eventversion", "useridentity", "eventtime")
    first = sorted(records, key=lambda r: r["eventID"])[0]
    assert json.loads(rows[0][names.index("eventjson")]) == first
