#!/usr/bin/env bash
# Apply exactly the plan a pull request showed, after it was merged.
#
#   apply.sh PLANFILE      (default: $MLFORM_OUT/tfplan)
#
#   MLFORM_DIR            the folder holding the configuration (default: .)
#   MLFORM_OUT            where the lineage page and the history are written (default: mlform-out)
#   MLFORM_LINEAGE_ADDR   the resources whose lineage page to write, separated by spaces
#                         (lineage-<addr>.html each; default: none)
#   MLFORM                the mlform command (default: mlform)
#
# mlform refuses a plan made against another state serial or another configuration (another
# merge applied first, or the branch moved on): nothing is applied, and the job fails with
# the reason. Make a new plan from the current branch then. The state lock (waited for up to
# 10 minutes) and the CI's own concurrency group keep two applies from running at once.
set -euo pipefail

MLFORM=${MLFORM:-mlform}
out=$(mkdir -p "${MLFORM_OUT:-mlform-out}" && cd "${MLFORM_OUT:-mlform-out}" && pwd)
plan=${1:-$out/tfplan}
plan=$(cd "$(dirname "$plan")" && pwd)/$(basename "$plan")
cd "${MLFORM_DIR:-.}"
export MLFORM_IN_AUTOMATION=1

if [ ! -f "$plan" ]; then
  echo "No saved plan at $plan: the pull request's plan job uploads it; apply only what was reviewed." >&2
  exit 1
fi

status=0
$MLFORM apply --input=false --lock-timeout=10m "$plan" || status=$?
if [ "$status" -ne 0 ]; then
  echo "mlform apply failed (exit status $status). If the plan is stale, nothing was applied:" >&2
  echo "make a new plan from the current branch (re-run the pull request's plan job, or open" >&2
  echo "a new pull request), review it, and apply that one." >&2
  exit "$status"
fi

$MLFORM history >"$out/history.txt"
for addr in ${MLFORM_LINEAGE_ADDR:-}; do
  $MLFORM lineage "$addr" --format html >"$out/lineage-${addr//[^A-Za-z0-9_.-]/_}.html"
done
