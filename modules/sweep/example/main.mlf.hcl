# A tiny sweep on this machine: three learning rates (too slow, right, diverging), a stdlib-only "training" script,
# an environment with no packages. `mlform apply` runs the three jobs and picks the best.

resource "dataset" "points" {
  source = "./data/points.csv"
}

resource "environment" "py" {
}

resource "cluster" "box" {
  gpu = "none"
}

module "sweep" {
  source = "../"

  parameter_sets = {
    slow   = { lr = 0.01 }
    medium = { lr = 0.5 }
    fast   = { lr = 2.0 }
  }
  dataset_id     = dataset.points.id
  dataset_name   = "points"
  environment_id = environment.py.id
  cluster_id     = cluster.box.id
  code           = "${path.module}/src"
  command        = "python train.py"
  metric         = "loss"
  goal           = "min"
}

output "best" {
  value = module.sweep.best_key
}

output "best_model" {
  value = module.sweep.best_model
}

output "losses" {
  value = { for key, m in module.sweep.metrics : key => m.loss }
}
