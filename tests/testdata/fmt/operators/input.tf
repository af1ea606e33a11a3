locals {
  a = 1+2*3-4/5%6
  b = -1
  c = var.x - 1
  d = !var.b
  e = var.a&&var.b||!var.c
  f = var.a==var.b
  g = var.a!=var.b
  h = var.a<var.b
  i = var.a>=var.b
  j = (var.a + 1) * -2
  k = [-1, - 2]
  l = var.cond ? -1 : 1
  m = f(-1)
  n = 5 - -3
}
