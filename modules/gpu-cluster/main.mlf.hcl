# One cluster, one interface, any provider: the portable `cluster` kind behind variables that
# mean the same everywhere, and its facts as outputs.
#
# See README.md. The provider is the caller's choice: the default provider of the configuration
# (`mlform { default_provider = "aws" }`), or the one passed with `providers = { ... }`.

variable "gpu" {
  description = "The GPUs per node: \"any\" (what is there, possibly none), \"none\", a model (\"H100\"), \"MODEL:N\" (\"A100:8\") or \"any:N\"."
  type        = string
  default     = "any"

  validation {
    condition     = can(regex("^(any|none|0|any:[0-9]+|[A-Za-z0-9 _.-]+(:[0-9]+)?)$", var.gpu))
    error_message = "gpu must be \"any\", \"none\", a model such as \"H100\", \"MODEL:N\" such as \"A100:8\", or \"any:N\"."
  }
}

variable "nodes" {
  description = "How many machines."
  type        = number
  default     = 1

  validation {
    condition     = var.nodes >= 1 && floor(var.nodes) == var.nodes
    error_message = "nodes must be a whole number, at least 1."
  }
}

variable "cpu" {
  description = "At least this many CPU cores per node (8, or \"8+\"); null for no requirement."
  type        = string
  default     = null
}

variable "memory" {
  description = "At least this much memory per node (\"64Gi\"); null for no requirement."
  type        = string
  default     = null
}

variable "spot" {
  description = "Use spot / preemptible capacity where the provider has it."
  type        = bool
  default     = false
}

variable "region" {
  description = "Where to provision, for providers with regions; null for the provider's own."
  type        = string
  default     = null
}

variable "max_price_per_hour" {
  description = "Refuse capacity that costs more than this per hour (USD, all nodes); null for no limit."
  type        = number
  default     = null

  validation {
    condition     = var.max_price_per_hour == null || try(var.max_price_per_hour > 0, false)
    error_message = "max_price_per_hour must be a positive number of USD, or null."
  }
}

variable "idle_timeout" {
  description = "Release the machines after this long unused (\"30m\"), for providers that provision them; null to keep them."
  type        = string
  default     = null
}

variable "min_gpu_memory_mb" {
  description = "Refuse GPUs with less memory than this (MiB), once the provider says what it found; null for no requirement."
  type        = number
  default     = null
}

resource "cluster" "this" {
  gpu                = var.gpu
  nodes              = var.nodes
  cpu                = var.cpu
  memory             = var.memory
  spot               = var.spot
  region             = var.region
  max_price_per_hour = var.max_price_per_hour
  idle_timeout       = var.idle_timeout

  lifecycle {
    postcondition {
      condition     = var.min_gpu_memory_mb == null || try(self.gpu_memory_mb >= var.min_gpu_memory_mb, false)
      error_message = "The GPUs found have ${coalesce(self.gpu_memory_mb, 0)} MiB of memory each, less than the ${coalesce(var.min_gpu_memory_mb, 0)} MiB asked for (min_gpu_memory_mb)."
    }
  }
}

output "id" {
  description = "The cluster's id: pass it as `cluster` (or `cluster_id` to the other modules)."
  value       = cluster.this.id
}

output "hardware_class" {
  description = "What decides a job's results on this hardware: \"cpu\" or \"gpu:<model>x<count>\"."
  value       = cluster.this.hardware_class
}

output "total_gpus" {
  description = "GPUs across every node."
  value       = coalesce(cluster.this.gpu_count, 0) * var.nodes
}

output "facts" {
  description = "What the provider found or provisioned, with the same names on every provider."
  value = {
    gpu_model      = cluster.this.gpu_model
    gpu_count      = cluster.this.gpu_count
    gpu_memory_mb  = cluster.this.gpu_memory_mb
    driver_version = cluster.this.driver_version
    cuda_version   = cluster.this.cuda_version
    cpu_count      = cluster.this.cpu_count
    memory_mb      = cluster.this.memory_mb
    price_per_hour = cluster.this.price_per_hour
    node_addresses = cluster.this.node_addresses
    hardware_class = cluster.this.hardware_class
    nodes          = var.nodes
    spot           = var.spot
    region         = var.region
  }
}
