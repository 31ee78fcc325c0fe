"""What ``opentrail validate-logs`` prints, byte for byte as ``aws cloudtrail validate-logs`` does.

Source: ``CloudTrailValidateLogs`` in awscli 1.46 (``_write_startup_text``, ``_write_status``,
``_write_summary_text``, ``_write_ratio``, the ``_on_*`` callbacks):

- stdout: ``Validating log files for trail <arn> between <start> and <end>`` and a blank line;
  with ``--verbose``, one line per valid digest / log file (``Digest file\\ts3://b/k\\tvalid``);
  the summary (``Results requested for ...``, ``Results found for ...:``, then
  ``\\n<v>/<t> digest files valid[, <i>/<t> digest files INVALID]`` for digest, backfill digest and
  log files, and a final newline).
- stderr: every invalid file and every chain gap, followed by a blank line (preceded by one when
  the previous line was a verbose stdout line).

opentrail's extra findings use the same line shapes (``Digest files\\t...\\tINVALID: N more not
found ...``, ``Log file\\t...\\tINVALID: not listed in any digest file``) and count as invalid.
Exit code: 1 when any digest or log file is invalid, else 0 (fatal errors: 255, see
:mod:`.command`).

Progress: when stderr is a terminal, one line rewritten in place (``\\r``) at most five times a
second, erased before any other output.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Callable, TextIO

from .digests import Digest, parse_date
from .layout import format_display_date
from .loghash import LogCheck, LogOutcome


class Progress:
    """Counts shown on one rewritten terminal line."""

    def __init__(self, stream: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.clock = clock
        self.started = clock()
        self.digests = 0
        self.logs = 0
        self.compressed_bytes = 0
        self.uncompressed_bytes = 0
        self._shown = False
        self._last = 0.0

    def render(self) -> str:
        elapsed = max(self.clock() - self.started, 1e-9)
        mb = self.uncompressed_bytes / 1e6
        return (
            f"{self.digests:,} digest files, {self.logs:,} log files, {mb:,.0f} MB "
            f"({mb / elapsed:,.0f} MB/s uncompressed)"
        )

    def tick(self) -> None:
        now = self.clock()
        if now - self._last >= 0.2:
            self._last = now
            self.stream.write("\r\x1b[K" + self.render())
            self.stream.flush()
            self._shown = True

    def erase(self) -> None:
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False


class Reporter:
    """Counts and prints findings (see the module docstring)."""

    def __init__(
        self,
        stdout: TextIO,
        stderr: TextIO,
        *,
        trail_arn: str,
        start: datetime,
        end: datetime,
        verbose: bool,
        progress: Progress | None = None,
    ) -> None:
        self.stdout = stdout
        self.stderr = stderr
        self.trail_arn = trail_arn
        self.start = start
        self.end = end
        self.verbose = verbose
        self.progress = progress
        self.valid_digests = 0
        self.invalid_digests = 0
        self.valid_backfill_digests = 0
        self.invalid_backfill_digests = 0
        self.valid_logs = 0
        self.invalid_logs = 0
        self._last_double_space = True
        self._found_start: datetime | None = None
        self._found_end: datetime | None = None

    # -- the AWS CLI's _write_status
    def _status(self, message: str, is_error: bool = False) -> None:
        if self.progress is not None:
            self.progress.erase()
        if is_error:
            self.stderr.write(f"{message}\n\n" if self._last_double_space else f"\n{message}\n\n")
            self._last_double_space = True
        elif self.verbose:
            self._last_double_space = False
            self.stdout.write(f"{message}\n")
        if self.progress is not None:
            self.progress.tick()

    def startup(self) -> None:
        self.stdout.write(
            f"Validating log files for trail {self.trail_arn} between {format_display_date(self.start)} "
            f"and {format_display_date(self.end)}\n\n"
        )

    def digest_valid(self, digest: Digest, backfill: bool) -> None:
        self._track_found_times(digest)
        if backfill:
            self.valid_backfill_digests += 1
        else:
            self.valid_digests += 1
        if self.progress is not None:
            self.progress.digests += 1
        marker = "(backfill) " if backfill else ""
        self._status(f"{marker}Digest file\ts3://{digest.data['digestS3Bucket']}/{digest.data['digestS3Object']}\tvalid")

    def digest_invalid(self, message: str, backfill: bool, count: int = 1) -> None:
        if backfill:
            self.invalid_backfill_digests += count
        else:
            self.invalid_digests += count
        self._status(f"{'(backfill) ' if backfill else ''}{message}", True)

    def gap(self, message: str, backfill: bool) -> None:
        self._status(f"{'(backfill) ' if backfill else ''}{message}", True)

    def log_checked(self, check: LogCheck) -> None:
        if self.progress is not None:
            self.progress.logs += 1
            self.progress.compressed_bytes += check.compressed_bytes
            self.progress.uncompressed_bytes += check.uncompressed_bytes
        line = f"Log file\ts3://{check.bucket}/{check.key}\t{check.outcome.value}"
        if check.outcome is LogOutcome.VALID:
            self.valid_logs += 1
            self._status(line)
        else:
            self.invalid_logs += 1
            self._status(line, True)

    def log_added(self, bucket: str, key: str) -> None:
        self.invalid_logs += 1
        self._status(f"Log file\ts3://{bucket}/{key}\tINVALID: not listed in any digest file", True)

    def _track_found_times(self, digest: Digest) -> None:
        earliest = max(parse_date(digest.data["digestStartTime"]), self.start)
        if self._found_start is None or earliest < self._found_start:
            self._found_start = earliest
        latest = min(parse_date(digest.data["digestEndTime"]), self.end)
        if self._found_end is None or latest > self._found_end:
            self._found_end = latest

    def summary(self) -> None:
        if self.progress is not None:
            self.progress.erase()
        write = self.stdout.write
        if not self._last_double_space:
            write("\n")
        write(f"Results requested for {format_display_date(self.start)} to {format_display_date(self.end)}\n")
        valid = self.valid_digests + self.valid_backfill_digests
        invalid = self.invalid_digests + self.invalid_backfill_digests
        if not valid and not invalid:
            write("No digests found\n")
            return
        if self._found_start is None or self._found_end is None:
            write("No valid digests found in range\n")
        else:
            write(f"Results found for {format_display_date(self._found_start)} to {format_display_date(self._found_end)}:\n")
        self._ratio(self.valid_digests, self.invalid_digests, "digest")
        self._ratio(self.valid_backfill_digests, self.invalid_backfill_digests, "backfill digest")
        self._ratio(self.valid_logs, self.invalid_logs, "log")
        write("\n")

    def _ratio(self, valid: int, invalid: int, name: str) -> None:
        total = valid + invalid
        if total > 0:
            self.stdout.write(f"\n{valid}/{total} {name} files valid")
            if invalid > 0:
                self.stdout.write(f", {invalid}/{total} {name} files INVALID")

    def found_nothing(self) -> bool:
        """True when no digest file was found (the summary said "No digests found")."""
        return not (self.valid_digests + self.valid_backfill_digests + self.invalid_digests
                    + self.invalid_backfill_digests)

    def exit_code(self) -> int:
        invalid = self.invalid_digests + self.invalid_backfill_digests
        return 1 if invalid > 0 or self.invalid_logs > 0 else 0
