locals {
  plain       = "hello"
  escapes     = "tab\there \"quoted\" back\\slash"
  unicode     = "caf\u00e9"
  dollars     = "cost is $5 and 50%"
  escaped     = "$${not_interpolated} %%{not_a_directive}"
  interp      = "Hello, ${var.name}!"
  wrapped     = "${var.name}"
  nested      = "outer ${"inner ${var.x}"} end"
  directive   = "%{ if var.enabled }on%{ else }off%{ endif }"
  loop        = "%{ for s in var.list }${s},%{ endfor }"
  func_interp = "${upper(var.name)}-${length(var.list)}"
  empty       = ""
  heredoc     = <<EOT
line one
  line two with ${var.name}
EOT
  one_line_obj = { a = "x", b = "y" }
  nested_list  = [[1, 2], [3, [4, 5]], []]
  mixed        = [1, "two", true, null, { three = 3 }]
}

output "greeting" { value = local.interp }
