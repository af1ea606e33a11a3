"""`mlform test`: module tests written in `*.mlftest.hcl` files, as Terraform's `terraform test`.

`config` decodes test files (runs, variables, providers, mocks, overrides); `mock` builds the
mocked and overridden providers the engine is given instead of the real ones; `runner` runs
each file's runs in order against a temporary state, checks their assertions and destroys what
they applied; `junit` writes the results for CI.
"""

from __future__ import annotations

from mlform.moduletest.runner import FileResult, Reporter, RunResult, SuiteResult, TestRunner

__all__ = ["FileResult", "Reporter", "RunResult", "SuiteResult", "TestRunner"]
