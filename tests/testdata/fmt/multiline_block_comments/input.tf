locals {
  a = 1 /* spans
  lines */
  b = 2
  ccc = 3
  /* before */ dd = 4
  e = /* mid */ 5
  f /* name */ = 6
  g = [ /* open
  */ 1]
}
