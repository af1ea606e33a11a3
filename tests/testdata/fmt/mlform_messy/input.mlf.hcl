resource training_job "big" {
cluster="${cluster.gpu.id}"
    environment   =  environment.torch.id
  params = {
  lr = 0.001
      batch_size=64
    epochs = 10
  }
datasets = {train = dataset.train.id, eval = dataset.eval.id}
  aws {
  instance_type = "p4d.24xlarge"
  spot = true
  }
  lifecycle { prevent_destroy = true }
}
