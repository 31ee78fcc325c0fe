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


@pytest.mark.parametrize("given,reason", [("../x.jsonl", "is not inside"), ("a/../../x.jsonl", "is not inside"),
                                          ("/etc/passwd", "is not inside"), (".", "is not inside"),
                                          ("a/..", "is not inside"), ("out/x.jsonl", "is not inside"),
                                          ("", "names no file"), ("\x00", "names no file")])
def test_files_outside_the_folder_are_refused(tmp_path: Path, given: str, reason: str) -> None:
    policy = LocalTargetPolicy.from_settings(tmp_path, "", "")
    (tmp_path / "targets").mkdir()
    (tmp_path / "targets" / "out").symlink_to(tmp_path)  # a symbolic link leading out
    with pytest.raises(LocalTargetRefused, match=reason):
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


def test_a_file_targets_folder_holding_the_data_directory_is_refused(tmp_path: Path) -> None:
    for folder in (tmp_path, tmp_path.parent):
        with pytest.raises(ValueError, match="may not hold the data directory"):
            LocalTargetPolicy.from_settings(tmp_path, str(folder), "")


@pytest.mark.parametrize("files,commands", [("t", "t/bin"), ("t/files", "t"), ("t", "t")])
def test_folders_that_contain_one_another_are_refused(tmp_path: Path, files: str, commands: str) -> None:
    with pytest.raises(ValueError, match="may not contain one another"):
        LocalTargetPolicy.from_settings(tmp_path, str(tmp_path / files), str(tmp_path / commands))
