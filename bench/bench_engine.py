"""Plan and apply speed with the built-in test provider, against the targets mlform sets itself.

    .venv/bin/python bench/bench_engine.py [--only plan,apply,chain,state] [--plan-size 10000]

Rows (each in a fresh temporary working folder):

- plan of ~10,000 instances (independent objects, chains, a fan-in over thousands of objects,
  one module called with for_each), no latency: `mlform plan` as its own process, wall time
  and peak resident memory (targets: under 10 s and 1 GB); then, after applying it, a
  no-change plan of the same (refreshing every object; target under 10 s).
- apply of 1,000 independent objects with 20 ms latency per provider call at parallelism 10
  (lower bound 1,000 x 20 ms / 10 = 2 s) and at parallelism 50 (0.4 s); target ratio <= 1.25.
- a chain of 100 objects, 20 ms each (lower bound 2 s); target ratio <= 1.25.
  The apply and chain rows run five times, each in a fresh folder, and report the median.
- state-writing time per object (journal entries and the final commit) during an apply of
  1,000 and of 10,000 objects at parallelism 1; target ratio under 2 (the cost is linear).

The apply rows time the apply phase through `mlform.engine.operation.Operations` (what `mlform
apply` runs after planning), and also print the whole `mlform apply --auto-approve` command
for the same configuration, start-up and planning included.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchenv import clean_env, compile_sources

PROVIDER = 'provider "test" { store = "objects.json" }\n'


# -- configurations ------------------------------------------------------------------------------


def big_config(total: int) -> str:
    """About `total` instances: 50% independent (count), 10% chains of resource blocks, a
    fan-in over the independent ones, 20% in a module called with for_each, 20% keyed."""
    chains, links = 20, max(1, total // 10 // 20)
    independent = total // 2
    keyed = total // 5
    module_keys, per_module = 20, max(1, total // 5 // 20 - 1)
    parts = [PROVIDER]
    parts.append(
        f'resource "test_object" "ind" {{\n  count = {independent}\n  value = "ind-${{count.index}}"\n}}\n'
    )
    parts.append(
        # range() makes at most 1,024 values, as in Terraform: nest two of them.
        f'resource "test_object" "keyed" {{\n  for_each = toset(flatten([for i in range({keyed // 100}) :'
        ' [for j in range(100) : "k${i}-${j}"]]))\n'
        "  value    = { name = each.key, size = length(each.key) }\n}\n"
    )
    for c in range(chains):
        for i in range(links):
            prev = f"test_object.ch{c}_{i - 1}.id" if i else '"start"'
            parts.append(
                f'resource "test_object" "ch{c}_{i}" {{ value = "{c}-{i}-${{{prev}}}" }}\n'
            )
    parts.append(
        'resource "test_object" "fan_in" {\n  value = length([for o in test_object.ind : o.id])\n}\n'
    )
    keys = ", ".join(f'"m{i}"' for i in range(module_keys))
    parts.append(
        f'module "m" {{\n  source   = "./mod"\n  for_each = toset([{keys}])\n'
        f"  name     = each.key\n  n        = {per_module}\n}}\n"
    )
    parts.append('output "fan_in" { value = test_object.fan_in.id }\n')
    return "".join(parts)


MODULE = """
variable "name" { type = string }
variable "n" { type = number }
resource "test_object" "o" {
  count = var.n
  value = "${var.name}-${count.index}"
}
resource "test_object" "sum" {
  value = length(test_object.o[*].id)
}
output "sum_id" { value = test_object.sum.id }
"""


def independent_config(n: int, latency_ms: int) -> str:
    return PROVIDER + (
        f'resource "test_object" "o" {{\n  count      = {n}\n  value      = "o-${{count.index}}"\n'
        f"  latency_ms = {latency_ms}\n}}\n"
    )


def chain_config(n: int, latency_ms: int) -> str:
    out = [PROVIDER]
    for i in range(n):
        prev = f"test_object.c{i - 1}.echo" if i else '"start"'
        out.append(
            f'resource "test_object" "c{i}" {{\n  value      = "{i}-${{{prev}}}"\n'
            f"  latency_ms = {latency_ms}\n}}\n"
        )
    return "".join(out)


def make_workdir(root: Path, name: str, config: str, module: str | None = None) -> Path:
    d = root / name
    d.mkdir()
    (d / "main.mlf.hcl").write_text(config)
    if module is not None:
        (d / "mod").mkdir()
        (d / "mod" / "main.mlf.hcl").write_text(module)
    return d


# -- measuring -----------------------------------------------------------------------------------


def env() -> dict[str, str]:
    return clean_env(MLFORM_IN_AUTOMATION="1", NO_COLOR="1")


def run_cli(workdir: Path, *args: str) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MiB and exit code of one `mlform` process."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlform.cli.main", *args],
        cwd=workdir,
        env=env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode not in (0, 2):
        print(f"    mlform {' '.join(args)} failed ({proc.returncode}):\n{err[-2000:]}")
    return wall, usage.ru_maxrss / 1024, proc.returncode


class StateTimer:
    """Adds up the time an apply spends in the state session's writing methods."""

    METHODS = ("begin_create", "put_instance", "remove_instance", "resolve_pending", "commit")

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0
        self._saved: dict[str, Callable[..., Any]] = {}

    def __enter__(self) -> StateTimer:
        from mlform.state.session import StateSession

        for name in self.METHODS:
            orig = getattr(StateSession, name)
            self._saved[name] = orig

            def timed(*a: Any, __orig: Callable[..., Any] = orig, **kw: Any) -> Any:
                t = time.perf_counter()
                try:
                    return __orig(*a, **kw)
                finally:
                    # Threads overlap; this sums the time each spent, an upper bound on wall time.
                    self.seconds += time.perf_counter() - t
                    self.calls += 1

            setattr(StateSession, name, timed)
        return self

    def __exit__(self, *exc: Any) -> None:
        from mlform.state.session import StateSession

        for name, orig in self._saved.items():
            setattr(StateSession, name, orig)


