"""The `configuration` object of `mlform plan --json`, which policy tools read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CONFIG = """
variable "size" {
  default = 2
}

resource "test_object" "a" {
  count = var.size
  value = "a-${count.index}"
}

resource "test_object" "b" {
  value     = test_object.a[0].id
  immutable = "fixed"
}

module "child" {
  source = "./child"
  input  = test_object.b.echo
}

output "b" {
  value = test_object.b.id
}
"""

CHILD = """
variable "input" {}

resource "test_object" "c" {
  value = var.input
}

output "c" {
  value = test_object.c.id
}
"""


def _mlform(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MLFORM_IN_AUTOMATION": "1", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "mlform.cli.main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_json_plan_describes_the_configuration(tmp_path: Path) -> None:
    (tmp_path / "main.mlf.hcl").write_text(CONFIG)
    (tmp_path / "child").mkdir()
    (tmp_path / "child" / "main.mlf.hcl").write_text(CHILD)
    r = _mlform(tmp_path, "plan", "--json", "--out", "saved.mlplan")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    root = doc["configuration"]["root_module"]
    by_addr = {res["address"]: res for res in root["resources"]}
    assert by_addr["test_object.a"]["count_expression"] == {"references": ["var.size"]}
    assert by_addr["test_object.a"]["provider_config_key"] == "test"
    assert by_addr["test_object.b"]["expressions"]["immutable"] == {"constant_value": "fixed"}
    assert by_addr["test_object.b"]["expressions"]["value"]["references"][-1] == "test_object.a"
    assert root["variables"]["size"] == {"default": 2}
    assert root["outputs"]["b"]["expression"] == {
        "references": ["test_object.b.id", "test_object.b"]
    }
    call = root["module_calls"]["child"]
    assert call["source"] == "./child"
    assert call["expressions"]["input"]["references"][0] == "test_object.b.echo"
    assert call["module"]["resources"][0]["address"] == "test_object.c"
    # A saved plan shows the same configuration.
    shown = _mlform(tmp_path, "show", "--json", "saved.mlplan")
    assert shown.returncode == 0, shown.stderr
    assert (
        json.loads(shown.stdout)["configuration"]["root_module"]["module_calls"]["child"]["source"]
        == "./child"
    )
