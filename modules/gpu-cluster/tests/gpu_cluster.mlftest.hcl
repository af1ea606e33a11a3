# The gpu-cluster module with the local provider mocked: the mock stands for any provider that
# found two 80 GB H100s per node.

mock_provider "local" {
  mock_resource "cluster" {
    defaults = {
      id             = "mock:cluster"
      gpu_model      = "NVIDIA H100 80GB HBM3"
      gpu_count      = 2
      gpu_memory_mb  = 81559
      driver_version = "550.54.15"
      cuda_version   = "12.4"
      cpu_count      = 32
      memory_mb      = 257000
      price_per_hour = 6.5
      node_addresses = ["10.0.0.1", "10.0.0.2"]
      hardware_class = "gpu:NVIDIA H100 80GB HBM3x2"
    }
  }
}

run "passes_every_portable_argument" {
  command = plan

  variables {
    gpu                = "H100:2"
    nodes              = 2
    cpu                = "16+"
    memory             = "128Gi"
    spot               = true
    region             = "us-east-1"
    max_price_per_hour = 20
    idle_timeout       = "30m"
  }

  assert {
    condition     = cluster.this.gpu == "H100:2" && cluster.this.nodes == 2 && cluster.this.spot
    error_message = "gpu, nodes and spot should reach the cluster."
  }

  assert {
    condition     = cluster.this.region == "us-east-1" && cluster.this.max_price_per_hour == 20 && cluster.this.idle_timeout == "30m"
    error_message = "region, max_price_per_hour and idle_timeout should reach the cluster."
  }

  assert {
    condition     = cluster.this.cpu == "16+" && cluster.this.memory == "128Gi"
    error_message = "cpu and memory should reach the cluster."
  }
}

run "defaults_ask_for_what_is_there" {
  command = plan

  assert {
    condition     = cluster.this.gpu == "any" && cluster.this.nodes == 1 && !cluster.this.spot && cluster.this.region == null
    error_message = "By default the module asks for any GPU on one on-demand node, in the provider's region."
  }
}

run "reports_what_was_found" {
  variables {
    gpu               = "H100:2"
    nodes             = 2
    min_gpu_memory_mb = 40000
  }

  assert {
    condition     = output.id == "mock:cluster" && output.hardware_class == "gpu:NVIDIA H100 80GB HBM3x2"
    error_message = "id and hardware_class should be the cluster's."
  }

  assert {
    condition     = output.total_gpus == 4
    error_message = "total_gpus should count the GPUs of every node."
  }

  assert {
    condition     = output.facts.gpu_model == "NVIDIA H100 80GB HBM3" && output.facts.cuda_version == "12.4" && output.facts.price_per_hour == 6.5
    error_message = "facts should carry what the provider found."
  }

  assert {
    condition     = output.facts.nodes == 2 && length(output.facts.node_addresses) == 2
    error_message = "facts should name the nodes."
  }
}

run "refuses_gpus_with_too_little_memory" {
  variables {
    gpu               = "any:1"
    min_gpu_memory_mb = 100000
  }

  expect_failures = [cluster.this]
}

run "a_cluster_without_gpus" {
  variables {
    gpu = "none"
  }

  override_resource {
    target = cluster.this
    values = { gpu_model = null, gpu_count = 0, gpu_memory_mb = null, hardware_class = "cpu" }
  }

  assert {
    condition     = output.total_gpus == 0 && output.hardware_class == "cpu"
    error_message = "A cluster without GPUs has none in total and the cpu hardware class."
  }
}

run "refuses_zero_nodes" {
  command = plan

  variables {
    nodes = 0
  }

  expect_failures = [var.nodes]
}

run "refuses_an_unreadable_gpu" {
  command = plan

  variables {
    gpu = "A100:eight"
  }

  expect_failures = [var.gpu]
}

run "refuses_a_negative_price_limit" {
  command = plan

  variables {
    max_price_per_hour = -1
  }

  expect_failures = [var.max_price_per_hour]
}

# The example beside the module, its cluster mocked.
run "example" {
  module {
    source = "./example"
  }

  assert {
    condition     = output.id == "mock:cluster" && output.facts.gpu_count == 2
    error_message = "The example's outputs should be the module's."
  }
}
