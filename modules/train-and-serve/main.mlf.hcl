# Train a model on a dataset and serve it: dataset -> environment -> training_job -> deployment.
#
# See README.md. Paths (`data_source`, `code`, `serve_code`) are relative to the directory mlform
# runs in, as in Terraform: pass "${path.module}/src" from the calling module (or "./src" from
# the root).

variable "data_source" {
  description = "The dataset: a folder or a file (relative to where mlform runs, or absolute), or an object store URI (s3://, gs://, az://)."
  type        = string
}

variable "data_include" {
  description = "Glob patterns of the files to keep in the dataset; empty keeps every file."
  type        = list(string)
  default     = []
}

variable "data_name" {
  description = "The name the job knows the dataset by: it reads it from MLFORM_DATA_<NAME>."
  type        = string
  default     = "train"
}

variable "python" {
  description = "The Python version of the environment (\"3.11\"); null for the Python mlform runs on."
  type        = string
  default     = null
}

variable "packages" {
  description = "The environment's packages, pinned where it matters (\"scikit-learn==1.5.2\")."
  type        = list(string)
  default     = []
}

variable "requirements_file" {
  description = "A requirements file for the environment, instead of or beside packages; null for none."
  type        = string
  default     = null
}

variable "cluster_id" {
  description = "The id of the cluster to train and serve on (cluster.NAME.id, or the gpu-cluster module's id); null for the provider's default."
  type        = string
  default     = null
}

variable "code" {
  description = "The folder with the training code (and, unless serve_code is set, the server's)."
  type        = string
}

variable "train_command" {
  description = "The command that trains, such as \"python train.py\". It writes the model to MLFORM_MODEL_DIR and its metrics to MLFORM_METRICS_FILE."
  type        = string
}

variable "params" {
  description = "The job's params (MLFORM_PARAMS), an object whose values keep their types."
  type        = any
  default     = {}
}

variable "seed" {
  description = "The seed the job gets (MLFORM_SEED)."
  type        = number
  default     = 0
}

variable "timeout" {
  description = "How long training may take (\"30m\", \"2h\"); null for no limit."
  type        = string
  default     = null
}

variable "serve_code" {
  description = "The folder with the server's code; null to use `code`."
  type        = string
  default     = null
}

variable "serve_command" {
  description = "The command that starts one server. It listens on $PORT and loads the model from $MLFORM_MODEL_DIR."
  type        = string
}

variable "health_path" {
  description = "The path that answers 200 once a server is ready."
  type        = string
  default     = "/health"
}

variable "replicas" {
  description = "How many servers run behind the endpoint."
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
  description = "Extra environment variables for the servers (the environment's own are set too)."
  type        = map(string)
  default     = {}
}

variable "gate_metric" {
  description = "A metric the job writes that must reach gate_threshold before its model is served; null serves every model."
  type        = string
  default     = null
}

variable "gate_threshold" {
  description = "The value gate_metric must reach."
  type        = number
  default     = null
}

variable "gate_goal" {
  description = "\"max\" when a higher gate_metric is better (it must be >= gate_threshold), \"min\" when lower is better (<=)."
  type        = string
  default     = "max"

  validation {
    condition     = contains(["max", "min"], var.gate_goal)
    error_message = "gate_goal must be \"max\" or \"min\"."
  }
}

resource "dataset" "data" {
  source  = var.data_source
  include = var.data_include
}

resource "environment" "env" {
  python            = var.python
  packages          = var.packages
  requirements_file = var.requirements_file
}

resource "training_job" "train" {
  cluster     = var.cluster_id
  environment = environment.env.id
  code        = var.code
  command     = var.train_command
  datasets    = { (var.data_name) = dataset.data.id }
  params      = var.params
  seed        = var.seed
  timeout     = var.timeout
}

locals {
  gated = var.gate_metric != null
  # The gate's metric as the job reported it; null when there is no gate or the job did not write it.
  gate_value = local.gated ? lookup(training_job.train.metrics, var.gate_metric, null) : null
  gate_passes = !local.gated || (local.gate_value != null && (
    var.gate_goal == "max" ? local.gate_value >= var.gate_threshold : local.gate_value <= var.gate_threshold
  ))
}

resource "deployment" "serve" {
  cluster     = var.cluster_id
  environment = environment.env.id
  model       = training_job.train.model
  code        = coalesce(var.serve_code, var.code)
  command     = var.serve_command
  port        = var.port
  replicas    = var.replicas
  env         = var.env

  health_check {
    path = var.health_path
  }

  lifecycle {
    precondition {
      condition     = !local.gated || var.gate_threshold != null
      error_message = "gate_metric is set but gate_threshold is not: give the value the metric must reach."
    }

    # A model that does not reach the gate is never served: the deployment keeps the model it has.
    precondition {
      condition     = local.gate_passes
      error_message = "The model of ${training_job.train.id} is not served: its ${coalesce(var.gate_metric, "metric")} is ${local.gate_value == null ? "missing from its metrics" : local.gate_value}, and the gate asks for ${var.gate_goal == "max" ? ">=" : "<="} ${coalesce(var.gate_threshold, 0)}."
    }
  }
}

output "endpoint" {
  description = "The URL the model is served at."
  value       = deployment.serve.endpoint
}

output "revision" {
  description = "The serving revision: it grows each time a new model goes live."
  value       = deployment.serve.revision
}

output "model" {
  description = "The trained model (its artifact folder)."
  value       = training_job.train.model
}

output "model_digest" {
  description = "The digest of the model the deployment serves."
  value       = deployment.serve.model_digest
}

output "metrics" {
  description = "The metrics the training job wrote."
  value       = training_job.train.metrics
}

output "job_id" {
  description = "The training run's id."
  value       = training_job.train.id
}

output "dataset_digest" {
  description = "The content digest of the dataset the model was trained on."
  value       = dataset.data.digest
}

output "environment_id" {
  description = "The environment's id, for other jobs that should run in the same packages."
  value       = environment.env.id
}
