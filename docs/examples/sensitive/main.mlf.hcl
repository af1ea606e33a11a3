provider "test" {}

variable "api_token" {
  type      = string
  sensitive = true
  default   = "tok-123"
}

resource "test_object" "client" {
  value = {
    url   = "https://registry.example.com"
    token = var.api_token
  }
}

output "token" {
  value     = var.api_token
  sensitive = true
}

output "token_length" {
  value = nonsensitive(length(var.api_token))
}
