provider "test" {}

module "stage" {
  source   = "./modules/stage"
  for_each = toset(["train", "eval"])

  name  = each.key
  shard = 2
}

output "stage_ids" {
  value = { for name, stage in module.stage : name => stage.ids }
}
