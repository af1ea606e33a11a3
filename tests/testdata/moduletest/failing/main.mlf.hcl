# Where the test provider keeps its objects: the func tests give a path they can read.
variable "store" {
  type    = string
  default = "objects.json"
}

provider "test" {
  store = var.store
}

variable "value" {
  type    = string
  default = "one"
}

resource "test_object" "a" {
  value = var.value
}

output "echo" {
  value = test_object.a.echo
}
