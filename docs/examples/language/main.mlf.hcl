variable "runs" {
  type = map(object({
    lr     = number
    epochs = optional(number, 10)
  }))
  default = {
    a = { lr = 0.1 }
    b = { lr = 0.01, epochs = 20 }
  }
}

variable "regions" {
  type    = list(string)
  default = ["eu", "us"]
}

locals {
  names = ["digits", "mnist", "cifar"]
  sizes = { digits = 1797, mnist = 70000, cifar = 60000 }
  jobs = [
    { name = "a", gpus = 1 },
    { name = "b", gpus = 4 },
  ]
  checks = [
    { path = "/health", timeout = "2s" },
    { path = "/ready", timeout = "5s" },
  ]
  banner = <<-EOT
    datasets: ${join(", ", local.names)}
    regions:  ${length(var.regions)}
  EOT
  hosts  = <<EOT
%{for r in var.regions~}
host ${r}.example.com
%{endfor~}
EOT
}

resource "environment" "py" {
  python = "3.11"
}

# A dynamic block makes one nested block per element (at most one health_check here).
resource "deployment" "api" {
  environment = environment.py.id
  code        = "./src"
  command     = "python serve.py"

  dynamic "health_check" {
    for_each = slice(local.checks, 0, 1)
    content {
      path    = health_check.value.path
      timeout = health_check.value.timeout
    }
  }
}

# The deployment used to be called "server": move its state instead of replacing it.
moved {
  from = deployment.server
  to   = deployment.api
}
