"""Fuzz mlform's configuration front end: parse, decode, validate, format, evaluate.

Inputs are the repository's own `.mlf.hcl` files (tests/testdata, docs, examples, modules)
mutated byte-wise and token-wise, plus generated inputs that are deep (nested brackets, calls,
templates, blocks, unary operators) or long (runs of binary operators), hold extreme numbers
(`1e9999999999`, 5,000-digit integers) or allocating function calls (`format("%0999999999d", 1)`).
Every input is under 100 KB.

Each input goes through, in this process:

- `parse_hcl`, then `mlform validate`'s own function (load, decode, variables, graph, walk) on a
  folder holding it as `main.mlf.hcl`,
- `fmt`'s `format_source`,
- for expression inputs, `parse_expression`, evaluation and the console's rendering;

and, with `--cli` (all inputs) or `--cli-sample N` (the first N), through `mlform validate` and
`mlform fmt` in a subprocess. A failure is an exception other than a diagnostic, an "internal
error" diagnostic or message, or a run over 5 s. The same seed gives the same inputs.

    .venv/bin/python scripts/fuzz.py                      # 20,000 inputs, seed 0, CLI sample 50
    .venv/bin/python scripts/fuzz.py -n 3000 --seed 7     # fewer, another seed
    .venv/bin/python scripts/fuzz.py -n 300 --cli         # every input through the CLI too
    .venv/bin/python scripts/fuzz.py --save-failures out/ # write each failing input to a file

It exits 1 when anything failed, printing each failure with its input's name.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent
MAX_BYTES = 100_000
TIME_LIMIT = 5.0
CORPUS_DIRS = ("tests/testdata", "docs", "examples", "modules")

# Fragments that token-wise mutation splices in: the shapes that broke mlform before.
FRAGMENTS = [
    "1e999999",
    "1e99999999",
    "1e9999999999",
    "1e9999",
    "-1e-9999999",
    "9" * 5001,
    "0.000000000000000000000000000000001",
    'format("%0999999999d", 1)',
    'format("%.999999999f", 1)',
    'format("%*d", 999999999, 1)',
    'formatlist("%0999999999d", [1])',
    "range(999999999)",
    "range(0, 1e9999, 1e-9999)",
    'indent(999999999, "a\\nb")',
    'join(",", [for i in range(1024) : "x"])',
    "chunklist(range(10), 0)",
    'strrev("cafe\\u0301")',
    'substr("abc", 0, 999999999999)',
    "pow(10, 99999)",
    'parseint("' + "9" * 6000 + '", 10)',
    'tonumber("1e999999")',
    'jsondecode("' + "[" * 2000 + "]" * 2000 + '")',
    'jsondecode("1e999999")',
    'yamldecode("1e999999")',
    "\x00",
    "${",
    "%{",
    "}",
    "]",
    ")",
    "[",
    "(",
    "{",
    '"',
    "<<EOT\n",
    "\nEOT\n",
    "?",
    ":",
    "...",
    "[*]",
    ".*",
    "::",
    "~}",
    "#",
    "/*",
    "\\u0301",
    "\u0301",
    "\ufeff",
    "\r\n",
    "for x in [1] :",
    "=>",
    "null",
    "var.",
    "local.",
    "module.",
    "!",
    "-",
]
BYTE_CHOICES = "{}[]()\"'$%~=,.:;?!<>+-*/\\#\n\t 0123456789aeE_\x00\u0301\u00e9"


@dataclass
class Failure:
    name: str
    stage: str
    what: str
    text: str


# --- inputs ------------------------------------------------------------------------------------


def corpus() -> list[tuple[str, str]]:
    """The repository's own configuration files, as (name, text)."""
    out = []
    for d in CORPUS_DIRS:
        for p in sorted((ROOT / d).rglob("*.hcl")):
            try:
                text = p.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            if len(text.encode()) < MAX_BYTES:
                out.append((str(p.relative_to(ROOT)), text))
    return out


def mutate_bytes(rng: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 8)):
        op = rng.random()
        pos = rng.randint(0, len(chars))
        if op < 0.4 and chars:
            del chars[min(pos, len(chars) - 1)]
        elif op < 0.8:
            chars.insert(pos, rng.choice(BYTE_CHOICES))
        elif chars:
            chars[min(pos, len(chars) - 1)] = rng.choice(BYTE_CHOICES)
    return "".join(chars)


def mutate_tokens(rng: random.Random, text: str, others: list[str]) -> str:
    for _ in range(rng.randint(1, 4)):
        op = rng.random()
        pos = rng.randint(0, len(text))
        if op < 0.45:
            text = text[:pos] + rng.choice(FRAGMENTS) + text[pos:]
        elif op < 0.6:
            # Duplicate a span many times (long inputs).
            a = rng.randint(0, len(text))
            span = text[a : a + rng.randint(1, 40)]
            text = text[:pos] + span * rng.randint(2, 200) + text[pos:]
        elif op < 0.75 and others:
            other = rng.choice(others)
            a = rng.randint(0, len(other))
            text = text[:pos] + other[a : a + rng.randint(1, 400)] + text[pos:]
        elif op < 0.9:
            # Truncate, or cut a piece out.
            b = rng.randint(pos, len(text))
            text = text[:pos] + text[b:]
        else:
            lines = text.split("\n")
            rng.shuffle(lines)
            text = "\n".join(lines)
    return text


