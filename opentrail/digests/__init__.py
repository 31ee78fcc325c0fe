"""Log file integrity validation: signed digest files and the per-Region signing keys.

- :mod:`.format`: the digest file format, keys, string to sign, RSA signatures (pure, no I/O).

See docs/log-file-validation.md.
"""

from __future__ import annotations
