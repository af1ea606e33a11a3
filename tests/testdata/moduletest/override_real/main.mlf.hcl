# Where the test provider keeps its objects: the func tests give a path they can read.
variable "store" {
  type    = string
  default = "objects.json"
}

provider "test" {
  store = var.store
}

# Kept after the test (its delete fails), so that the func test sees it was really created.
resource "test_object" "real" {
  value   = "r"
  fail_on = ["delete"]
}

resource "test_object" "faked" {
  value = "f"
}

output "echoes" {
  value = [test_object.real.echo, test_object.faked.echo]
}
