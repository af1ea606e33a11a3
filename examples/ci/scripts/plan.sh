#!/usr/bin/env bash
# Plan a pull request with mlform: save the plan, draw it as Markdown, post it on the pull request.
#
# The CI workflows in examples/ci/ run this script, and so does mlform's test suite
# (tests/func/test_ci_workflow.py), so what is tested is what runs.
#
#   MLFORM_DIR       the folder holding the configuration (default: .)
#   MLFORM_OUT       where the plan and its pages are written (default: mlform-out)
#   MLFORM_COMMENT   0 to leave the pull request alone (default: 1, post or update the comment)
#   MLFORM           the mlform command (default: mlform)
#
# Writes $MLFORM_OUT/tfplan (the saved plan, to upload as an artifact and apply on merge),
# plan.md (the comment, cut to what a GitHub comment holds) and plan-full.md (the whole page).
# Exits 1 when planning fails, 0 otherwise (with or without changes).
set -euo pipefail

MLFORM=${MLFORM:-mlform}
out=$(mkdir -p "${MLFORM_OUT:-mlform-out}" && cd "${MLFORM_OUT:-mlform-out}" && pwd)
cd "${MLFORM_DIR:-.}"
export MLFORM_IN_AUTOMATION=1

status=0
$MLFORM plan --input=false --lock-timeout=5m --detailed-exitcode --out "$out/tfplan" || status=$?
if [ "$status" -ne 0 ] && [ "$status" -ne 2 ]; then
  echo "mlform plan failed (exit status $status); see the messages above." >&2
  exit 1
fi

$MLFORM show --format markdown --full-output "$out/plan-full.md" "$out/tfplan" >"$out/plan.md"

if [ "${MLFORM_COMMENT:-1}" != "0" ]; then
  $MLFORM ci comment --file "$out/plan.md"
fi
