# Step 1: everything is created.
provider "test" { store = "objects.json" }

variable "names" { default = ["x", "y", "z"] }

resource "test_object" "base" {
  value     = "v1"
  immutable = "i1"
}

resource "test_object" "counted" {
  count = 3
  value = "${test_object.base.value}-${count.index}"
}

resource "test_object" "keyed" {
  for_each = toset(var.names)
  value    = { name = each.key, size = 1 }
}

resource "test_object" "loner" {
  value = true
}

output "base_id" { value = test_object.base.id }
