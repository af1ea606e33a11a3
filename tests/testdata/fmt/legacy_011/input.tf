variable "subnets" { type = "list" }
variable "tags" {
  type = "map"
  default = {}
}
resource "aws_subnet" "public" {
  count             = "${length(var.subnets)}"
  vpc_id            = "${aws_vpc.main.id}"
  cidr_block        = "${element(var.subnets, count.index)}"
  map_public_ip_on_launch = true
  tags = "${merge(var.tags, map("Name", format("%s-public-%d", var.name, count.index)))}"
}
output "ids" { value = ["${aws_subnet.public.*.id}"] }
