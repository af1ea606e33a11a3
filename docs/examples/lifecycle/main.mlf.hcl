provider "test" {}

variable "schema_version" {
  type    = string
  default = "v1"
}

resource "test_object" "table" {
  value     = "features"
  immutable = var.schema_version # a change forces replacement

  lifecycle {
    create_before_destroy = true
  }
}

resource "test_object" "report" {
  value = "report of ${test_object.table.id}"

  lifecycle {
    ignore_changes       = [value]
    replace_triggered_by = [test_object.table]
  }
}

resource "test_object" "audit" {
  value      = "audit"
  depends_on = [test_object.report]
}
