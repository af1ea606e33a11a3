run "early" {
  assert {
    condition     = run.late.echo == "x"
    error_message = "run.late has not run yet."
  }
}

run "late" {
}