def deep_expression(rng: random.Random, depth: int) -> str:
    """An expression nested `depth` levels deep, of a random kind."""
    kind = rng.choice(["tuple", "object", "call", "parens", "template", "cond", "unary", "mix"])
    inner = rng.choice(["1", "true", '"x"', "null", "var.x", "[]"])
    if kind == "tuple":
        return "[" * depth + inner + "]" * depth
    if kind == "object":
        return "{a = " * depth + inner + "}" * depth
    if kind == "call":
        return "tolist([" * depth + inner + "])" * depth
    if kind == "parens":
        return "(" * depth + inner + ")" * depth
    if kind == "template":
        return '"${' * depth + inner + '}"' * depth
    if kind == "cond":
        return "true ? " * depth + inner + " : 0" * depth
    if kind == "unary":
        return rng.choice("-!") * depth + inner
    out = inner
    for _ in range(depth):
        out = rng.choice(
            ["[{}]", "{{k = {}}}", "({})", '"${{{}}}"', "try({}, 1)", "[{}][0]"]
        ).format(out)
    return out


def long_expression(rng: random.Random, terms: int) -> str:
    ops = rng.choice([["+"], ["+", "-", "*"], ["&&", "||"], ["==", "!="], ["+", "<", "&&"]])
    atom = rng.choice(["1", "2.5", "true", "var.x", '"a"'])
    parts = [atom]
    for _ in range(terms - 1):
        parts.append(rng.choice(ops))
        parts.append(atom)
    return " ".join(parts)


def generated(rng: random.Random) -> tuple[str, str, bool]:
    """(kind, text, is_expression)"""
    r = rng.random()
    depth = rng.choice([10, 100, 127, 128, 129, 200, 300, 500, 1000, 3000])
    if r < 0.3:
        return f"deep-expr-{depth}", deep_expression(rng, depth), True
    if r < 0.5:
        terms = rng.choice([100, 500, 600, 2000, 5000])
        return f"long-expr-{terms}", long_expression(rng, terms), True
    if r < 0.65:
        text = "".join(f"b{i} {{\n" for i in range(depth)) + "}\n" * depth
        return f"deep-blocks-{depth}", text, False
    if r < 0.8:
        frag = rng.choice(FRAGMENTS)
        return "fragment", frag, True
    if r < 0.9:
        n = rng.choice([10, 100, 129, 500])
        text = "%{ if true }" * n + "x" + "%{ endif }" * n
        return f"deep-directives-{n}", f"<<EOT\n{text}\nEOT", True
    expr = deep_expression(rng, depth) if rng.random() < 0.5 else long_expression(rng, depth)
    return (
        f"local-{depth}",
        f'variable "x" {{\n  default = 1\n}}\nlocals {{\n  v = {expr}\n}}\n',
        False,
    )


def inputs(n: int, seed: int) -> Iterator[tuple[str, str, bool]]:
    """`n` inputs: (name, text, is_expression)."""
    rng = random.Random(seed)
    files = corpus()
    texts = [t for _, t in files]
    for i in range(n):
        r = rng.random()
        if r < 0.35 and files:
            name, text = rng.choice(files)
            yield f"{i}:bytes:{name}", mutate_bytes(rng, text)[:MAX_BYTES], False
        elif r < 0.7 and files:
            name, text = rng.choice(files)
            yield f"{i}:tokens:{name}", mutate_tokens(rng, text, texts)[:MAX_BYTES], False
        else:
            kind, text, is_expr = generated(rng)
            yield f"{i}:gen:{kind}", text[:MAX_BYTES], is_expr


# --- checks ----------------------------------------------------------------------------------


class _Timeout(Exception):
    pass


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise _Timeout()


def _internal(diags: list) -> str | None:  # type: ignore[type-arg]
    for d in diags:
        if "internal error" in d.summary.lower() or "internal error" in (d.detail or "").lower():
            return f"{d.summary}: {d.detail}"
    return None


