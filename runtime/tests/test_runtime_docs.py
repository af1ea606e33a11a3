"""docs/runtime.md is the runtime's interface: its example spec is valid and its tables name
every exit status and variable the runtime uses."""

from __future__ import annotations

import json
import re

import mlform_runtime
from mlform_runtime.spec import parse_spec
from runtime_helpers import RUNTIME_ROOT

PAGE = RUNTIME_ROOT.parent / "docs" / "runtime.md"


def test_the_example_spec_is_valid():
    text = PAGE.read_text()
    block = re.search(r"## The spec\s+```json\n(.*?)```", text, re.S)
    assert block is not None
    spec = parse_spec(json.loads(block.group(1)))
    assert spec.environment is not None and spec.environment.lock


def test_every_exit_status_and_variable_is_documented():
    text = PAGE.read_text()
    codes = {v for k, v in vars(mlform_runtime).items() if k.startswith("EXIT_")}
    for code in codes:
        assert f"| {code} |" in text, code
    source = "".join(p.read_text() for p in (RUNTIME_ROOT / "mlform_runtime").glob("*.py"))
    for var in set(re.findall(r'"(MLFORM_[A-Z_]+?)_?"', source)):
        if var.startswith("MLFORM_RUNTIME"):
            continue
        assert var in text, var
