output "ids" {
  value = aws_instance.web[*].id
}
output "ids2" {
  value = aws_instance.web.*.id
}
locals {
  a = var.list[0]
  b = var.map["key"]
  c = var.list[ 0 ][ 1 ]
  d = module.x.out[0].attr
  e = f(var.list...)
  f = var.x[count.index]
}
