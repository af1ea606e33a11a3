resource "aws_iam_policy" "p" {
  policy = <<EOF2
{
  "Version": "2012-10-17",
    "Statement": [ ${ jsonencode(var.x) } ]
}
EOF2
  description = "x"
  user_data = <<-EOT
    #!/bin/bash
    echo "hello ${var.name}"
      %{ for s in var.servers ~}
      server ${s}
      %{ endfor ~}
    EOT
}
locals {
  empty = <<EOT
EOT
  a = 1
}
