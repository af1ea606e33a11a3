replicas = 3
labels   = { stage = "prod", tier = "gold" }
