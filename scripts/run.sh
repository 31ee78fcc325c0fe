#!/usr/bin/env bash
# Set up opentrail in ./.venv (first time only) and run the server in the foreground on its
# embedded default: SQLite and local folders under ./opentrail-data. Extra arguments go to
# `opentrail serve` (see `opentrail serve --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/opentrail ] || [ pyproject.toml -nt .venv/.installed ]; then
  "$PY" -m venv .venv
  .venv/bin/pip install --quiet --upgrade pip
  .venv/bin/pip install --quiet -e .
  touch .venv/.installed
fi
mkdir -p "${OPENTRAIL_DATA_DIR:-opentrail-data}"
exec .venv/bin/opentrail serve "$@"
