"""What every benchmark that runs `mlform` as its own process does first, so that the figures are
those of a user's installation and not of this shell's settings.

- The bytecode of mlform, its providers and the runtime is written once, as `pip install` does
  for a regular installation: an editable checkout is otherwise compiled by its first run, and
  not at all where PYTHONDONTWRITEBYTECODE is set (as some development shells do), which adds
  the compiler's time, several tenths of a second, to every measured process.
- The measured processes run without PYTHONDONTWRITEBYTECODE and PYTHONUNBUFFERED (the second
  turns every line written into its own system call), and without the user's MLFORM_* settings.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

PACKAGES = ("mlform", "mlform_local", "mlform_runtime", "mlform_aws")
DROPPED = ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED")


def compile_sources() -> None:
    folders: list[str] = []
    for name in PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            folders.extend(spec.submodule_search_locations)
    if folders:
        subprocess.run([sys.executable, "-m", "compileall", "-q", *folders], check=False)


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment as a user's shell would have it, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFORM_") and k not in DROPPED}
    env.update(extra)
    return env
