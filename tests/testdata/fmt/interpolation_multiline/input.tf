locals {
  a = "${merge(
    var.a,
    var.b
  )}"
  b = "${(
    var.x
  )}"
  c = "${var.x ?
    1 : 2}"
}
