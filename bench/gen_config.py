"""Generate a large configuration for the validate benchmark, in two equivalent forms.

    python bench/gen_config.py --blocks 2000 --out bench/out/c2000

writes `<out>/mlform/` (`*.mlf.hcl`: N resource blocks of the portable ML kinds spread over
several files, with variables, locals, outputs and a child module) and `<out>/terraform/`
(`*.tf`: the same expressions for Terraform). Terraform cannot validate mlform's resource types
without a provider, and 1.0 has no built-in resource type, so in the Terraform form each
resource block becomes a `locals` entry holding the same arguments, with nested blocks written
as objects: the same amount of text, the same interpolations, function calls and `for`
expressions. Both forms are deterministic for a given N.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

FILES = 8  # resource files the blocks are spread over

VARIABLES = """\
variable "project" {
  type        = string
  default     = "vision"
  description = "Project name, used in every resource name."
}

variable "seed" {
  type    = number
  default = 42
}

variable "regions" {
  type    = list(string)
  default = ["us-east-1", "eu-west-1", "ap-south-1"]
}

variable "grid" {
  type = map(number)
  default = {
    lr       = 0.001
    momentum = 0.9
    decay    = 0.0005
  }
}

variable "tags" {
  type    = map(string)
  default = { team = "ml", cost_center = "research" }
}
"""

LOCALS = """\
locals {
  ws         = "default"
  prefix     = "${var.project}-${local.ws}"
  region_ids = [for i, r in var.regions : "${i}:${upper(r)}"]
  grid_x2    = { for k, v in var.grid : k => v * 2 }
  common_tags = merge(var.tags, {
    managed_by = "bench"
    project    = var.project
  })
  batch_sizes = [for n in range(1, 9) : n * 32 if n % 2 == 0]
}
"""

CHILD = """\
variable "name" {
  type = string
}

variable "size" {
  type    = number
  default = 1
}

locals {
  full_name = "${var.name}-${format("%03d", var.size)}"
}

output "name" {
  value = local.full_name
}

