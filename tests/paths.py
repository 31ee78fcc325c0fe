"""Where the tests find what lies outside the checkout.

``SHARED`` is ``$OPENTRAIL_SHARED_DIR``, else the ``shared`` folder beside the checkout (CI clones
main with ``../shared`` beside it), else ``/work/shared`` (a worktree under ``/work/wt/``).
``AWS_CLI`` is the AWS CLI installed in the interpreter's own environment (``.venv/bin/aws``
when scripts/test.sh runs the suite), found beside ``sys.executable`` rather than at a fixed path.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _shared() -> Path:
    if os.environ.get("OPENTRAIL_SHARED_DIR"):
        return Path(os.environ["OPENTRAIL_SHARED_DIR"])
    beside = ROOT.parent / "shared"
    return beside if beside.is_dir() else Path("/work/shared")


SHARED = _shared()
DATASETS = SHARED / "datasets" / "cloudtrail"
INVICTUS = DATASETS / "invictus-ir-aws_dataset" / "CloudTrail"

_beside_python = Path(sys.executable).parent / "aws"
AWS_CLI = Path(os.environ.get("OPENTRAIL_AWS_CLI") or (
    _beside_python if _beside_python.exists() else shutil.which("aws") or _beside_python))
