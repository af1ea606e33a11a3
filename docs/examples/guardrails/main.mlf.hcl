mlform {
  # Limits every plan of this configuration must keep; see docs/guardrails.md.
  guardrails {
    max_gpus                = 8
    max_price_per_hour      = 40
    max_job_cost            = 100
    allowed_providers       = ["local"]
    allowed_regions         = ["eu-west-1"]
    require_seed            = true
    require_pinned_packages = true
  }
}

resource "environment" "sk" {
  python   = "3.11"
  packages = ["scikit-learn==1.5.2", "joblib==1.4.2"]
}

resource "cluster" "box" {
  gpu    = "any"
  region = "eu-west-1"
}

resource "training_job" "digits" {
  cluster     = cluster.box.id
  environment = environment.sk.id
  code        = "./src"
  command     = "python train.py"
  seed        = 42
  timeout     = "2h"
}
