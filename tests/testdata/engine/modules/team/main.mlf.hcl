variable "name" { type = string }
variable "size" { type = number }
variable "region" { type = string }

resource "test_object" "lead" {
  value = "${var.name}@${var.region}"
}

module "unit" {
  source = "./unit"
  count  = var.size
  label  = "${var.name}-${count.index}"
  lead   = test_object.lead.id
}

output "unit_ids" { value = module.unit[*].id }
