mock_provider "local" {
  mock_resource "training_job" {
    defaults = {
      model   = "file:///mock"
      metrics = { acc = 0.9 }
    }
  }
}

run "trains_without_training" {
  assert {
    condition     = output.model == "file:///mock" && output.accuracy == 0.9
    error_message = "The mock's defaults should be the job's attributes."
  }

  assert {
    condition     = length(output.digest) == 8
    error_message = "An attribute without a default should get an 8-character placeholder."
  }

  assert {
    condition     = training_job.t.datasets["train"] == dataset.d.id
    error_message = "The job should train on the dataset."
  }
}

run "postcondition_fails" {
  variables {
    accuracy_floor = 0.95
  }

  override_resource {
    target = training_job.t
    values = { metrics = { acc = 0.5 } }
  }

  # A new object, so that the override applies (an unchanged one keeps its attributes).
  plan_options {
    replace = [training_job.t]
  }

  expect_failures = [training_job.t]
}

run "known_in_the_plan" {
  command = plan

  override_resource {
    target          = training_job.t
    values          = { model = "file:///planned" }
    override_during = plan
  }

  variables {
    accuracy_floor = 0
  }

  plan_options {
    replace = [training_job.t]
  }

  assert {
    condition     = output.model == "file:///planned"
    error_message = "override_during = plan should make the value known in the plan."
  }
}
