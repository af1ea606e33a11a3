"""Paths mean what they mean in Terraform: a relative path, in a file function or in a kind's path
argument, is relative to the working directory (the root module's folder) in every module;
`path.module` is a module's folder relative to it, `path.root` is "." and `path.cwd` the absolute
working directory. So a module reads its own files with `"${path.module}/..."`, a root module
passes its own `"./src"` into a module, and a project planned from another checkout folder is up to
date (digests, not paths, decide)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import Mlform

CHILD = """
output "own"      { value = file("${path.module}/x.txt") }
output "exists"   { value = fileexists("${path.module}/x.txt") }
output "set"      { value = fileset(path.module, "*.txt") }
output "set2"     { value = fileset("${path.module}/sub", "**") }
output "tmpl"     { value = templatefile("${path.module}/t.tftpl", { who = "child" }) }
output "sha"      { value = filesha256("${path.module}/x.txt") }
output "b64"      { value = filebase64("${path.module}/x.txt") }
output "from_cwd" { value = file("./r.txt") }
output "module"   { value = path.module }
output "root"     { value = path.root }
output "cwd"      { value = path.cwd }
"""

ROOT = """
module "m" {
  source = "./modules/m"
}
output "child"  { value = module.m }
output "own"    { value = file("${path.module}/r.txt") }
output "module" { value = path.module }
output "root"   { value = path.root }
"""


def outputs(mlform: Mlform) -> dict[str, Any]:
    res = mlform.ok("output", "--json")
    return {k: v["value"] for k, v in json.loads(res.out).items()}


def test_file_functions_in_a_child_module_read_beside_the_module(
    mlform: Mlform, write, workdir: Path
) -> None:
    write(ROOT)
    write(CHILD, "modules/m/main.mlf.hcl")
    write("child\n", "modules/m/x.txt")
    write("hello ${who}\n", "modules/m/t.tftpl")
    write("deep\n", "modules/m/sub/d.txt")
    write("root\n", "r.txt")
    mlform.ok("init")
    mlform.ok("apply", "--auto-approve")
    out = outputs(mlform)
    child = out["child"]
    assert child["own"] == "child\n"
    assert child["exists"] is True
    assert child["set"] == ["x.txt"]
    assert child["set2"] == ["d.txt"]
    assert child["tmpl"] == "hello child\n"
    assert child["sha"] == __import__("hashlib").sha256(b"child\n").hexdigest()
    assert child["b64"] == "Y2hpbGQK"
    # A relative path without path.module is relative to the working directory, in any module.
    assert child["from_cwd"] == "root\n"
    assert child["module"] == "modules/m"
    assert child["root"] == "."
    assert child["cwd"] == str(workdir.resolve())
    assert out["own"] == "root\n"
    assert out["module"] == "."
    assert out["root"] == "."


# -- the kinds' path arguments (local provider) ------------------------------------------------

TRAIN_MODULE = """
variable "code" {
  type = string
}

variable "environment" {
  type = string
}

resource "dataset" "rows" {
  source = "${path.module}/data"
}

resource "training_job" "this" {
  environment = var.environment
  code        = var.code
  command     = "python train.py"
  datasets    = { rows = dataset.rows.id }
  params      = jsondecode(file("${path.module}/params.json"))
  seed        = 3
}

output "metrics" {
  value = training_job.this.metrics
}
"""

PROJECT = """
resource "environment" "bare" {}

module "train" {
  source      = "./modules/train"
  code        = "./src"
  environment = environment.bare.id
}

output "metrics" {
  value = module.train.metrics
}
"""

TRAIN = """
import json, os
from pathlib import Path
rows = Path(os.environ["MLFORM_DATA_ROWS"], "rows.txt").read_text().split()
Path(os.environ["MLFORM_OUTPUT_DIR"], "model.json").write_text(json.dumps(rows))
Path(os.environ["MLFORM_METRICS_FILE"]).write_text(json.dumps({"rows": len(rows), "where": "src"}))
"""


def _project(write) -> None:
    write(PROJECT)
    write(TRAIN_MODULE, "modules/train/main.mlf.hcl")
    write('{"lr": 0.5}\n', "modules/train/params.json")
    write("1 2 3\n", "modules/train/data/rows.txt")
    write(TRAIN, "src/train.py")


def test_a_root_module_passes_its_own_relative_code_folder_into_a_module(
    mlform: Mlform, write
) -> None:
    pytest.importorskip("mlform_local")
    _project(write)
    mlform.ok("init")
    mlform.ok("apply", "--auto-approve")
    assert outputs(mlform)["metrics"] == {"rows": 3, "where": "src"}
    res = mlform("plan", "--detailed-exitcode")
    assert res.code == 0, str(res)


def test_a_module_relative_path_is_an_error_that_says_how_to_name_it(mlform: Mlform, write) -> None:
    pytest.importorskip("mlform_local")
    _project(write)
    # The module writes "./src" meaning the folder beside its own files: in Terraform (and now
    # in mlform) that is the working directory's src/, which this project does not have.
    write(
        PROJECT.replace('code        = "./src"', 'code        = "./code"'),
    )
    shutil.move(str(mlform.cwd / "src"), str(mlform.cwd / "modules/train/code"))
    mlform.ok("init")
    res = mlform("plan")
    assert res.code == 1, str(res)
    err = " ".join(res.err.split())
    assert "code folder './code' does not exist" in err, str(res)
    assert "relative to the working directory" in err
    assert 'write "${path.module}/code"' in err


FLAT = """
resource "dataset" "rows" {
  source = "./data"
}

resource "environment" "bare" {}

resource "training_job" "this" {
  environment = environment.bare.id
  code        = "./src"
  command     = "python train.py"
  datasets    = { rows = dataset.rows.id }
  params      = { lr = 0.5 }
  seed        = 3
}

output "metrics" {
  value = training_job.this.metrics
}
"""


def test_the_same_project_from_another_checkout_folder_is_up_to_date(
    tmp_path: Path, mlform: Mlform, write
) -> None:
    pytest.importorskip("mlform_local")
    write(FLAT)
    write("1 2 3\n", "data/rows.txt")
    write(TRAIN, "src/train.py")
    mlform.ok("apply", "--auto-approve")
    state = json.loads((mlform.cwd / "mlform.state.json").read_text())
    job = next(r for r in state["resources"] if r["type"] == "training_job")
    inputs = job["instances"][0]["private"]["fingerprint_inputs"]
    # The fingerprint holds digests, never a path of this checkout.
    assert str(mlform.cwd) not in json.dumps(inputs)

    # Another checkout: the whole folder (state and .mlform included) somewhere else, and the
    # first one gone.
    other = tmp_path / "elsewhere" / "checkout"
    other.parent.mkdir()
    shutil.move(str(mlform.cwd), str(other))
    mlform.cwd = other
    res = mlform("plan", "--detailed-exitcode")
    assert res.code == 0, str(res)
    assert "No changes." in res.out
    assert outputs(mlform)["metrics"] == {"rows": 3, "where": "src"}