output "sizes" {
  value = [for i in range(var.size) : "${local.full_name}-${i}"]
}
"""


_KINDS = ("dataset", "environment", "training_job", "deployment")
# What a reference reads in each form: a computed attribute in mlform, an argument in the
# Terraform form's locals.
_REF_ATTR = {
    "dataset": ("id", "source"),
    "environment": ("id", "python"),
    "training_job": ("model", "code"),
    "cluster": ("id", "gpu"),
}


def _ref(form: str, kind: str, name: str) -> str:
    ml, tf = _REF_ATTR[kind]
    return f"{kind}.{name}.{ml}" if form == "mlform" else f"local.{kind}_{name}.{tf}"


def _args(i: int, form: str) -> list[tuple[str, str]]:
    """The arguments of block i, as (name, HCL expression) pairs, by kind."""
    kind = _KINDS[i % 4]
    name = f'"${{local.prefix}}-{kind}-{i:05d}"'
    cluster = _ref(form, "cluster", "box")
    if kind == "dataset":
        return [
            ("source", f'"./data/shard-${{{i} % 16}}/part-{i:05d}"'),
            ("include", '["**/*.parquet", "**/*.json"]'),
            ("exclude", f'[for e in ["tmp", "cache"] : "**/${{e}}/**" if e != "x{i}"]'),
        ]
    if kind == "environment":
        return [
            ("python", '"3.11"'),
            ("packages", f'["torch==2.{i % 5}.0", "numpy>=1.26", lower("Pandas")]'),
            (
                "env",
                f"merge(local.common_tags, {{ SEED = tostring(var.seed + {i}), NAME = {name} }})",
            ),
        ]
    if kind == "training_job":
        return [
            ("cluster", cluster),
            ("environment", _ref(form, "environment", f"r{i - 1:05d}")),
            ("code", '"./src"'),
            ("command", f'"python train.py --epochs ${{{i} % 10 + 1}} --name ${{lower({name})}}"'),
            (
                "datasets",
                f"{{ train = {_ref(form, 'dataset', f'r{i - 2:05d}')}, "
                f'eval = "${{element(var.regions, {i})}}-eval" }}',
            ),
            ("params", f"{{ for k, v in local.grid_x2 : k => v * {i % 7 + 1} if v > 0 }}"),
            ("seed", f"var.seed + {i}"),
            ("nodes", f"{i} % 4 == 0 ? 2 : 1"),
            ("timeout", f'"${{{i % 12 + 1}}}h"'),
        ]
    return [
        ("cluster", cluster),
        ("environment", _ref(form, "environment", f"r{i - 2:05d}")),
        ("model", _ref(form, "training_job", f"r{i - 1:05d}")),
        ("code", '"./serve"'),
        ("command", f'"python serve.py --port ${{8000 + {i} % 100}}"'),
        ("replicas", f"length(var.regions) > 2 ? {i % 3 + 1} : 1"),
    ]


def _nested(i: int, form: str) -> list[tuple[str, list[tuple[str, str]]]]:
    if i % 4 == 3:
        return [
            ("health_check", [("path", '"/health"'), ("interval", f'"{i % 30 + 5}s"')]),
            ("lifecycle", [("create_before_destroy", "true")]),
        ]
    if i % 4 == 2:
        return [
            ("lifecycle", [("ignore_changes", "[params]" if form == "mlform" else '["params"]')])
        ]
    return []


def _attrs(pairs: list[tuple[str, str]], indent: str) -> str:
    width = max(len(n) for n, _ in pairs)
    return "".join(f"{indent}{n.ljust(width)} = {v}\n" for n, v in pairs)


def mlform_block(i: int) -> str:
    out = f'resource "{_KINDS[i % 4]}" "r{i:05d}" {{\n' + _attrs(_args(i, "mlform"), "  ")
    for name, pairs in _nested(i, "mlform"):
        out += f"\n  {name} {{\n" + _attrs(pairs, "    ") + "  }\n"
    return out + "}\n"


def terraform_block(i: int) -> str:
    out = f"locals {{\n  {_KINDS[i % 4]}_r{i:05d} = {{\n" + _attrs(_args(i, "terraform"), "    ")
    for name, pairs in _nested(i, "terraform"):
        out += f"\n    {name} = {{\n" + _attrs(pairs, "      ") + "    }\n"
    return out + "  }\n}\n"


def generate(blocks: int, out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    for form, ext, block in (
        ("mlform", ".mlf.hcl", mlform_block),
        ("terraform", ".tf", terraform_block),
    ):
        root = out / form
        (root / "modules" / "child").mkdir(parents=True)
        (root / f"variables{ext}").write_text(VARIABLES)
        (root / f"locals{ext}").write_text(LOCALS)
        (root / "modules" / "child" / f"main{ext}").write_text(CHILD)
        per_file = -(-blocks // FILES)
        for f in range(FILES):
            chunk = range(f * per_file, min(blocks, (f + 1) * per_file))
            if not chunk:
                break
            (root / f"resources_{f}{ext}").write_text("\n".join(block(i) for i in chunk))
        mods = "".join(
            f'module "child_{m}" {{\n  source = "./modules/child"\n  name   = "{m}-${{var.project}}"\n'
            f"  size   = {m + 1}\n}}\n\n"
            for m in range(4)
        )
        outs = "".join(
            f'output "child_{m}_sizes" {{\n  value = module.child_{m}.sizes\n}}\n\n'
            for m in range(4)
        )
        if form == "mlform":
            outs += 'resource "cluster" "box" {\n  gpu = "any"\n}\n\n'
        else:
            outs += 'locals {\n  cluster_box = {\n    gpu = "any"\n  }\n}\n\n'
        outs += 'output "region_ids" {\n  value = local.region_ids\n}\n\n'
        outs += 'output "batch_sizes" {\n  value       = local.batch_sizes\n  description = "Even batch sizes."\n}\n'
        (root / f"main{ext}").write_text(mods + outs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--blocks", type=int, default=2000)
    ap.add_argument("--out", type=Path, default=Path("bench/out/c2000"))
    ns = ap.parse_args()
    generate(ns.blocks, ns.out)
    for form in ("mlform", "terraform"):
        files = sorted((ns.out / form).rglob("*.*"))
        size = sum(p.stat().st_size for p in files)
        lines = sum(p.read_text().count("\n") for p in files)
        print(f"{form}: {len(files)} files, {lines} lines, {size / 1e6:.2f} MB in {ns.out / form}")


if __name__ == "__main__":
    main()
