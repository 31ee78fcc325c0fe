"""The settings table is complete, documented, and each flag shows its environment twin."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from opentrail.cli import main
from opentrail.settings import SETTINGS, Settings

DOCS = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"


def _doc_rows() -> dict[str, list[str]]:
    rows = {}
    for line in DOCS.read_text().splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("--") and not cells[0].startswith("---"):
            rows[cells[0]] = cells
    return rows


def test_every_setting_is_documented_with_its_twin_and_default() -> None:
    rows = _doc_rows()
    assert sorted(rows) == sorted(s.flag for s in SETTINGS)
    for s in SETTINGS:
        flag, env, default, help_text = rows[s.flag]
        assert env == s.env
        assert default == str(s.default)
        assert help_text == s.help


def test_serve_help_shows_each_flag_with_its_environment_twin() -> None:
    result = CliRunner().invoke(main, ["serve", "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    for s in SETTINGS:
        assert s.flag in text
        assert f"env var: {s.env}" in text


def test_environment_twin_sets_the_value(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    seen: dict[str, Settings] = {}
    monkeypatch.setattr("opentrail.server.run_server", lambda settings: seen.setdefault("s", settings))
    monkeypatch.setenv("OPENTRAIL_EVENT_HISTORY_RETENTION_DAYS", "7")
    monkeypatch.setenv("OPENTRAIL_PORT", "9123")
    result = CliRunner().invoke(main, ["serve", "--port", "9124"])
    assert result.exit_code == 0, result.output
    assert seen["s"].event_history_retention_days == 7
    assert seen["s"].port == 9124  # the flag wins over the environment
    assert seen["s"].lookup_events_rate_limit_per_s == 0.0


def test_lake_storage_url_is_a_folder_or_an_s3_prefix_and_others_are_refused_in_one_line(tmp_path: Path) -> None:
    from opentrail.lake.files import LakeLocation
    from opentrail.server import lake_location

    assert lake_location(Settings(data_dir=tmp_path)) == LakeLocation(folder=tmp_path / "lake")
    assert lake_location(Settings(data_dir=tmp_path, lake_storage_url=str(tmp_path / "l"))) == LakeLocation(folder=tmp_path / "l")
    assert lake_location(Settings(data_dir=tmp_path, lake_storage_url=f"file://{tmp_path}/f")) == LakeLocation(
        folder=tmp_path / "f")
    assert lake_location(Settings(lake_storage_url="s3://lake-bucket/cloud/trail/")) == LakeLocation(
        bucket="lake-bucket", prefix="cloud/trail/")
    assert lake_location(Settings(lake_storage_url="s3://lake-bucket")) == LakeLocation(bucket="lake-bucket", prefix="")
    refused = {
        "gs://bucket/prefix": "gs://bucket/prefix: gs:// is not a lake storage; give a folder, file:// or s3://bucket/prefix",
        "s3://Bad_Bucket/x": "s3://Bad_Bucket/x: the bucket name is not a valid S3 bucket name",
        "s3://bucket/a//b": "s3://bucket/a//b: the prefix has an empty, '.' or '..' segment",
    }
    for url, message in refused.items():
        result = CliRunner().invoke(main, ["serve", "--data-dir", str(tmp_path / "d"), "--port", "0",
                                           "--lake-storage-url", url])
        assert result.exit_code == 1
        assert result.output == f"Error: --lake-storage-url {message}\n"
    assert not (tmp_path / "d" / "events").exists()  # refused before the event store is opened
