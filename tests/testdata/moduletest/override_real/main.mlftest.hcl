# The test provider is not mocked: only the overridden object is made up.
override_resource {
  target = test_object.faked
  values = { echo = "made up" }
}

run "one_real_one_made_up" {
  assert {
    condition     = output.echoes == ["r", "made up"]
    error_message = "Only the overridden object should be made up."
  }
}