def apply_in_process(workdir: Path, parallelism: int) -> dict[str, float]:
    """Load, plan and apply as `mlform apply --auto-approve` does; seconds for each phase."""
    from mlform.engine.operation import Operations
    from mlform.engine.planner import PlanOptions

    cwd = os.getcwd()
    os.chdir(workdir)
    try:
        ops = Operations(".")
        options = PlanOptions(parallelism=parallelism)
        t0 = time.perf_counter()
        loaded = ops.load([], interactive=False)
        with ops.open_session("apply") as sess:
            t1 = time.perf_counter()
            result = ops.plan(loaded, sess.state, options)
            assert not result.errored, [str(d) for d in result.diags]
            t2 = time.perf_counter()
            diags = ops.apply(loaded, sess, result, options)
            t3 = time.perf_counter()
            sess.commit({"operation": "apply"})
            t4 = time.perf_counter()
        assert not any(d.is_error for d in diags), [str(d) for d in diags]
    finally:
        os.chdir(cwd)
    return {"load": t1 - t0, "plan": t2 - t1, "apply": t3 - t2, "commit": t4 - t3}


def count_objects(workdir: Path) -> int:
    from mlform.testing.provider import load_objects

    return len(load_objects(workdir / "objects.json"))


def verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


# -- rows ----------------------------------------------------------------------------------------


def bench_plan(root: Path, size: int) -> None:
    d = make_workdir(root, "plan", big_config(size), MODULE)
    wall, rss, code = run_cli(d, "plan", "--detailed-exitcode")
    print(
        f"plan, {size} instances, empty state:  {wall:6.2f} s (target < 10: ratio {wall / 10:.2f}) "
        f"{verdict(wall < 10)}; peak RSS {rss:6.0f} MiB (target < 1024: ratio {rss / 1024:.2f}) "
        f"{verdict(rss < 1024)}; exit {code}"
    )
    wall, _, code = run_cli(d, "apply", "--auto-approve", "--parallelism", "10")
    n = count_objects(d)
    print(f"  (apply of the same, untimed target: {wall:.1f} s, {n} objects created, exit {code})")
    wall, rss, code = run_cli(d, "plan", "--detailed-exitcode")
    print(
        f"plan, {size} instances, no change:    {wall:6.2f} s (target < 10: ratio {wall / 10:.2f}) "
        f"{verdict(wall < 10 and code == 0)}; peak RSS {rss:6.0f} MiB; exit {code} (0: no changes)"
    )


