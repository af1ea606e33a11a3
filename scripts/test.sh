#!/usr/bin/env bash
# Install mlform, the local and AWS providers, the runtime and the test dependencies into .venv, then run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test]" -e providers/local -e "providers/aws[test]" -e runtime
exec .venv/bin/python -m pytest -q "$@"
