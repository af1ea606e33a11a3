variable "sweep" {
  type = map(object({ lr = number, depth = number }))
  default = {
    small = { lr = 0.1, depth = 2 }
    large = { lr = 0.05, depth = 8 }
  }
}

resource "dataset" "train" {
  source = "./data/train.csv"
}

resource "environment" "py" {
  python = "3.11"
}

# One job per named parameter set: adding a set runs only the new job.
resource "training_job" "sweep" {
  for_each = var.sweep

  environment = environment.py.id
  code        = "./src"
  command     = "python train.py"
  datasets    = { train = dataset.train.id }
  params      = each.value
  seed        = 42
}

# The same parameters with three seeds: count gives each a number.
resource "training_job" "seeds" {
  count = 3

  environment = environment.py.id
  code        = "./src"
  command     = "python train.py"
  datasets    = { train = dataset.train.id }
  params      = var.sweep["small"]
  seed        = count.index
}

output "losses" {
  value = { for key, job in training_job.sweep : key => job.metrics.loss }
}
