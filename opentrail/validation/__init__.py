"""Log file integrity validation: ``opentrail validate-logs``, the AWS CLI's ``validate-logs``
over a local folder or S3-compatible storage, with more checks.

- :mod:`.command`: the command (:func:`validate_logs`), how clients and storage are found;
- :mod:`.walker`: the walk back through the digest chain; :mod:`.coverage`: days settled behind it
  (digests off the chain, log files no digest lists); :mod:`.listing`: digest keys day by day;
- :mod:`.digests` (one digest on its own), :mod:`.signature`, :mod:`.public_keys`;
- :mod:`.loghash`: streaming SHA-256 of a log file's uncompressed bytes, appended data;
- :mod:`.report`: the output, byte for byte as the AWS CLI's; :mod:`.storage`: listing and streams.

See docs/log-file-validation.md.
"""

from __future__ import annotations

from .command import ValidateLogsArgs, validate_logs

__all__ = ["ValidateLogsArgs", "validate_logs"]
