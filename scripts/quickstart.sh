#!/usr/bin/env bash
# Install mlform with the local provider into .venv and run the quickstart end to end:
# snapshot the data, build the environment, train, serve, ask the endpoint for a prediction.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e . -e providers/local -e runtime
export PATH="$PWD/.venv/bin:$PATH"
exec bash examples/quickstart/run.sh
