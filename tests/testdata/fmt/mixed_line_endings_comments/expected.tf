locals {
  a   = 1 # c
  bbb = 2 # d
}
