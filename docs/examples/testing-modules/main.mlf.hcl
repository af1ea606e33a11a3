# A small module: one training job, and whether its model is good enough to ship.
# tests/ holds its mlform tests; `mlform test` runs them without training anything.

variable "code" {
  type    = string
  default = "./src"
}

variable "learning_rate" {
  type    = number
  default = 0.1

  validation {
    condition     = var.learning_rate > 0 && var.learning_rate < 1
    error_message = "learning_rate must be between 0 and 1."
  }
}

variable "min_accuracy" {
  type    = number
  default = 0.8
}

resource "environment" "py" {
  python = "3.11"
}

resource "training_job" "model" {
  environment = environment.py.id
  code        = var.code
  command     = "python train.py"
  params      = { lr = var.learning_rate }
}

output "model" {
  value = training_job.model.model
}

output "accuracy" {
  value = training_job.model.metrics.accuracy
}

output "ship" {
  value = training_job.model.metrics.accuracy >= var.min_accuracy
}
