# A tiny project: fit a line, serve it.

resource "dataset" "points" {
  source = "./data"
}

resource "environment" "py" {
  python = "3.11"
}

resource "cluster" "box" {
  gpu = "none"
}

resource "training_job" "fit" {
  cluster     = cluster.box.id
  environment = environment.py.id
  code        = "./src"
  command     = "python train.py"
  datasets    = { points = dataset.points.id }
  seed        = 1
}

resource "deployment" "api" {
  cluster     = cluster.box.id
  environment = environment.py.id
  model       = training_job.fit.model
  code        = "./src"
  command     = "python serve.py"

  health_check {
    path     = "/health"
    interval = "200ms"
  }
}

output "endpoint" {
  value = deployment.api.endpoint
}

output "w" {
  value = training_job.fit.metrics.w
}
