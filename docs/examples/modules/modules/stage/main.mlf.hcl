variable "name" {
  type = string
}

variable "shard" {
  type    = number
  default = 1
}

resource "test_object" "shard" {
  count = var.shard
  value = "${var.name}-${count.index}"
}

output "ids" {
  value = test_object.shard[*].id
}
