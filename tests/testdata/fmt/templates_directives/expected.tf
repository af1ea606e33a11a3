locals {
  greeting = "Hello, %{if var.name != ""}${var.name}%{else}stranger%{endif}!"
  list     = "%{for i in var.items}${i},%{endfor}"
  strip    = "${var.a~}   text  %{~if true}x%{endif}"
  escaped  = "$${not_interp} %%{not_directive}"
  nested   = format("%s-%s", var.a, "${var.b}")
}
