provider "aws" {
  region = var.region
  alias = "east"
}

resource "aws_s3_bucket" "b" {
  bucket = "my-tf-test-bucket"
  acl    = "private"

  versioning {
    enabled = true
  }

  server_side_encryption_configuration {
    rule {
      apply_server_side_encryption_by_default {
        kms_master_key_id = aws_kms_key.mykey.arn
        sse_algorithm     = "aws:kms"
      }
    }
  }

  lifecycle_rule {
    id      = "log"
    enabled = true

    prefix = "log/"

    tags = {
      rule      = "log"
      autoclean = "true"
    }

    transition {
      days          = 30
      storage_class = "STANDARD_IA" # or "ONEZONE_IA"
    }

    expiration {
      days = 90
    }
  }
}

resource "aws_instance" "multi" {
  for_each = toset(["a", "b"])
  ami = data.aws_ami.ubuntu.id
  instance_type = each.key == "a" ? "t2.micro" : "t2.small"
  provider = aws.east
  depends_on = [aws_s3_bucket.b]
  user_data = templatefile("${path.module}/init.sh", {
    name = each.key
  })
}
