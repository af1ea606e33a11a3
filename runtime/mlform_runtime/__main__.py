"""`python -m mlform_runtime`: the same as the `mlform-runtime` command."""

from __future__ import annotations

import sys

from mlform_runtime.cli import main

if __name__ == "__main__":
    sys.exit(main())
