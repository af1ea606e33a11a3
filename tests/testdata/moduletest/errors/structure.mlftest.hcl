run "a" {
  comand = plan

  asert {
    condition = true
  }
}

mock_provder "local" {
}
