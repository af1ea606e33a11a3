# Train a stdlib-only "model" and serve it with the serve module on this machine.
#
#   mlform apply && curl "$(mlform output -raw endpoint)/predict?x=3"

resource "environment" "py" {
}

resource "training_job" "constant" {
  environment = environment.py.id
  code        = "./src"
  command     = "python train.py"
  params      = { answer = 42 }
}

module "serve" {
  source = "../"

  model          = training_job.constant.model
  environment_id = environment.py.id
  code           = "${path.module}/src"
  command        = "python serve.py"
}

output "endpoint" {
  value = module.serve.endpoint
}
