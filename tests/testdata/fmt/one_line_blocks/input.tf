resource "null_resource" "a" {}
resource "null_resource" "b" {   }
variable "x" { default = 1 }
variable "y" {default="y"}
output "o" { value = var.x }
terraform { required_version = ">= 1.0" }
