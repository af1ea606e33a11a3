variable "teams" {
  type    = map(object({ size = number, tags = optional(list(string), []) }))
  default = {
    a = { size = 1 }
    b = { size = 2, tags = ["x"] }
  }
}

module "team" {
  source   = "./modules/child"
  for_each = var.teams
  name     = each.key
  size     = each.value.size
}

output "names" {
  value = { for k, m in module.team : k => m.label }
}

output "total" {
  value = sum([for m in module.team : m.size])
}
