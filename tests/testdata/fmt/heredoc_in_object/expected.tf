locals {
  m = {
    script = <<-EOT
      echo hi
    EOT
    other  = "x"
    third  = 3
  }
  after = 1
  l = [<<EOT
line
EOT
  , "b"]
}
