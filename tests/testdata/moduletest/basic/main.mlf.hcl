# Where the test provider keeps its objects: the func tests give a path they can read.
variable "store" {
  type    = string
  default = "objects.json"
}

provider "test" {
  store = var.store
}

variable "name" {
  type = string
}

variable "size" {
  type    = number
  default = 1

  validation {
    condition     = var.size > 0
    error_message = "size must be positive."
  }
}

resource "test_object" "a" {
  value = "${var.name}-${var.size}"
}

output "echo" {
  value = test_object.a.echo
}

output "id" {
  value = test_object.a.id
}
