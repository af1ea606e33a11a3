# Two processes of one training job that find each other through MASTER_ADDR and MASTER_PORT.

resource "environment" "py" {
  python = "3.11"
}

resource "cluster" "box" {
  gpu = "none"
}

resource "training_job" "pair" {
  cluster     = cluster.box.id
  environment = environment.py.id
  code        = "./src"
  command     = "python ranks.py"
  nodes       = 2
  timeout     = "1m"
}

output "metrics" {
  value = training_job.pair.metrics
}
