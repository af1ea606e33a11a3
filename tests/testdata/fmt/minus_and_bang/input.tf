locals {
  a = [1, -1, - 1]
  b = 1 -1
  c = (-1)
  d = f(-x, !y)
  e = x ? -1 : -2
  f = -(1)
  g = ! true
  h = x == -1
  i = {a = -1}
  j = [for x in y : -x]
  k = x[-1 + 1]
}
