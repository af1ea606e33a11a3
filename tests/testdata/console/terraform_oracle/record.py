"""Record what the real `terraform console` answers for each expression of expressions.txt.

Terraform 1.0.3's console, fed by a pipe, prints only the result of the last line it read and
stops at the first error, so each expression runs in its own process (in a scratch directory,
no init needed). The result goes to recorded.tsv in the form of tests/testdata/console/cases.txt:
`expression<TAB>output`, a newline written as ↵, an error as `!<summary>`.

Usage: python record.py [--terraform PATH] [--jobs N]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).parent
NL = "↵"  # how a newline is written inside one TSV line


def read_expressions(path: Path) -> list[str]:
    """The expressions of `path`: one a line, `#` comments and blank lines skipped, ↵ a newline."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        out.append(line.replace(NL, "\n"))
    return out


def run_one(terraform: str, expr: str) -> str:
    """Terraform's answer for one expression, encoded for one TSV column."""
    # A directory of its own: console takes the (empty) state's lock, so runs must not share one.
    with tempfile.TemporaryDirectory() as workdir:
        proc = subprocess.run(
            [terraform, "console", "-no-color"],
            input=expr + "\n",
            capture_output=True,
            text=True,
            cwd=workdir,
            timeout=60,
        )
    if proc.returncode != 0:
        match = re.search(r"Error: (.+)", proc.stderr)
        summary = match.group(1).strip() if match else proc.stderr.strip().splitlines()[0]
        return "!" + summary
    return proc.stdout.rstrip("\n").replace("\n", NL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = HERE.parents[3] / ".venv" / "bin" / "terraform"
    parser.add_argument("--terraform", default=str(default) if default.exists() else "terraform")
    parser.add_argument("--jobs", type=int, default=4)
    args = parser.parse_args()
    if shutil.which(args.terraform) is None and not Path(args.terraform).exists():
        print(f"terraform not found: {args.terraform}", file=sys.stderr)
        return 2
    exprs = read_expressions(HERE / "expressions.txt")
    with ThreadPoolExecutor(args.jobs) as pool:
        answers = list(pool.map(lambda e: run_one(args.terraform, e), exprs))
    lines = ["# expression<TAB>terraform 1.0.3 console output; ↵ is a newline, !Summary an error."]
    lines += [f"{e.replace(chr(10), NL)}\t{a}" for e, a in zip(exprs, answers, strict=True)]
    (HERE / "recorded.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(exprs)} expressions recorded")
    return 0


if __name__ == "__main__":
    sys.exit(main())
