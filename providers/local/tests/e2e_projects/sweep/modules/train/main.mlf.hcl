# One training run of the line fit: a dataset, its params, and the code beside this file.

variable "cluster" {
  type = string
}

variable "environment" {
  type = string
}

variable "dataset" {
  description = "The id of the dataset to train on (given to the script as MLFORM_DATA_TRAIN)."
  type        = string
}

variable "lr" {
  type = number
}

variable "epochs" {
  type    = number
  default = 20
}

resource "training_job" "this" {
  cluster     = var.cluster
  environment = var.environment
  code        = "${path.module}/src"
  command     = "python train.py"
  datasets    = { train = var.dataset }
  params      = { lr = var.lr, epochs = var.epochs }
  seed        = 7
  timeout     = "1m"
}

output "model" {
  value = training_job.this.model
}

output "metrics" {
  value = training_job.this.metrics
}
