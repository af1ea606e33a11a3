provider "test" {
  store = "objects.json"
}

variable "expected_model" {
  default = "digits-v2"
}

resource "test_object" "model" {
  value = "digits-v2"
}

# A check warns when its assertion fails; it never stops plan or apply.
check "serving_expected_model" {
  # A data source of the check's own, read at the end of plan (and again after apply).
  data "test_data" "registry" {
    input = test_object.model.value
  }

  assert {
    condition     = data.test_data.registry.output == var.expected_model
    error_message = "The registry serves ${data.test_data.registry.output}, not ${var.expected_model}."
  }
}

# Known only after apply (echo is computed when the object is created): checked then.
check "model_echoed" {
  assert {
    condition     = test_object.model.echo == test_object.model.value
    error_message = "The model object does not echo its value."
  }
}
