variable "team" {
  description = "Who owns these objects."
  type        = string
}

variable "replicas" {
  type    = number
  default = 1

  validation {
    condition     = var.replicas >= 1 && var.replicas <= 4
    error_message = "replicas must be between 1 and 4."
  }
}

variable "labels" {
  type = object({
    stage = string
    tier  = optional(string, "standard")
  })
  default = { stage = "dev" }
}
