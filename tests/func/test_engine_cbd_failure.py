"""create_before_destroy when the old object cannot be deleted: the replacement is recorded and
the error names the old object, so that nothing is lost from the state."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from mlform.testing.provider import load_objects

CONFIG = """
provider "test" { store = "objects.json" }
resource "test_object" "a" {
  value     = "v"
  immutable = "%s"
  fail_on   = ["delete"]
  lifecycle { create_before_destroy = true }
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


def test_old_object_that_cannot_be_deleted_is_named_and_the_new_one_recorded(
    tmp_path: Path,
) -> None:
    (tmp_path / "main.mlf.hcl").write_text(CONFIG % "one")
    assert _mlform(tmp_path, "apply", "--auto-approve").returncode == 0
    old_id = json.loads((tmp_path / "mlform.state.json").read_text())["resources"][0]["instances"][
        0
    ]["id"]
    (tmp_path / "main.mlf.hcl").write_text(CONFIG % "two")
    r = _mlform(tmp_path, "apply", "--auto-approve")
    assert r.returncode == 1
    assert "the previous object could not be deleted" in r.stderr
    assert f"(id {old_id}) still exists outside mlform's state" in r.stderr
    inst = json.loads((tmp_path / "mlform.state.json").read_text())["resources"][0]["instances"][0]
    assert inst["id"] != old_id and inst["attributes"]["immutable"] == "two"
    assert len(load_objects(tmp_path / "objects.json")) == 2
    assert _mlform(tmp_path, "plan", "--detailed-exitcode").returncode == 0
