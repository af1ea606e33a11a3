# Where the test provider keeps its objects: the func tests give a path they can read.
variable "store" {
  type    = string
  default = "objects.json"
}

provider "test" {
  store = var.store
}

resource "test_object" "keep" {
  value   = "stuck"
  fail_on = ["delete"]
}
