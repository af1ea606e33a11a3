variables {
  name = "alpha"
}

run "creates" {
  assert {
    condition     = output.echo == "alpha-1"
    error_message = "echo should repeat the value."
  }
}

run "updates_in_place" {
  variables {
    size = 2
  }

  assert {
    condition     = output.echo == "alpha-2"
    error_message = "echo should follow the value."
  }

  assert {
    condition     = output.id == run.creates.id
    error_message = "A change of value should update the object in place."
  }
}

run "plan_only" {
  command = plan

  variables {
    name = "${run.updates_in_place.echo}-b"
  }

  assert {
    condition     = test_object.a.value == "alpha-2-b-1"
    error_message = "A run's variables may use an earlier run's outputs."
  }
}

run "rejects_zero" {
  command = plan

  variables {
    size = 0
  }

  expect_failures = [var.size]
}
