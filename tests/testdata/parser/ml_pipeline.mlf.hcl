# An mlform configuration: data, environment, cluster, training and serving.
mlform {
  required_providers {
    local = { version = ">= 0.1" }
  }
  default_provider = "local"
}

variable "seed" {
  default = 42
}

variable "learning_rates" {
  type    = list(number)
  default = [0.1, 0.01, 0.001]
}

locals {
  experiment = "digits-${var.seed}"
  grid       = { for lr in var.learning_rates : format("lr_%s", lr) => lr }
  threshold  = 0.95
  big        = 12345678901234567890
  small      = 1.5e-3
}

resource "dataset" "digits" {
  source  = "./data/digits" # a folder
  include = ["**/*.csv"]
}

resource "environment" "sk" {
  python   = "3.11"
  packages = ["scikit-learn==1.5.2", "joblib"]
  env = {
    OMP_NUM_THREADS = "4"
    "PYTHONHASHSEED" = tostring(var.seed)
  }
}

resource "cluster" "box" {
  gpu = "any" // "A100:8", "H100:1", "none", "any"
}

resource "training_job" "digits" {
  for_each    = local.grid
  cluster     = cluster.box.id
  environment = environment.sk.id
  code        = "./src"
  command     = "python train.py --lr ${each.value} --name ${local.experiment}"
  datasets    = { train = dataset.digits.id }
  params      = { c = 1.0, lr = each.value }
  seed        = var.seed
  timeout     = "2h"
}

resource "deployment" "api" {
  cluster     = cluster.box.id
  environment = environment.sk.id
  model       = training_job.digits["lr_0.1"].model
  code        = "./src"
  command     = "python serve.py --model $MLFORM_MODEL_DIR --port $PORT"
  replicas    = var.seed > 10 ? 2 : 1

  health_check {
    path = "/health"
  }

  lifecycle {
    create_before_destroy = true
    precondition {
      condition     = training_job.digits["lr_0.1"].metrics.accuracy >= local.threshold
      error_message = "The model is not accurate enough to serve."
    }
  }
}

moved {
  from = deployment.old
  to   = deployment.api
}

output "endpoint" {
  value = deployment.api.endpoint
}

output "metrics" {
  value = { for k, job in training_job.digits : k => job.metrics }
}
