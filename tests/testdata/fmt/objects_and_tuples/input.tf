locals {
  obj = {
    a = 1,
    "b" = 2
    c: 3
    (local.k) = 4
  }
  tup = [
    "a",
    "b",
  ]
  inline = {a=1, b=2}
  nested = {x = {y = [1, 2, {z = 3}]}}
  empty_obj = {}
  empty_tup = []
  mixed = [{a = 1}, {b = [ ]}]
}
