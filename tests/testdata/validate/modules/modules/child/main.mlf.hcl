variable "name" {
  type = string
  validation {
    condition     = length(var.name) > 0
    error_message = "A team needs a name."
  }
}

variable "size" {
  type    = number
  default = 1
}

locals {
  label = "team-${var.name}"
}

output "label" {
  value = local.label
}

output "size" {
  value = var.size * 10
}
