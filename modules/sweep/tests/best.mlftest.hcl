# The sweep's outputs, with the local provider mocked: nothing is trained.

mock_provider "local" {
  mock_resource "training_job" {
    defaults = {
      model   = "file:///mock/model"
      metrics = { loss = 1.0 }
    }
  }
}

variables {
  parameter_sets = {
    slow   = { lr = 0.01 }
    medium = { lr = 0.5 }
    fast   = { lr = 2.0 }
  }
  dataset_id     = "dataset-mock"
  environment_id = "environment-mock"
  code           = "./src"
  command        = "python train.py"
  metric         = "loss"
  goal           = "min"
}

# Each run's metrics, made up per instance.
override_resource {
  target = training_job.run["slow"]
  values = { metrics = { loss = 0.8 }, model = "file:///mock/slow" }
}

override_resource {
  target = training_job.run["medium"]
  values = { metrics = { loss = 0.1 }, model = "file:///mock/medium" }
}

run "plans_one_job_per_parameter_set" {
  command = plan

  assert {
    condition     = length(training_job.run) == 3
    error_message = "The sweep should plan one training job per parameter set."
  }

  assert {
    condition     = training_job.run["fast"].params.lr == 2.0
    error_message = "Each job should get its parameter set as params."
  }

  assert {
    condition     = alltrue([for k, j in training_job.run : j.seed == 0 && j.datasets["train"] == "dataset-mock"])
    error_message = "Every job should train on the dataset, named by dataset_name, with the seed."
  }
}

run "picks_the_lowest_loss" {
  assert {
    condition     = output.best_key == "medium"
    error_message = "With goal = \"min\", the run with the lowest loss should win."
  }

  assert {
    condition     = output.best_score == 0.1
    error_message = "best_score should be the best run's metric."
  }

  assert {
    condition     = output.best_model == "file:///mock/medium"
    error_message = "best_model should be the best run's model."
  }

  assert {
    condition     = output.metrics["fast"].loss == 1.0
    error_message = "A job without an override should get the mock's default metrics."
  }
}

run "picks_the_highest_with_goal_max" {
  variables {
    goal = "max"
  }

  assert {
    condition     = output.best_key == "fast"
    error_message = "With goal = \"max\", the run with the highest loss should win."
  }

  assert {
    condition     = run.picks_the_lowest_loss.jobs["slow"] == output.jobs["slow"]
    error_message = "Changing goal alone should not retrain any job."
  }
}

run "refuses_an_empty_sweep" {
  command = plan

  variables {
    parameter_sets = {}
  }

  expect_failures = [var.parameter_sets]
}

run "refuses_an_unknown_goal" {
  command = plan

  variables {
    goal = "median"
  }

  expect_failures = [var.goal]
}
