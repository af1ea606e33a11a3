resource "a" "b" {
  a = "${var.x}"
  b = "${var.some_very_long_variable_name_that_goes_on}"
  c = "${var.x}${var.y}"
  d = "prefix-${var.x}"
  e = "${ var.x }"
  f = "${lookup(var.m, "k", "${var.d}")}"
  g = "${
    var.x
  }"
  h = "${var.cond ? "a" : "b"}"
  i = "${var.a}-"
}
