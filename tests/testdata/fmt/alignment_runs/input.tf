locals {
  a = 1
  bbb = 2
  cc = 3

  dddd = 4
  e = 5
  # comment breaks?
  ffffff = 6
  g = {
    h = 1
  }
  iii = 7
  j = [1,
  2]
  kkkkkkkk = 8
}
