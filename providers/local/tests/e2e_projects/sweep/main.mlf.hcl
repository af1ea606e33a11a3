# A small sweep: two datasets, three runs of one training module, and the best model served.

resource "dataset" "clean" {
  source = "./data/clean"
}

resource "dataset" "noisy" {
  source = "./data/noisy"
}

resource "environment" "py" {
  python = "3.11"
}

resource "cluster" "box" {
  gpu = "none"
}

locals {
  datasets = {
    clean = dataset.clean.id
    noisy = dataset.noisy.id
  }

  # Which data and step size each run uses.
  runs = {
    clean_slow = { data = "clean", lr = 0.02 }
    clean_fast = { data = "clean", lr = 0.1 }
    noisy_fast = { data = "noisy", lr = 0.1 }
  }

  losses = { for name, run in module.train : name => run.metrics.loss }
  best   = [for name, loss in local.losses : name if loss == min(values(local.losses)...)][0]
}

module "train" {
  source   = "./modules/train"
  for_each = local.runs

  cluster     = cluster.box.id
  environment = environment.py.id
  dataset     = local.datasets[each.value.data]
  lr          = each.value.lr
}

resource "deployment" "best" {
  cluster     = cluster.box.id
  environment = environment.py.id
  model       = module.train[local.best].model
  code        = "./serve"
  command     = "python serve.py"

  health_check {
    path     = "/health"
    interval = "200ms"
  }
}

output "best" {
  value = local.best
}

output "losses" {
  value = local.losses
}

output "endpoint" {
  value = deployment.best.endpoint
}
