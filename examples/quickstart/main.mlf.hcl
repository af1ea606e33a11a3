# The mlform quickstart: classify handwritten digits with scikit-learn, on this machine.
#
#   mlform init && mlform apply
#
# See README.md for the whole loop (change a parameter, change the data, destroy).

mlform {
  required_providers {
    local = { version = ">= 0.1" }
  }
}

variable "seed" {
  description = "Seed for the train/test split and the solver: the same seed, data and code give a byte-identical model."
  type        = number
  default     = 42
}

variable "c" {
  description = "Inverse regularization strength of the logistic regression."
  type        = number
  default     = 1.0
}

resource "dataset" "digits" {
  source  = "./data/digits"
  include = ["*.csv"]
}

resource "environment" "sk" {
  python   = "3.11"
  packages = ["scikit-learn==1.5.2", "joblib==1.4.2"]
}

resource "cluster" "box" {
  gpu = "any"
}

resource "training_job" "digits" {
  cluster     = cluster.box.id
  environment = environment.sk.id
  code        = "./src"
  command     = "python train.py"
  datasets    = { digits = dataset.digits.id }
  params      = { c = var.c }
  seed        = var.seed
  timeout     = "30m"
}

resource "deployment" "api" {
  cluster     = cluster.box.id
  environment = environment.sk.id
  model       = training_job.digits.model
  code        = "./src"
  command     = "python serve.py --model $MLFORM_MODEL_DIR --port $PORT"

  health_check {
    path = "/health"
  }
}

output "endpoint" {
  value = deployment.api.endpoint
}

output "accuracy" {
  value = training_job.digits.metrics.accuracy
}
