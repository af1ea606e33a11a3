module "train" {
  source = "./modules/train"
  code   = "./src" # the root's src/: relative to where mlform runs
}
