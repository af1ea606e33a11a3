moved {
  from = aws_instance.a
  to = aws_instance.b
}
locals {
  x = null
  y = true
  z = false
  w = try(var.a.b, null)
  v = can(regex("^a", var.s))
}
