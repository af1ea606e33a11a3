# The gpu-cluster module on this machine: whatever GPUs it has (possibly none), and what it found.
#
#   mlform apply && mlform output facts
#
# On a cloud provider the same call provisions machines: set default_provider (or pass
# `providers = { aws = aws.us_east_1 }`) and ask for gpu = "A100:8", spot = true, a region.

module "gpus" {
  source = "../"

  gpu = "any"
}

output "id" {
  value = module.gpus.id
}

output "facts" {
  value = module.gpus.facts
}
