mlform {
  required_version = ">= 0.1"
  required_providers {
    local = { version = ">= 0.1" }
  }
}

variable "seed" {
  type    = number
  default = 42
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
  datasets    = { train = dataset.digits.id }
  params      = { c = 1.0 }
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
