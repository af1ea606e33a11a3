locals {
  upper   = [for s in var.list : upper(s)]
  m       = { for k, v in var.map : k => v if v != null }
  grouped = { for x in var.items : x.key => x.value... }
  idx     = [for i, v in var.list : "${i}-${v}"]
  lit     = [for x in [1, 2, 3] : x * 2]
  multi = {
    for k, v in var.m :
    k => v
  }
}
