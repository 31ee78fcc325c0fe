"""Where opentrail's own local targets may write and what they may run (opentrail's own; AWS has no
such targets). A rule's targets are chosen by whoever may call PutTargets, so without limits a file
target could append to any file the server can write and a command target could run any program:
the operator sets the limits.

- ``arn:opentrail:file:::<path>``: the file must be inside ``--file-targets-dir``
  (``OPENTRAIL_FILE_TARGETS_DIR``; empty: ``<data-dir>/targets``). A relative path is taken inside
  it (``arn:opentrail:file:::alerts/tampering.jsonl``); an absolute one must lie inside it; ``..``
  and symbolic links cannot lead out of it. It may not hold the data directory (a file target
  could otherwise append to opentrail's own state files).
- ``arn:opentrail:command:::<program> [arguments]``: the program must be a file inside
  ``--command-targets-dir`` (``OPENTRAIL_COMMAND_TARGETS_DIR``), named relative to it or by an
  absolute path inside it; arguments are passed as given (no shell). Empty (the default): command
  targets are refused. The two folders may not contain one another (a file target could otherwise
  write a program a command target then runs).

PutTargets refuses a target outside these limits (a FailedEntries item, :meth:`check`), and the
dispatcher checks again before each delivery (the settings may have changed since).
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path

FILE_PREFIX = "arn:opentrail:file:::"
COMMAND_PREFIX = "arn:opentrail:command:::"
#: The file targets' folder under the data directory when ``--file-targets-dir`` is empty.
DEFAULT_FILE_TARGETS_DIR = "targets"


class LocalTargetRefused(ValueError):
    """The target is outside the operator's limits (the message says which and why)."""


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


@dataclass(frozen=True)
class LocalTargetPolicy:
    """The two folders, absolute and resolved (``commands_dir`` None: command targets are off)."""

    files_dir: str
    commands_dir: str | None = None

    @classmethod
    def from_settings(cls, data_dir: Path, file_targets_dir: str, command_targets_dir: str) -> "LocalTargetPolicy":
        """The policy of the two settings; raises ValueError when the folders contain one another."""
        files = os.path.realpath(file_targets_dir or data_dir / DEFAULT_FILE_TARGETS_DIR)
        commands = os.path.realpath(command_targets_dir) if command_targets_dir else None
        data = os.path.realpath(data_dir)
        if _inside(data, files):
            raise ValueError(f"--file-targets-dir {files} may not hold the data directory {data} (a file target could"
                             " append to opentrail's own state)")
        if commands is not None and (_inside(commands, files) or _inside(files, commands)):
            raise ValueError(f"--command-targets-dir {commands} and --file-targets-dir {files} may not contain one"
                             " another (a file target could write a program a command target runs)")
        return cls(files, commands)

    def file_path(self, arn: str) -> str:
        """The file an ``arn:opentrail:file:::`` target appends to; raises :class:`LocalTargetRefused`.
        Symbolic links are resolved, so the answer is the real path (open it with ``O_NOFOLLOW``)."""
        given = arn[len(FILE_PREFIX):]
        if not given or "\x00" in given:
            raise LocalTargetRefused("the file target names no file")
        path = os.path.realpath(os.path.join(self.files_dir, given))
        if not _inside(path, self.files_dir) or path == self.files_dir:
            raise LocalTargetRefused(f"the file target {given!r} is not inside the file targets folder"
                                     f" {self.files_dir} (--file-targets-dir)")
        return path

    def command_argv(self, arn: str) -> list[str]:
        """The program (its real path) and arguments of an ``arn:opentrail:command:::`` target;
        raises :class:`LocalTargetRefused`."""
        text = arn[len(COMMAND_PREFIX):]
        if self.commands_dir is None:
            raise LocalTargetRefused("command targets are off on this server: its operator allows them with"
                                     " --command-targets-dir")
        try:
            argv = shlex.split(text)
        except ValueError as exc:
            raise LocalTargetRefused(f"the command {text!r} cannot be read: {exc}") from None
        if not argv or "\x00" in text:
            raise LocalTargetRefused("the command target names no program")
        program = os.path.realpath(os.path.join(self.commands_dir, argv[0]))
        if not _inside(program, self.commands_dir) or program == self.commands_dir:
            raise LocalTargetRefused(f"the program {argv[0]!r} is not inside the command targets folder"
                                     f" {self.commands_dir} (--command-targets-dir)")
        return [program, *argv[1:]]

    def check(self, arn: str) -> None:
        """PutTargets' check of a local target ARN (the program need not exist yet); raises
        :class:`LocalTargetRefused`."""
        if arn.startswith(FILE_PREFIX):
            self.file_path(arn)
        elif arn.startswith(COMMAND_PREFIX):
            self.command_argv(arn)
