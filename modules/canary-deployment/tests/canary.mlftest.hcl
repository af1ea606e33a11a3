# The canary module with the local provider mocked: no server is started. Every deployment gets
# the mock's endpoint; the router's environment says how it splits the requests.

mock_provider "local" {
  mock_resource "deployment" {
    defaults = {
      endpoint     = "http://127.0.0.1:8700"
      revision     = 1
      model_digest = "sha256:mock"
      status       = "healthy"
    }
  }
  mock_resource "training_job" {
    defaults = {
      model   = "file:///mock/model"
      metrics = { accuracy = 0.93 }
    }
  }
}

variables {
  stable_model      = "file:///mock/v1"
  candidate      = { model = "file:///mock/v2", metrics = { accuracy = 0.93, loss = 0.2 } }
  metric         = "accuracy"
  threshold      = 0.9
  canary_percent = 25
  environment_id = "environment-mock"
  code           = "./src"
  command        = "python serve.py"
}

override_resource {
  target = deployment.candidate[0]
  values = { endpoint = "http://127.0.0.1:8702", model_digest = "sha256:v2" }
}

override_resource {
  target = deployment.stable
  values = { endpoint = "http://127.0.0.1:8701" }
}

run "without_a_candidate_stable_gets_everything" {
  variables {
    candidate = null
  }

  assert {
    condition     = length(deployment.candidate) == 0 && deployment.stable.model == "file:///mock/v1"
    error_message = "Without a candidate only stable should run, serving stable_model."
  }

  assert {
    condition     = deployment.router.env["STABLE_URL"] == "http://127.0.0.1:8701" && deployment.router.env["CANDIDATE_URL"] == "" && deployment.router.env["CANDIDATE_PERCENT"] == "0"
    error_message = "The router should send every request to stable."
  }

  assert {
    condition     = output.candidate_endpoint == null && output.candidate_percent == 0 && !output.promotable
    error_message = "Without a candidate there is no candidate endpoint, share or promotion."
  }
}

run "the_candidate_takes_its_share" {
  assert {
    condition     = deployment.candidate[0].model == "file:///mock/v2" && deployment.stable.model == "file:///mock/v1"
    error_message = "The candidate should serve its model beside stable."
  }

  assert {
    condition     = deployment.router.env["CANDIDATE_URL"] == "http://127.0.0.1:8702" && deployment.router.env["CANDIDATE_PERCENT"] == "25"
    error_message = "The router should send canary_percent of the requests to the candidate."
  }

  assert {
    condition     = deployment.router.code == "../router" || endswith(deployment.router.code, "/router")
    error_message = "The router should run the module's router."
  }

  assert {
    condition     = output.endpoint == deployment.router.endpoint && output.candidate_percent == 25
    error_message = "Clients should call the router."
  }

  assert {
    condition     = output.promotable
    error_message = "A healthy candidate whose accuracy reaches 0.9 should be promotable."
  }
}

run "promotion_switches_stable_to_the_candidate" {
  variables {
    promote = true
  }

  assert {
    condition     = deployment.stable.model == "file:///mock/v2"
    error_message = "Once promoted, stable should serve the candidate's model."
  }

  assert {
    condition     = deployment.router.env["CANDIDATE_PERCENT"] == "0" && output.candidate_percent == 0
    error_message = "Once promoted, the router should send every request to stable."
  }
}

run "rolling_back_is_promote_false" {
  command = plan

  assert {
    condition     = deployment.stable.model == "file:///mock/v1" && deployment.router.env["CANDIDATE_PERCENT"] == "25"
    error_message = "promote = false again should give stable its model back and the candidate its share."
  }
}

run "a_metric_under_the_threshold_refuses_promotion" {
  command = plan

  variables {
    promote   = true
    candidate = { model = "file:///mock/v2", metrics = { accuracy = 0.85 } }
  }

  expect_failures = [deployment.stable]
}

run "a_lower_is_better_metric" {
  command = plan

  variables {
    promote   = true
    metric    = "loss"
    goal      = "min"
    threshold = 0.25
  }

  assert {
    condition     = deployment.stable.model == "file:///mock/v2"
    error_message = "With goal = \"min\", a loss under the threshold should allow promotion."
  }
}

run "a_missing_metric_refuses_promotion" {
  command = plan

  variables {
    promote = true
    metric  = "f1"
  }

  expect_failures = [deployment.stable]
}

run "an_unhealthy_candidate_refuses_promotion" {
  # A new candidate model, promoted at once: the candidate's health is known only once it is
  # deployed, so the check waits for apply, and there the candidate reports itself unhealthy.
  variables {
    promote   = true
    candidate = { model = "file:///mock/v3", metrics = { accuracy = 0.95 } }
  }

  override_resource {
    target = deployment.candidate[0]
    values = { endpoint = "http://127.0.0.1:8702", status = "unhealthy" }
  }

  expect_failures = [deployment.stable]
}

run "promote_without_a_candidate_is_refused" {
  command = plan

  variables {
    promote   = true
    candidate = null
  }

  expect_failures = [deployment.stable]
}

run "refuses_a_share_over_100" {
  command = plan

  variables {
    canary_percent = 150
  }

  expect_failures = [var.canary_percent]
}

# The example beside the module, everything it creates mocked.
run "example" {
  module {
    source = "./example"
  }

  assert {
    condition     = output.candidate_percent == 25 && output.promotable
    error_message = "The example's candidate should take 25% and be promotable."
  }
}
