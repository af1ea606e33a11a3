# A hyperparameter sweep: one training_job per parameter set, and the best of them by a metric.
#
# See README.md. Paths (`code`) are relative to the directory mlform runs in, in every module, as
# in Terraform: pass "${path.module}/src" from the calling module (or "./src" from the root).

variable "parameter_sets" {
  description = "The runs to make, by name: each value is one job's params, an object whose values keep their types (numbers, bools, strings, lists)."
  type        = any

  validation {
    condition     = length(var.parameter_sets) > 0
    error_message = "The sweep needs at least one parameter set."
  }
}

variable "dataset_id" {
  description = "The id of the dataset every run trains on (dataset.NAME.id)."
  type        = string
}

variable "dataset_name" {
  description = "The name the jobs know the dataset by: they read it from MLFORM_DATA_<NAME>."
  type        = string
  default     = "train"
}

variable "environment_id" {
  description = "The id of the environment the runs use (environment.NAME.id)."
  type        = string
}

variable "cluster_id" {
  description = "The id of the cluster the runs use (cluster.NAME.id); null for the provider's default."
  type        = string
  default     = null
}

variable "code" {
  description = "The folder with the training code, relative to where mlform runs (\"$${path.module}/src\" from the caller, as in Terraform) or absolute."
  type        = string
}

variable "command" {
  description = "The command each run executes, such as \"python train.py\"."
  type        = string
}

variable "seed" {
  description = "The seed every run gets (MLFORM_SEED)."
  type        = number
  default     = 0
}

variable "metric" {
  description = "The metric, a key every run writes to MLFORM_METRICS_FILE, that chooses the best run."
  type        = string
}

variable "goal" {
  description = "\"max\" when a higher metric is better, \"min\" when lower is better."
  type        = string
  default     = "max"

  validation {
    condition     = contains(["max", "min"], var.goal)
    error_message = "The goal must be \"max\" or \"min\"."
  }
}

variable "timeout" {
  description = "How long one run may take (\"30m\", \"2h\"); null for no limit."
  type        = string
  default     = null
}

resource "training_job" "run" {
  for_each = var.parameter_sets

  cluster     = var.cluster_id
  environment = var.environment_id
  code        = var.code
  command     = var.command
  datasets    = { (var.dataset_name) = var.dataset_id }
  params      = each.value
  seed        = var.seed
  timeout     = var.timeout
}

locals {
  scores = { for key, job in training_job.run : key => job.metrics[var.metric] }
  best   = var.goal == "max" ? max(values(local.scores)...) : min(values(local.scores)...)
  # The first key (in sorted order) that reaches the best score: a tie is decided by name.
  best_key = [for key, score in local.scores : key if score == local.best][0]
}

output "metrics" {
  description = "Every run's metrics, by parameter-set name."
  value       = { for key, job in training_job.run : key => job.metrics }
}

output "best_key" {
  description = "The name of the parameter set whose run scored best."
  value       = local.best_key
}

output "best_score" {
  description = "The best run's value of the chosen metric."
  value       = local.best
}

output "best_model" {
  description = "The best run's model (its artifact folder)."
  value       = training_job.run[local.best_key].model
}

output "best_model_digest" {
  description = "The digest of the best run's model."
  value       = training_job.run[local.best_key].model_digest
}

output "jobs" {
  description = "Every run's id, by parameter-set name."
  value       = { for key, job in training_job.run : key => job.id }
}
