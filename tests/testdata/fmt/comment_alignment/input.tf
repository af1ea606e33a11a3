locals {
  a = 1 # one
  bbbbb = 2 # two
  c = "three" # three

  d = 4 # four
  eeeeeeeeee = [1, 2] # five
  f = {} # six
}
resource "x" "y" {
  # header
  a = 1     # a
  # middle
  b = 2 # b
}
