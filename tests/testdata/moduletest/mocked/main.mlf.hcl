variable "accuracy_floor" {
  type    = number
  default = 0.5
}

resource "dataset" "d" {
  source = "./does-not-exist"
}

resource "environment" "e" {
  python = "3.11"
}

resource "training_job" "t" {
  environment = environment.e.id
  code        = "./no-such-code"
  command     = "python train.py"
  datasets    = { train = dataset.d.id }

  lifecycle {
    postcondition {
      condition     = self.metrics.acc >= var.accuracy_floor
      error_message = "The model is not accurate enough."
    }
  }
}

output "model" {
  value = training_job.t.model
}

output "accuracy" {
  value = training_job.t.metrics.acc
}

output "digest" {
  value = training_job.t.model_digest
}