RUNS = 5  # the apply rows report the median of this many runs, each in a fresh folder


def median_apply(
    root: Path, name: str, config: str, parallelism: int
) -> tuple[dict[str, float], list[float], int]:
    """Times of the median run (by apply phase), every run's apply phase, and the number of
    objects the median run created."""
    runs = []
    for i in range(RUNS):
        d = make_workdir(root, f"{name}-{i}", config)
        runs.append((apply_in_process(d, parallelism), count_objects(d)))
    runs.sort(key=lambda r: r[0]["apply"])
    t, n = runs[len(runs) // 2]
    return t, [r[0]["apply"] for r in runs], n


def bench_apply(root: Path) -> None:
    for parallelism, bound in ((10, 2.0), (50, 0.4)):
        t, all_runs, n = median_apply(
            root, f"apply{parallelism}", independent_config(1000, 20), parallelism
        )
        ratio = t["apply"] / bound
        print(
            f"apply, 1000 independent x 20 ms, parallelism {parallelism:>2}: apply phase "
            f"{t['apply']:5.2f} s (median of {', '.join(f'{x:.2f}' for x in all_runs)}), "
            f"lower bound {bound} s, ratio {ratio:.2f} (target <= 1.25) "
            f"{verdict(ratio <= 1.25)}; plan {t['plan']:.2f} s, commit {t['commit']:.2f} s; "
            f"{n} objects"
        )
        d2 = make_workdir(root, f"apply{parallelism}cli", independent_config(1000, 20))
        wall, _, _ = run_cli(d2, "apply", "--auto-approve", "--parallelism", str(parallelism))
        print(
            f"  whole `mlform apply` command (start-up, plan, apply, commit): {wall:.2f} s, "
            f"ratio {wall / bound:.2f}"
        )


def bench_chain(root: Path) -> None:
    t, all_runs, _ = median_apply(root, "chain", chain_config(100, 20), 10)
    ratio = t["apply"] / 2.0
    print(
        f"apply, chain of 100 x 20 ms: apply phase {t['apply']:5.2f} s "
        f"(median of {', '.join(f'{x:.2f}' for x in all_runs)}), lower bound 2 s, "
        f"ratio {ratio:.2f} (target <= 1.25) {verdict(ratio <= 1.25)}"
    )


def bench_state(root: Path) -> None:
    per: dict[int, float] = {}
    for n in (1000, 10000):
        d = make_workdir(root, f"state{n}", independent_config(n, 0))
        # One worker: the time summed over state calls is then wall time, not overlapping
        # waits of many threads.
        with StateTimer() as timer:
            t = apply_in_process(d, 1)
        per[n] = timer.seconds / n
        print(
            f"state writing during an apply of {n:>5}: {timer.seconds:6.2f} s in "
            f"{timer.calls} calls, {1e6 * per[n]:7.1f} us/object (apply phase {t['apply']:.2f} s, "
            f"commit {t['commit']:.2f} s)"
        )
    ratio = per[10000] / per[1000]
    print(f"  time per object, 10000 vs 1000: ratio {ratio:.2f} (target < 2) {verdict(ratio < 2)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="plan,apply,chain,state")
    parser.add_argument("--plan-size", type=int, default=10000)
    args = parser.parse_args()
    compile_sources()
    rows = set(args.only.split(","))
    print(f"mlform engine benchmarks ({os.cpu_count()} CPUs, python {sys.version.split()[0]})")
    with tempfile.TemporaryDirectory(prefix="mlform-bench-engine-") as tmp:
        root = Path(tmp)
        if "plan" in rows:
            bench_plan(root, args.plan_size)
        if "apply" in rows:
            bench_apply(root)
        if "chain" in rows:
            bench_chain(root)
        if "state" in rows:
            bench_state(root)


if __name__ == "__main__":
    main()
