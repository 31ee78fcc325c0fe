"""The operator's limits on opentrail's file and command targets (opentrail/eventbridge/local_targets.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from opentrail.eventbridge.local_targets import LocalTargetPolicy, LocalTargetRefused


def test_default_folders(tmp_path: Path) -> None:
    policy = LocalTargetPolicy.from_settings(tmp_path, "", "")
    assert policy == LocalTargetPolicy(str(tmp_path / "targets"), None)
    assert policy.file_path("arn:opentrail:file:::a/b.jsonl") == str(tmp_path / "targets" / "a" / "b.jsonl")
    assert policy.file_path(f"arn:opentrail:file:::{tmp_path}/targets/c.jsonl") == str(tmp_path / "targets" / "c.jsonl")
    with pytest.raises(LocalTargetRefused, match="command targets are off on this server"):
        policy.command_argv("arn:opentrail:command:::notify")


@pytest.mark.parametrize("given", ["../x.jsonl", "a/../../x.jsonl", "/etc/passwd", "", ".", "a/..", "\x00"])
def test_files_outside_the_folder_are_refused(tmp_path: Path, given: str) -> None:
    policy = LocalTargetPolicy.from_settings(tmp_path, "", "")
    with pytest.raises(LocalTargetRefused):
        policy.file_path("arn:opentrail:file:::" + given)


def test_programs_inside_the_folder_only(tmp_path: Path) -> None:
    policy = LocalTargetPolicy.from_settings(tmp_path, "", str(tmp_path / "bin"))
    assert policy.command_argv("arn:opentrail:command:::page") == [str(tmp_path / "bin" / "page")]
    assert policy.command_argv(f"arn:opentrail:command:::{tmp_path}/bin/page") == [str(tmp_path / "bin" / "page")]
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "sh").symlink_to("/bin/sh")
    for given in ["/bin/sh", "../page", "sh", "'unterminated"]:
        with pytest.raises(LocalTargetRefused):
            policy.command_argv("arn:opentrail:command:::" + given)


@pytest.mark.parametrize("files,commands", [("t", "t/bin"), ("t/files", "t"), ("t", "t")])
def test_folders_that_contain_one_another_are_refused(tmp_path: Path, files: str, commands: str) -> None:
    with pytest.raises(ValueError, match="may not contain one another"):
        LocalTargetPolicy.from_settings(tmp_path, str(tmp_path / files), str(tmp_path / commands))
