locals {
  a = "quote \" inside"
  b = "backslash \\ n"
  c = "newline\nand tab\t"
  d = "unicode \u00e9 \U0001F600"
  e = "dollar $ and percent % alone"
  f = "$"
  g = "100%"
  h = ""
}
