provider "test" { store = "objects.json" }

variable "teams" {
  default = { red = 1, blue = 2 }
}

variable "secret" {
  type      = string
  sensitive = true
  default   = "hunter2-very-secret"
}

data "test_data" "cfg" {
  input = { region = "eu", teams = keys(var.teams) }
}

module "team" {
  source   = "./team"
  for_each = var.teams
  name     = each.key
  size     = each.value
  region   = data.test_data.cfg.output.region
}

resource "test_object" "summary" {
  value = { for k, m in module.team : k => m.unit_ids }
}

resource "test_object" "secretive" {
  value = var.secret
}

# Read during apply: its input is only known once test_object.summary exists.
data "test_data" "late" {
  input = test_object.summary.id
}

output "units" { value = { for k, m in module.team : k => length(m.unit_ids) } }
output "late" { value = data.test_data.late.output }
