resource "aws_instance" "web" {
  ami = "x"
}
provider "aws" {
  region = "us-east-1"
}
resource "a" "b" {}
resource "escé\t" "q\"uote" {}
resource "a" "b" {}
