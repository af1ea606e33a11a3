variable "v" {
  type = string
}

resource "test_object" "o" {
  value = var.v
}

check "short" {
  assert {
    condition     = length(test_object.o.value) < 4
    error_message = "The value ${test_object.o.value} is longer than 3 characters."
  }
}
