provider "test" {
  store = "objects.json"
}

variable "expected" {
  default = "one"
}

resource "test_object" "a" {
  value = "one"
}

# Decided while planning: its data source's input is known then.
check "value_matches" {
  data "test_data" "probe" {
    input = test_object.a.value
  }

  assert {
    condition     = data.test_data.probe.output == var.expected
    error_message = "test_object.a holds ${data.test_data.probe.output}, not ${var.expected}."
  }
}

# Known after apply: echo is computed when the object is created.
check "echo_matches" {
  assert {
    condition     = test_object.a.echo == var.expected
    error_message = "test_object.a echoes ${test_object.a.echo}, not ${var.expected}."
  }
}

module "m" {
  source   = "./mod"
  for_each = toset(["ab", "abcdef"])
  v        = each.key
}
