variable "a" {
  type = "string"
}
variable "b" {
  type = "list"
}
variable "c" {
  type = "map"
}
variable "d" {
  type = list
}
variable "e" {
  type = map
}
variable "f" {
  type = set
}
variable "g" {
  type = "number"
}
variable "h" {
  type = object({ name = string, size = number })
}
resource "x" "y" {
  type = "string"
  nested {
    type = "list"
  }
}
