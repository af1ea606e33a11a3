# The serve module with the local provider mocked: no server is started.

mock_provider "local" {
  mock_resource "deployment" {
    defaults = {
      endpoint     = "http://127.0.0.1:8500"
      revision     = 1
      model_digest = "sha256:mock"
      status       = "healthy"
    }
  }
  mock_resource "training_job" {
    defaults = {
      model        = "file:///mock/model"
      model_digest = "sha256:mock"
      metrics      = { acc = 0.9 }
    }
  }
}

variables {
  model          = "file:///mock/model"
  environment_id = "environment-mock"
  code           = "./src"
  command        = "python serve.py"
}

run "plans_one_deployment" {
  command = plan

  assert {
    condition     = deployment.this.model == "file:///mock/model"
    error_message = "The deployment should serve the model it is given."
  }

  assert {
    condition     = deployment.this.health_check.path == "/health" && deployment.this.replicas == 1
    error_message = "The defaults should be one replica, health-checked on /health."
  }
}

run "serves" {
  variables {
    replicas    = 3
    health_path = "/ready"
    env         = { LOG_LEVEL = "debug" }
  }

  assert {
    condition     = output.endpoint == "http://127.0.0.1:8500"
    error_message = "The endpoint output should be the deployment's endpoint."
  }

  assert {
    condition     = output.revision == 1 && output.model_digest == "sha256:mock"
    error_message = "The revision and model_digest outputs should be the deployment's."
  }

  assert {
    condition     = deployment.this.replicas == 3 && deployment.this.health_check.path == "/ready"
    error_message = "replicas and health_path should reach the deployment."
  }

  assert {
    condition     = deployment.this.env["LOG_LEVEL"] == "debug"
    error_message = "env should reach the server processes."
  }
}

run "a_new_model_updates_in_place" {
  command = plan

  variables {
    replicas    = 3
    health_path = "/ready"
    env         = { LOG_LEVEL = "debug" }
    model       = "file:///mock/model-v2"
  }

  assert {
    condition     = deployment.this.model == "file:///mock/model-v2"
    error_message = "A new model should reach the deployment."
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
    condition     = output.endpoint == "http://127.0.0.1:8500"
    error_message = "The example's endpoint should be the module's."
  }

  assert {
    condition     = module.serve.model_digest == "sha256:mock"
    error_message = "The example should serve the job's model."
  }
}
