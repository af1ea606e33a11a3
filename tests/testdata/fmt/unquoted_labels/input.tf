resource aws_instance web {
  ami = "x"
}
provider aws {
  region = "us-east-1"
}
resource "a" b {}
resource "esc\u00e9\t" "q\"uote" {}
resource /* c */ "a" /* d */ "b" {}
