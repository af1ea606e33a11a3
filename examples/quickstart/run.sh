#!/usr/bin/env bash
# The quickstart end to end, non-interactively: snapshot the data, build the environment, train,
# serve, ask the served model for a prediction, then destroy everything it started.
#   ./run.sh            (KEEP=1 ./run.sh leaves the deployment running)
set -euo pipefail
cd "$(dirname "$0")"
MLFORM="${MLFORM:-mlform}"
PYTHON="${PYTHON:-python3}"

cleanup() {
  if [ "${KEEP:-0}" != "1" ]; then
    echo "==> mlform destroy"
    $MLFORM destroy -auto-approve
  fi
}

echo "==> mlform init"
$MLFORM init
trap cleanup EXIT
echo "==> mlform apply"
$MLFORM apply -auto-approve "$@"

endpoint="$($MLFORM output -raw endpoint)"
echo "==> accuracy: $($MLFORM output -raw accuracy)"
echo "==> endpoint: $endpoint"
curl -fsS "$endpoint/health" 2>/dev/null && echo || true
"$PYTHON" tools/predict.py "$endpoint" 5
