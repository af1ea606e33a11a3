/* Block comment at the top,
   spanning lines. */
provider "aws" {
  region = "us-east-1" # inline
  alias  = "east"
}

provider "aws" { region = "eu-west-1" }

resource "null_resource" "x" {}

resource aws_instance bare_labels {
  ami = "ami-123"
}

locals {
  script = <<-EOT
    #!/bin/bash
    echo "${var.name}"
      indented
    done
  EOT
  json      = jsonencode({ "a" = 1, b = [true, false] })
  long_list = [
    "a",
    "b", # comment after an item
    "c"
  ]
  multiline_call = format(
    "%s-%s",
    var.a,
    var.b,
  )
  cond_multi = (
    var.a
    ? "yes"
    : "no"
  )
  nested_index = var.m["key"][0].field
  attr_after_call = lookup(var.m, "k", {}).value
  splat_index     = var.list[*].items[0]
  for_nested      = [for x in var.xs : [for y in x.ys : "${x.name}/${y}"]]
  object_group    = { for p in var.people : p.team => p.name... if p.active }
  negative        = -42
  negatives       = [-1, -2.5]
  not_expr        = !var.enabled
  number_exp      = 2e10
  compare         = var.a == "x" || var.b != "y"
}

output "o" {
  value = {
    a = 1
    b = "two"
    c = [3]
  }
}
