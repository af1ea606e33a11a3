mlform {
  required_providers { local = { version = ">= 0.1" } }
  default_provider = "local"
}

variable "seed" { default = 42 }

resource "dataset" "digits" {
  source = "./data/digits" # a folder, a file, s3://…
}

resource "environment" "sk" {
  python   = "3.11"
  packages = ["scikit-learn==1.5.2", "joblib"]
}

resource "cluster" "box" {
  gpu = "any" # "A100:8", "H100:1", "none", "any"
}

resource "training_job" "digits" {
  cluster     = cluster.box.id
  environment = environment.sk.id
  code        = "./src"
  command     = "python train.py"
  datasets    = { train = dataset.digits.id }
  params      = { c = 1.0 }
  seed        = var.seed
}

resource "deployment" "api" {
  cluster     = cluster.box.id
  environment = environment.sk.id
  model       = training_job.digits.model
  code        = "./src"
  command     = "python serve.py --model $MLFORM_MODEL_DIR --port $PORT"
  health_check { path = "/health" }
}

output "endpoint" { value = deployment.api.endpoint }
