locals {
  a = var.x
  b = "x %{~if var.c~} y %{~else~} z %{~endif~}"
  c = "%{for k, v in var.m}${k}=${v} %{endfor}"
  d = { a = 1 }
  e = [1, 2]
}
