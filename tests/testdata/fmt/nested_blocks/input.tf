resource "aws_security_group" "sg" {
name = "sg"
ingress {
from_port = 443
to_port = 443
protocol = "tcp"
cidr_blocks = ["0.0.0.0/0"]
}
egress {
    from_port        = 0
    to_port          = 0
    protocol         = "-1"
  }
  lifecycle {
      create_before_destroy = true
      ignore_changes = [tags, ami]
  }
  dynamic "setting" {
    for_each = var.settings
    content {
      namespace = setting.value["namespace"]
      name = setting.value.name
    }
  }
}
