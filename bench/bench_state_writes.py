"""State writing during an apply: time per recorded object must not grow with the state's size.

Records N instance puts (with --with-begin, each preceded by its create's journal entry) through a StateSession on the local backend (each one an fsync'd journal
append, as an apply does), then commits once, for N = 1,000 and 10,000. Prints the time per
object for each, the ratio (target: under 2, i.e. linear total cost) and the totals.

    .venv/bin/python bench/bench_state_writes.py [--sizes 1000 10000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from mlform.state import InstanceRecord
from mlform.state.backends.local import LocalBackend
from mlform.state.session import StateSession

PROVIDER = 'provider["test"]'


def record(n: int, workdir: Path, with_begin: bool = False) -> tuple[float, float]:
    """Seconds spent in puts and in the final commit, for n objects."""
    backend = LocalBackend({}, workdir)
    with StateSession.open(backend, operation="apply") as sess:
        start = time.perf_counter()
        for i in range(n):
            # A mix like a real configuration: some big for_each resources, many small ones.
            addr = f'module.m["{i % 7}"].test_object.o[{i}]' if i % 3 else f"test_object.s{i}"
            if with_begin:
                sess.begin_create(addr, f"token-{i}", PROVIDER)
            sess.put_instance(
                addr,
                PROVIDER,
                InstanceRecord(
                    id=f"obj-{i:06d}",
                    attributes={
                        "value": f"value-{i}",
                        "immutable": "x",
                        "latency_ms": 0,
                        "echo": f"value-{i}",
                        "created_at": "2026-01-01T00:00:00Z",
                        "tags": {"team": "ml", "n": i},
                    },
                    dependencies=[f"test_object.s{i - 1}"] if i % 3 == 0 and i else [],
                ),
            )
        puts = time.perf_counter() - start
        start = time.perf_counter()
        sess.commit({"summary": {"add": n}})
        commit = time.perf_counter() - start
    return puts, commit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[1000, 10000])
    parser.add_argument(
        "--with-begin",
        action="store_true",
        help="journal each create before its put, as an apply does (two fsyncs per object)",
    )
    args = parser.parse_args()
    results = {}
    for n in args.sizes:
        with tempfile.TemporaryDirectory(prefix="mlform-bench-") as d:
            puts, commit = record(n, Path(d), args.with_begin)
        total = puts + commit
        results[n] = total / n
        print(
            f"{n:>6} objects: {total:7.3f} s total "
            f"(puts {puts:7.3f} s, commit {commit:6.3f} s), {1e6 * total / n:8.1f} us/object"
        )
    small, large = args.sizes
    ratio = results[large] / results[small]
    verdict = "OK" if ratio < 2 else "TOO SLOW"
    print(f"time per object, {large} vs {small}: ratio {ratio:.2f} (target < 2) {verdict}")


if __name__ == "__main__":
    main()
