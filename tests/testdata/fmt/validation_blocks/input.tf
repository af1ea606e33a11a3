variable "image_id" {
  type        = string
  description = "The id of the machine image (AMI) to use for the server."
  validation {
    condition     = length(var.image_id) > 4 && substr(var.image_id, 0, 4) == "ami-"
    error_message = "The image_id value must be a valid AMI id, starting with \"ami-\"."
  }
}
variable "obj" {
  type = object({
    name = string
    tags = map(string)
    ports = list(number)
  })
  default = {
    name = "x"
    tags = {}
    ports = [80]
  }
}
