# A typical Terraform module: a VPC with public and private subnets.

terraform {
  required_version = ">= 1.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }

  backend "s3" {
    bucket = "tf-state"
    key    = "network/terraform.tfstate"
    region = "us-east-1"
  }
}

variable "cidr_block" {
  type        = string
  default     = "10.0.0.0/16"
  description = "The CIDR block of the VPC."

  validation {
    condition     = can(cidrhost(var.cidr_block, 0))
    error_message = "The cidr_block must be a valid CIDR block."
  }
}

variable "azs" {
  type    = list(string)
  default = ["us-east-1a", "us-east-1b", "us-east-1c"]
}

variable "tags" {
  type    = map(string)
  default = {}
}

variable "settings" {
  type = object({
    enable_nat = optional(bool, true)
    single_nat = optional(bool, false)
  })
  default = {}
}

locals {
  name       = "main-${terraform.workspace}"
  public     = [for i, az in var.azs : cidrsubnet(var.cidr_block, 8, i)]
  private    = [for i, az in var.azs : cidrsubnet(var.cidr_block, 8, i + 10)]
  nat_count  = var.settings.enable_nat ? (var.settings.single_nat ? 1 : length(var.azs)) : 0
  by_az      = { for i, az in var.azs : az => local.public[i] }
  az_groups  = { for az in var.azs : substr(az, 0, 9) => az... }
  common_tags = merge(var.tags, {
    Module    = "vpc"
    Workspace = terraform.workspace
  })
  first_ids = aws_subnet.public[*].id
  legacy    = aws_subnet.public.*.id
  zero      = aws_subnet.public.0.id
  dyn       = aws_subnet.public[var.index].cidr_block
  math      = (1 + 2) * 3 - 4 / 2 % 3
  logic     = !false && (true || false) && 1 < 2 && 2 >= 2 && 3 != 4
}

resource "aws_vpc" "this" {
  cidr_block           = var.cidr_block
  enable_dns_hostnames = true
  tags                 = merge(local.common_tags, { Name = local.name })
}

resource "aws_subnet" "public" {
  count                   = length(var.azs)
  vpc_id                  = aws_vpc.this.id
  cidr_block              = local.public[count.index]
  availability_zone       = element(var.azs, count.index)
  map_public_ip_on_launch = true

  tags = {
    Name = "${local.name}-public-${count.index}"
    Tier = "public"
  }
}

resource "aws_subnet" "private" {
  for_each          = toset(var.azs)
  vpc_id            = aws_vpc.this.id
  cidr_block        = local.private[index(var.azs, each.key)]
  availability_zone = each.value

  lifecycle {
    create_before_destroy = true
    ignore_changes        = [tags]
  }
}

resource "aws_security_group" "web" {
  name   = "web"
  vpc_id = aws_vpc.this.id

  dynamic "ingress" {
    for_each = [80, 443]
    content {
      from_port   = ingress.value
      to_port     = ingress.value
      protocol    = "tcp"
      cidr_blocks = ["0.0.0.0/0"]
    }
  }
}

data "aws_ami" "ubuntu" {
  most_recent = true
  owners      = ["099720109477"]

  filter {
    name   = "name"
    values = ["ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*"]
  }
}

module "endpoints" {
  source     = "./modules/endpoints"
  vpc_id     = aws_vpc.this.id
  subnet_ids = values(aws_subnet.private)[*].id
  depends_on = [aws_vpc.this]
}

output "vpc_id" {
  value       = aws_vpc.this.id
  description = "The VPC's id."
}

output "subnets" {
  value     = { public = aws_subnet.public[*].id, private = [for s in aws_subnet.private : s.id] }
  sensitive = false
}
