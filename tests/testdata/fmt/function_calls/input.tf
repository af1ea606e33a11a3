locals {
  a = join(",", var.list)
  b = format( "%s", var.x )
  c = cidrsubnet(var.cidr,8,count.index)
  d = lookup(
    var.map,
    "key",
    "default"
  )
  e = merge(var.a, {
    x = 1
  })
  f = jsonencode({
    a = 1
    bb = [1, 2]
  })
}
