# Fit a line to five points and serve it, on this machine, with the standard library only.
#
#   mlform apply && curl "$(mlform output -raw endpoint)/predict?x=10"

module "model" {
  source = "../"

  data_source   = "./data/points.csv"
  data_name     = "points"
  code          = "${path.module}/src"
  train_command = "python train.py"
  params        = { lr = 0.5 }
  seed          = 1
  serve_command = "python serve.py"

  # Serve the model only when it fits the points well.
  gate_metric    = "loss"
  gate_goal      = "min"
  gate_threshold = 0.05
}

output "endpoint" {
  value = module.model.endpoint
}

output "loss" {
  value = module.model.metrics["loss"]
}