def check_in_process(name: str, text: str, is_expr: bool, workdir: Path) -> list[Failure]:
    """Run one input through the front end in this process; the failures found."""
    from mlform.config.fmt import format_source
    from mlform.config.parser import parse_expression, parse_hcl
    from mlform.diagnostics import DiagnosticsError
    from mlform.engine.validate import validate
    from mlform.lang.eval import EvalContext, evaluate
    from mlform.lang.render import render_hcl

    failures: list[Failure] = []

    def run(stage: str, fn) -> None:  # type: ignore[no-untyped-def]
        start = time.monotonic()
        if hasattr(signal, "setitimer"):
            signal.setitimer(signal.ITIMER_REAL, TIME_LIMIT * 2)
        try:
            fn()
        except DiagnosticsError:
            pass
        except _Timeout:
            failures.append(Failure(name, stage, f"over {TIME_LIMIT * 2:.0f} s (stopped)", text))
            return
        except BaseException as exc:  # noqa: BLE001 - every escape is what we look for
            if isinstance(exc, KeyboardInterrupt):
                raise
            what = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            tb = traceback.extract_tb(exc.__traceback__)
            where = f" at {tb[-1].filename}:{tb[-1].lineno}" if tb else ""
            failures.append(Failure(name, stage, what[:300] + where, text))
        finally:
            if hasattr(signal, "setitimer"):
                signal.setitimer(signal.ITIMER_REAL, 0)
        took = time.monotonic() - start
        if took > TIME_LIMIT:
            failures.append(Failure(name, stage, f"took {took:.1f} s", text))

    if is_expr:

        def console() -> None:
            expr, diags = parse_expression(text, "<console>")
            bad = _internal(diags)
            if bad:
                raise AssertionError(bad)
            if expr is not None:
                value, diags = evaluate(expr, EvalContext({}))
                bad = _internal(diags)
                if bad:
                    raise AssertionError(bad)
                render_hcl(value)

        run("console", console)
        text = f"locals {{\n  v = {text}\n}}\n"

    run("parse", lambda: parse_hcl(text, "main.mlf.hcl"))
    run("fmt", lambda: format_source(text, "main.mlf.hcl"))
    for p in workdir.glob("*"):
        if p.is_file():
            p.unlink()
    (workdir / "main.mlf.hcl").write_text(text, encoding="utf-8")

    def validate_() -> None:
        _, diags = validate(workdir, [])
        bad = _internal(diags)
        if bad:
            raise AssertionError(bad)

    run("validate", validate_)
    return failures


def check_cli(name: str, text: str, workdir: Path) -> list[Failure]:
    """Run one input through `mlform validate` and `mlform fmt -check` in subprocesses."""
    failures: list[Failure] = []
    for p in workdir.glob("*"):
        if p.is_file():
            p.unlink()
    (workdir / "main.mlf.hcl").write_text(text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFORM_")}
    env.update({"MLFORM_IN_AUTOMATION": "1", "NO_COLOR": "1"})
    for args in (["validate"], ["fmt", "-check", "main.mlf.hcl"]):
        start = time.monotonic()
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "mlform.cli.main", *args],
                cwd=workdir,
                env=env,
                capture_output=True,
                text=True,
                timeout=TIME_LIMIT * 4,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            failures.append(Failure(name, f"cli {args[0]}", "timed out", text))
            continue
        took = time.monotonic() - start
        out = proc.stdout + proc.stderr
        if "internal error" in out.lower() or "Traceback" in out:
            failures.append(Failure(name, f"cli {args[0]}", out.strip()[-400:], text))
        elif took > TIME_LIMIT:
            failures.append(Failure(name, f"cli {args[0]}", f"took {took:.1f} s", text))
    return failures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("-n", type=int, default=20_000, help="how many inputs (default 20,000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cli", action="store_true", help="every input through the CLI too")
    ap.add_argument(
        "--cli-sample", type=int, default=50, help="the first N inputs through the CLI (default 50)"
    )
    ap.add_argument("--save-failures", type=Path, help="a folder to write failing inputs into")
    args = ap.parse_args(argv)
    if hasattr(signal, "SIGALRM"):
        signal.signal(signal.SIGALRM, _on_alarm)
    sys.path.insert(0, str(ROOT))
    failures: list[Failure] = []
    cli_runs = 0
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "in-process"
        work.mkdir()
        cli_work = Path(tmp) / "cli"
        cli_work.mkdir()
        for count, (name, text, is_expr) in enumerate(inputs(args.n, args.seed), 1):
            found = check_in_process(name, text, is_expr, work)
            if args.cli or count <= args.cli_sample:
                cli_text = f"locals {{\n  v = {text}\n}}\n" if is_expr else text
                found += check_cli(name, cli_text, cli_work)
                cli_runs += 1
            for f in found:
                print(f"FAIL {f.name} [{f.stage}]: {f.what}", flush=True)
            failures += found
            if count % 1000 == 0:
                print(f"... {count} inputs, {len(failures)} failures", flush=True)
    took = time.monotonic() - started
    print(
        f"{args.n} inputs (seed {args.seed}), {cli_runs} through the CLI, in {took:.0f} s: "
        f"{len(failures)} failures"
    )
    if args.save_failures and failures:
        args.save_failures.mkdir(parents=True, exist_ok=True)
        for i, f in enumerate(failures):
            (args.save_failures / f"failure-{i}.mlf.hcl").write_text(f.text, encoding="utf-8")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
