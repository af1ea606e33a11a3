"""mlform-runtime: runs one training job or one model server on any worker, from a JSON spec.

Standard library only, so it installs on a bare VM or in any image. `mlform-runtime run SPEC`
runs a job and `mlform-runtime serve SPEC` a server; docs/runtime.md documents the spec, the
files written at the output location, the exit statuses and the variables a command sees.
"""

from __future__ import annotations

__version__ = "0.1.0"

# Exit statuses of `mlform-runtime run` (and of `serve` where they apply).
EXIT_OK = 0  # the job succeeded (or had already succeeded); the server stopped as asked
EXIT_FAILED = 1  # the command failed (non-zero exit status, killed by a signal)
EXIT_USAGE = 2  # bad arguments, an invalid spec, or an output that holds another run's result
EXIT_ERROR = 3  # the runtime could not prepare or finish: store, fetch, environment, upload
EXIT_BUSY = 75  # another runtime is running this spec into the same output location
EXIT_TIMEOUT = 124  # the job ran past timeout_s and was stopped
EXIT_CANCELLED = 130  # cancelled: SIGTERM/SIGINT to the runtime, or a `cancel` object

__all__ = [
    "EXIT_BUSY",
    "EXIT_CANCELLED",
    "EXIT_ERROR",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_TIMEOUT",
    "EXIT_USAGE",
    "__version__",
]
