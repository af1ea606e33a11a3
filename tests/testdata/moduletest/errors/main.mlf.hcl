# Where the test provider keeps its objects: the func tests give a path they can read.
variable "store" {
  type    = string
  default = "objects.json"
}

provider "test" {
  store = var.store
}

resource "test_object" "a" {
  value = "x"
}

output "echo" {
  value = test_object.a.echo
}
