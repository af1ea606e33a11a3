# A canary on this machine: model v1 serves, v2 takes a share of the requests, then is promoted.
#
#   mlform apply                        # v2 gets 25% of the requests at the endpoint
#   mlform apply --var promote=true     # v2's accuracy reaches 0.9 and it is healthy: promoted

variable "canary_percent" {
  type    = number
  default = 25
}

variable "promote" {
  type    = bool
  default = false
}

resource "environment" "py" {
}

resource "training_job" "v1" {
  environment = environment.py.id
  code        = "./src"
  command     = "python train.py"
  params      = { version = "v1", answer = 42, accuracy = 0.88 }
}

resource "training_job" "v2" {
  environment = environment.py.id
  code        = "./src"
  command     = "python train.py"
  params      = { version = "v2", answer = 43, accuracy = 0.93 }
}

module "canary" {
  source = "../"

  stable_model   = training_job.v1.model
  candidate      = { model = training_job.v2.model, metrics = training_job.v2.metrics }
  metric         = "accuracy"
  threshold      = 0.9
  canary_percent = var.canary_percent
  promote        = var.promote

  environment_id = environment.py.id
  code           = "${path.module}/src"
  command        = "python serve.py"
}

output "endpoint" {
  value = module.canary.endpoint
}

output "candidate_percent" {
  value = module.canary.candidate_percent
}

output "promotable" {
  value = module.canary.promotable
}
