locals {
  a = join("\n", [<<EOT
one
EOT
  , "two"])
  b = <<EOT
${
  var.x
}
EOT
  c = <<-EOT
      %{~ for x in var.l ~}
      ${x}
      %{~ endfor ~}
  EOT
  d = f(<<A
a
A
  , 2)
  e = "${<<EOT
inner
EOT
  }"
}
