run "typo_in_a_resource" {
  assert {
    condition     = test_object.b.echo == "x"
    error_message = "Never checked."
  }
}

run "after_an_error" {
  assert {
    condition     = output.echo == "x"
    error_message = "Never checked."
  }
}
