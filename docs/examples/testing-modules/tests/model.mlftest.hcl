# The local provider, mocked: its kinds keep their schemas, nothing runs.
mock_provider "local" {
  mock_resource "training_job" {
    defaults = {
      model   = "file:///mock/model"
      metrics = { accuracy = 0.9 }
    }
  }
}

run "passes_params" {
  command = plan

  variables {
    learning_rate = 0.3
  }

  assert {
    condition     = training_job.model.params.lr == 0.3
    error_message = "learning_rate should reach the job's params."
  }
}

run "ships_a_good_model" {
  assert {
    condition     = output.ship
    error_message = "A model at 0.9 should ship."
  }

  assert {
    condition     = output.model == "file:///mock/model"
    error_message = "The model output should be the job's model."
  }
}

run "holds_back_a_weak_model" {
  # A new job this time (an unchanged one keeps its attributes), with worse metrics.
  plan_options {
    replace = [training_job.model]
  }

  override_resource {
    target = training_job.model
    values = { metrics = { accuracy = 0.5 } }
  }

  assert {
    condition     = !output.ship
    error_message = "A model at 0.5 should not ship."
  }

  assert {
    condition     = output.accuracy < run.ships_a_good_model.accuracy
    error_message = "Outputs of earlier runs can be compared with this one's."
  }
}

run "refuses_a_bad_learning_rate" {
  command = plan

  variables {
    learning_rate = 2
  }

  expect_failures = [var.learning_rate]
}
