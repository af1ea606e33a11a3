variable "name" {
  type    = string
  default = "digits"
}

resource "dataset" "d" {
  source  = "./data/${var.name}"
  sourc   = "typo"
  version = ["x"]
}

resource "local_nope" "x" {
  path = "a"
}

data "dataset" "e" {
  source = "b"
}

resource "test_object" "o" {
  value = "x"
}
