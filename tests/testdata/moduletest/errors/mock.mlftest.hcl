mock_provider "local" {
  mock_resource "training_jb" {
  }

  mock_resource "training_job" {
    defaults = { modle = "file:///x", metrics = "high" }
  }
}

run "a" {
  command = plan
}
