"""Log file integrity validation: signed digest files and the per-Region signing keys.

- :mod:`.format`: the digest file format, keys, string to sign, RSA signatures (pure, no I/O).
- :class:`KeyStore` (:mod:`.keys`): RSA-2048 key pairs per Region in ``<data-dir>/keys``, rotated.
- :class:`DigestWorker` (:mod:`.worker`): hourly, starting, final and backfill digests per trail
  and Region; its ``recorder`` (:mod:`.recorder`) is delivery's ``on_delivered`` hook.
- :class:`DigestState` (:mod:`.state`): ``<data-dir>/digests.db``.

See docs/log-file-validation.md.
"""

from __future__ import annotations

from .keys import DEFAULT_ROTATION_S, KEYS_DIR, KeyStore, PublicKeyInfo
from .recorder import LogFileRecorder
from .state import DIGESTS_DB, DigestState
from .worker import DEFAULT_INTERVAL_S, DigestWorker, delivery_caught_up

__all__ = [
    "DEFAULT_INTERVAL_S",
    "DEFAULT_ROTATION_S",
    "DIGESTS_DB",
    "KEYS_DIR",
    "DigestState",
    "DigestWorker",
    "KeyStore",
    "LogFileRecorder",
    "PublicKeyInfo",
    "delivery_caught_up",
]
