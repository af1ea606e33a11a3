# A policy over mlform's JSON plan, for OPA or conftest (see docs/guardrails.md):
#
#   mlform plan -out plan.mlplan
#   mlform show -json plan.mlplan > plan.json
#   conftest test --policy examples/policy plan.json        # or:
#   opa eval --format pretty -d examples/policy -i plan.json "data.mlform.deny"
#
# It reads what Terraform's JSON plans hold, which mlform's follow: resource_changes[], each
# with address, type and change.actions / change.after. tests/func/test_policy_example.py
# evaluates the same rules on real plans.
package mlform

import rego.v1

# The most GPUs the plan may request, every cluster together.
max_gpus := 8

# Instances the plan keeps or makes (not those it destroys or forgets).
kept contains rc if {
	some rc in input.resource_changes
	not "delete" in rc.change.actions
	not "forget" in rc.change.actions
	rc.change.after != null
}

# Training jobs must set a seed, so that their runs can be reproduced.
deny contains msg if {
	some rc in kept
	rc.type == "training_job"
	object.get(rc.change.after, "seed", null) == null
	msg := sprintf("%s: a training job must set a seed", [rc.address])
}

# GPUs a planned object requests: "A100:8" is 8, "H100" is 1, "any" and "none" are 0; times
# its nodes.
gpus(after) := n if {
	parts := split(after.gpu, ":")
	count(parts) == 2
	lower(parts[0]) != "none"
	n := to_number(parts[1]) * object.get(after, "nodes", 1)
} else := n if {
	not contains(after.gpu, ":")
	not lower(after.gpu) in {"any", "none", ""}
	n := object.get(after, "nodes", 1)
} else := 0

deny contains msg if {
	total := sum([gpus(rc.change.after) | some rc in kept; is_string(object.get(rc.change.after, "gpu", null))])
	total > max_gpus
	msg := sprintf("the plan requests %d GPUs, more than the %d allowed", [total, max_gpus])
}
