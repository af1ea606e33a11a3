# A canary rollout: a candidate model takes a share of the traffic beside the stable one, and is
# promoted when its health and a metric threshold hold.
#
# Three deployments: `stable` serves stable_model; `candidate` serves the candidate's model (only
# while one is given); `router`, the endpoint clients call, sends canary_percent of the requests to the
# candidate and the rest to stable. Promotion (promote = true) is refused unless the candidate is
# healthy and its metric reaches the threshold; then stable serves the candidate's model and the
# router sends it everything. See README.md.

variable "stable_model" {
  description = "The model in production: a training job's `model`."
  type        = string
}

variable "candidate" {
  description = "The model to try and its metrics: { model = training_job.NAME.model, metrics = training_job.NAME.metrics }; null for no canary."
  type        = any
  default     = null

  validation {
    condition     = var.candidate == null || can(var.candidate.model)
    error_message = "candidate is an object such as { model = training_job.v2.model, metrics = training_job.v2.metrics }, or null."
  }
}

variable "metric" {
  description = "The metric that must reach threshold before the candidate may be promoted."
  type        = string
}

variable "threshold" {
  description = "The value the candidate's metric must reach."
  type        = number
}

variable "goal" {
  description = "\"max\" when a higher metric is better (it must be >= threshold), \"min\" when lower is better (<=)."
  type        = string
  default     = "max"

  validation {
    condition     = contains(["max", "min"], var.goal)
    error_message = "The goal must be \"max\" or \"min\"."
  }
}

variable "canary_percent" {
  description = "The share of requests, 0 to 100, the candidate gets before it is promoted."
  type        = number
  default     = 10

  validation {
    condition     = var.canary_percent >= 0 && var.canary_percent <= 100
    error_message = "canary_percent is a share of the requests: from 0 to 100."
  }
}

variable "promote" {
  description = "Promote the candidate: stable serves its model and gets every request. Refused unless the candidate is healthy and its metric reaches the threshold; false again rolls back."
  type        = bool
  default     = false
}

variable "environment_id" {
  description = "The id of the environment the servers (and the router) run in."
  type        = string
}

variable "cluster_id" {
  description = "The id of the cluster to serve on; null for the provider's default."
  type        = string
  default     = null
}

variable "code" {
  description = "The folder with the server's code, relative to where mlform runs or absolute."
  type        = string
}

variable "command" {
  description = "The command that starts one server. It listens on $PORT and loads the model from $MLFORM_MODEL_DIR."
  type        = string
}

variable "health_path" {
  description = "The path that answers 200 once a server is ready."
  type        = string
  default     = "/health"
}

variable "replicas" {
  description = "Server processes behind the stable endpoint (the candidate runs one)."
  type        = number
  default     = 1

  validation {
    condition     = var.replicas >= 1
    error_message = "A deployment needs at least one replica."
  }
}

variable "port" {
  description = "The router's port, the endpoint clients call; null lets the provider choose a free one."
  type        = number
  default     = null
}

variable "router_host" {
  description = "The address the router listens on: 127.0.0.1 where its provider's endpoint reaches it there (local), 0.0.0.0 on a machine of its own."
  type        = string
  default     = "127.0.0.1"
}

variable "env" {
  description = "Extra environment variables for the servers."
  type        = map(string)
  default     = {}
}

locals {
  # An object, known to be there even before its model is trained: count can depend on it.
  has_candidate   = var.candidate != null
  candidate_model = local.has_candidate ? var.candidate.model : null
  # The candidate's metric, null when it did not report it.
  metrics = local.has_candidate ? try(var.candidate.metrics, null) : null
  value   = local.metrics == null ? null : lookup(local.metrics, var.metric, null)
  metric_holds = local.value != null && (
    var.goal == "max" ? local.value >= var.threshold : local.value <= var.threshold
  )
  promoted = local.has_candidate && var.promote
  # What the router gives the candidate: nothing once promoted (stable serves its model then).
  share = local.has_candidate && !var.promote ? var.canary_percent : 0
}

resource "deployment" "candidate" {
  count = local.has_candidate ? 1 : 0

  cluster     = var.cluster_id
  environment = var.environment_id
  model       = local.candidate_model
  code        = var.code
  command     = var.command
  env         = var.env

  health_check {
    path = var.health_path
  }
}

resource "deployment" "stable" {
  cluster     = var.cluster_id
  environment = var.environment_id
  model       = local.promoted ? local.candidate_model : var.stable_model
  code        = var.code
  command     = var.command
  replicas    = var.replicas
  env         = var.env

  health_check {
    path = var.health_path
  }

  lifecycle {
    precondition {
      condition     = !var.promote || local.has_candidate
      error_message = "promote = true, but there is no candidate to promote."
    }

    precondition {
      condition     = !local.promoted || local.metric_holds
      error_message = "The candidate is not promoted: its ${var.metric} is ${local.value == null ? "missing from the candidate's metrics" : local.value}, and promotion asks for ${var.goal == "max" ? ">=" : "<="} ${var.threshold}."
    }

    precondition {
      condition     = !local.promoted || try(deployment.candidate[0].status, "") == "healthy"
      error_message = "The candidate is not promoted: its deployment is not healthy (status ${try(deployment.candidate[0].status, "unknown")}). Fix it, or set promote = false."
    }
  }
}

resource "deployment" "router" {
  cluster     = var.cluster_id
  environment = var.environment_id
  code        = "${path.module}/router"
  command     = "python router.py"
  port        = var.port

  env = {
    STABLE_URL        = deployment.stable.endpoint
    CANDIDATE_URL     = local.has_candidate ? deployment.candidate[0].endpoint : ""
    CANDIDATE_PERCENT = tostring(local.share)
    HEALTH_PATH       = var.health_path
    HOST              = var.router_host
  }

  health_check {
    path = var.health_path
  }
}

output "endpoint" {
  description = "The URL clients call: the router, which splits the requests."
  value       = deployment.router.endpoint
}

output "stable_endpoint" {
  description = "The stable deployment's own URL (no split)."
  value       = deployment.stable.endpoint
}

output "candidate_endpoint" {
  description = "The candidate's own URL; null without a candidate."
  value       = local.has_candidate ? deployment.candidate[0].endpoint : null
}

output "candidate_percent" {
  description = "The share of requests the candidate gets now."
  value       = local.share
}

output "promotable" {
  description = "Whether promote = true would be accepted now: the candidate is healthy and its metric reaches the threshold."
  value       = local.has_candidate && local.metric_holds && try(deployment.candidate[0].status, "") == "healthy"
}

output "serving_model_digest" {
  description = "The digest of the model stable serves."
  value       = deployment.stable.model_digest
}
