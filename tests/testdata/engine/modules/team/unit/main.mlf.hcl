variable "label" { type = string }
variable "lead" { type = string }

resource "test_object" "member" {
  value = { label = var.label, lead = var.lead }
}

output "id" { value = test_object.member.id }
