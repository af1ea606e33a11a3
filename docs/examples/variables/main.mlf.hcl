provider "test" {}

locals {
  name = "${var.team}-${var.labels.stage}"
}

resource "test_object" "server" {
  count = var.replicas
  value = "${local.name}-${count.index} (${var.labels.tier})"
}

output "servers" {
  value = test_object.server[*].value
}
