locals {
  a = 1 /* a */ # b
  list = [ # start
    "x", # x
    "yy", # yy
  ] # end
  obj = { /* c */ }
}
