varable "x" {}

variable "seed" {
  type    = number
  default = 42
}

resource "dataset" "digits" {
  source = "./data"
}

resource "training_job" "digits" {
  enviroment = "env-1"
  code       = "./src"
  command    = "python train.py"
  datasets   = { train = dataset.digits.id }
  seed       = var.sed
}

locals {
  a = local.b
  b = local.a
}

output "bad" {
  value = 1 + "a"
}

resource "dataset" "digits" {
  source = "./other"
}
