seed=7
region =   "us-east-1"
gpus = ["A100:8",
"H100:1"]
