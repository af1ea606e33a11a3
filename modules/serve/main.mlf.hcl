# A model served behind a health-checked endpoint: one deployment.
#
# See README.md. `code` is relative to the directory mlform runs in, in every module, as in
# Terraform: pass "${path.module}/src" from the calling module (or "./src" from the root).

variable "model" {
  description = "The model to serve: a training job's `model` (training_job.NAME.model)."
  type        = string
}

variable "environment_id" {
  description = "The id of the environment the server runs in (environment.NAME.id)."
  type        = string
}

variable "cluster_id" {
  description = "The id of the cluster to serve on (cluster.NAME.id); null for the provider's default."
  type        = string
  default     = null
}

variable "code" {
  description = "The folder with the server's code, relative to where mlform runs or absolute."
  type        = string
}

variable "command" {
  description = "The command that starts one server. It must listen on $PORT and load the model from $MLFORM_MODEL_DIR."
  type        = string
}

variable "health_path" {
  description = "The path that answers 200 once the server is ready."
  type        = string
  default     = "/health"
}

variable "health_timeout" {
  description = "How long one health request may take (\"5s\")."
  type        = string
  default     = "5s"
}

variable "replicas" {
  description = "How many server processes to run behind the endpoint."
  type        = number
  default     = 1

  validation {
    condition     = var.replicas >= 1
    error_message = "A deployment needs at least one replica."
  }
}

variable "port" {
  description = "The endpoint's port; null lets the provider choose a free one."
  type        = number
  default     = null
}

variable "env" {
  description = "Extra environment variables for the server processes."
  type        = map(string)
  default     = {}
}

resource "deployment" "this" {
  cluster     = var.cluster_id
  environment = var.environment_id
  model       = var.model
  code        = var.code
  command     = var.command
  port        = var.port
  replicas    = var.replicas
  env         = var.env

  health_check {
    path    = var.health_path
    timeout = var.health_timeout
  }
}

output "endpoint" {
  description = "The URL the model is served at."
  value       = deployment.this.endpoint
}

output "revision" {
  description = "The serving revision: it grows each time a new model or command goes live."
  value       = deployment.this.revision
}

output "model_digest" {
  description = "The digest of the model actually serving."
  value       = deployment.this.model_digest
}
