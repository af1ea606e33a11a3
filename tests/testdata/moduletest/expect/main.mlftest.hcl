run "expects_a_failure_that_does_not_come" {
  command = plan

  variables {
    size = 3
  }

  expect_failures = [var.size]
}
