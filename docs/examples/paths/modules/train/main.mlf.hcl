variable "code" { type = string }

resource "training_job" "this" {
  code    = var.code # a path the root passed in: relative to where mlform runs
  command = "python train.py"
  params  = jsondecode(file("${path.module}/params.json")) # the params.json beside this file
}
