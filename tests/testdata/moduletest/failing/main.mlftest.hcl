run "first" {
  assert {
    condition     = output.echo == "two"
    error_message = "The echo output should be two."
  }
}

run "second" {
  assert {
    condition     = output.echo == "one"
    error_message = "The echo output should be one."
  }
}
