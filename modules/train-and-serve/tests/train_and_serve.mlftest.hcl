# The train-and-serve module with the local provider mocked: nothing is trained or served.

mock_provider "local" {
  mock_resource "dataset" {
    defaults = {
      id     = "sha256:data"
      digest = "sha256:data"
    }
  }
  mock_resource "environment" {
    defaults = {
      id = "environment-mock"
    }
  }
  mock_resource "training_job" {
    defaults = {
      id           = "run-mock"
      model        = "file:///mock/model"
      model_digest = "sha256:model"
      metrics      = { loss = 0.01 }
    }
  }
  mock_resource "deployment" {
    defaults = {
      endpoint     = "http://127.0.0.1:8600"
      revision     = 1
      model_digest = "sha256:model"
      status       = "healthy"
    }
  }
}

variables {
  data_source   = "./data/points.csv"
  data_name     = "points"
  code          = "./src"
  train_command = "python train.py"
  params        = { lr = 0.5 }
  serve_command = "python serve.py"
}

run "plans_the_chain" {
  command = plan

  assert {
    condition     = training_job.train.params.lr == 0.5 && training_job.train.seed == 0
    error_message = "params and the default seed should reach the job."
  }

  assert {
    condition     = deployment.serve.code == "./src" && deployment.serve.health_check.path == "/health"
    error_message = "Without serve_code the server runs from code, health-checked on /health."
  }
}

run "serves_the_trained_model" {
  assert {
    condition     = training_job.train.datasets["points"] == "sha256:data"
    error_message = "The job should train on the dataset, under data_name."
  }

  assert {
    condition     = training_job.train.environment == "environment-mock" && deployment.serve.environment == "environment-mock"
    error_message = "The job and the deployment should run in the module's environment."
  }

  assert {
    condition     = deployment.serve.model == training_job.train.model
    error_message = "The deployment should serve the job's model."
  }

  assert {
    condition     = output.endpoint == "http://127.0.0.1:8600" && output.model_digest == "sha256:model"
    error_message = "endpoint and model_digest should be the deployment's."
  }

  assert {
    condition     = output.metrics.loss == 0.01 && output.job_id == "run-mock"
    error_message = "metrics and job_id should be the job's."
  }

  assert {
    condition     = output.dataset_digest == "sha256:data"
    error_message = "dataset_digest should be the dataset's."
  }
}

run "a_gate_that_holds_serves" {
  variables {
    gate_metric    = "loss"
    gate_goal      = "min"
    gate_threshold = 0.05
  }

  assert {
    condition     = output.revision == 1
    error_message = "A model whose loss is under the threshold should be served."
  }
}

run "a_gate_that_fails_refuses_the_model" {
  variables {
    gate_metric    = "loss"
    gate_goal      = "min"
    gate_threshold = 0.05
    params         = { lr = 3.0 }
  }

  override_resource {
    target = training_job.train
    values = { metrics = { loss = 4.5 }, model = "file:///mock/diverged" }
  }

  expect_failures = [deployment.serve]
}

run "a_gate_on_a_missing_metric_refuses_the_model" {
  variables {
    gate_metric    = "accuracy"
    gate_threshold = 0.9
  }

  expect_failures = [deployment.serve]
}

run "separate_server_code" {
  command = plan

  variables {
    serve_code = "./server"
    replicas   = 2
  }

  assert {
    condition     = deployment.serve.code == "./server" && deployment.serve.replicas == 2
    error_message = "serve_code and replicas should reach the deployment."
  }
}

run "refuses_zero_replicas" {
  command = plan

  variables {
    replicas = 0
  }

  expect_failures = [var.replicas]
}

# The example beside the module, everything it creates mocked.
run "example" {
  module {
    source = "./example"
  }

  assert {
    condition     = output.endpoint == "http://127.0.0.1:8600" && output.loss == 0.01
    error_message = "The example's outputs should be the module's."
  }
}
