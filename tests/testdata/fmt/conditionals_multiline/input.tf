locals {
  a = var.x ? var.y : var.z
  b = (var.x
    ? var.y
    : var.z)
  c = var.x ? {
    a = 1
  } : {
    a = 2
  }
  d = [
    for x in var.l : x
    if x != ""
  ]
}
