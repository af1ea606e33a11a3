"""Differential test: mlform's parser against python-hcl2 on realistic sample files.

python-hcl2 (`hcl2.loads`) gives a dict: blocks as lists keyed by type and labels, literal
numbers, bools and nulls as Python values, strings and heredocs as their source text, and
every other expression as `${...}` text. Our tree is converted to the same shape (expressions
rendered back to text from the tree, strings taken from the source at the node's range), so the
comparison checks the block structure, labels, names, literal values, the string ranges and
that every expression was read whole. Whitespace inside rendered expressions is ignored, as the
two render spacing differently.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import hcl2
import pytest

from mlform.config.parser import parse_hcl
from mlform.config.syntax import Body
from mlform.lang import ast

SAMPLES = sorted((Path(__file__).parents[2] / "testdata" / "parser").glob("*"))
_WS = re.compile(r"\s+")
_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")


class Converter:
    def __init__(self, text: str):
        self.text = text

    def src(self, node: Any) -> str:
        r = node.range if not isinstance(node, ast.ObjectItem) else node.key.range
        return self.text[r.start.byte : r.end.byte]

    def body(self, body: Body) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, attr in body.attributes.items():
            out[name] = self.value(attr.expr)
        for blk in body.blocks:
            inner: Any = {**self.body(blk.body), "__is_block__": True}
            for r in reversed(blk.label_ranges):
                inner = {self.text[r.start.byte : r.end.byte]: inner}
            out.setdefault(blk.type, []).append(inner)
        return out

    def value(self, e: ast.Expr) -> Any:
        if isinstance(e, ast.Literal):
            v = e.value.v
            if isinstance(v, str):
                return self.string(e)
            if isinstance(v, Decimal):
                return float(v)
            return v
        if isinstance(e, ast.UnaryOp) and e.op == "-" and isinstance(e.operand, ast.Literal):
            return -self.value(e.operand)
        if isinstance(e, ast.TupleCons):
            return [self.value(i) for i in e.items]
        if isinstance(e, ast.ObjectCons):
            return {self.src(i.key): self.value(i.value) for i in e.items}
        if isinstance(e, ast.Template | ast.TemplateWrap):
            return self.string(e)
        if isinstance(e, ast.ScopeTraversal) and not e.steps:
            return e.root  # python-hcl2 writes a lone name (`string`, `[tags]`) bare
        return "${" + self.render(e) + "}"

    def string(self, e: ast.Expr) -> str:
        s = self.src(e)
        return f'"{s}"' if s.startswith("<<") else s

    def render(self, e: ast.Expr) -> str:
        r = self.render
        if isinstance(e, ast.Literal | ast.Template | ast.TemplateWrap):
            return self.src(e)
        if isinstance(e, ast.ScopeTraversal):
            out = e.root
            for st in e.steps:
                out += f".{st.name}" if isinstance(st, ast.AttrStep) else self.src(st)
            return out
        if isinstance(e, ast.AnonSymbol):
            return ""
        if isinstance(e, ast.GetAttr):
            return f"{r(e.obj)}.{e.name}"
        if isinstance(e, ast.Index):
            return f"{r(e.collection)}[{r(e.key)}]"
        if isinstance(e, ast.Splat):
            return r(e.source) + ("[*]" if e.full else ".*") + r(e.each)
        if isinstance(e, ast.FunctionCall):
            return f"{e.name}({', '.join(map(r, e.args))}{' ...' if e.expand_final else ''})"
        if isinstance(e, ast.Conditional):
            return f"{r(e.cond)} ? {r(e.true)} : {r(e.false)}"
        if isinstance(e, ast.BinaryOp):
            return f"{r(e.left)} {e.op} {r(e.right)}"
        if isinstance(e, ast.UnaryOp):
            return f"{e.op}{r(e.operand)}"
        if isinstance(e, ast.TupleCons):
            return f"[{', '.join(map(r, e.items))}]"
        if isinstance(e, ast.ObjectCons):
            return "{" + ", ".join(f"{self.src(i)} = {r(i.value)}" for i in e.items) + "}"
        if isinstance(e, ast.Parens):
            return f"({r(e.expr)})"
        if isinstance(e, ast.ForExpr):
            names = f"{e.key_var}, {e.value_var}" if e.key_var else e.value_var
            head = f"for {names} in {r(e.collection)} : "
            cond = f" if {r(e.cond)}" if e.cond is not None else ""
            if e.key is None:
                return f"[{head}{r(e.value)}{cond}]"
            group = "..." if e.group else ""
            return f"{{{head}{r(e.key)} => {r(e.value)}{group}{cond}}}"
        raise TypeError(type(e))


def normalize(v: Any) -> Any:
    if isinstance(v, dict):
        # python-hcl2 also reports comments, which are not part of the tree.
        return {k: normalize(x) for k, x in v.items() if not k.endswith("comments__")}
    if isinstance(v, list):
        return [normalize(x) for x in v]
    if isinstance(v, str) and v.startswith("${"):
        # python-hcl2 leaves numbers with exponents (1.5e-3) as expression text.
        if _NUMBER.fullmatch(v[2:-1]):
            return float(v[2:-1])
        return _WS.sub("", v)
    if isinstance(v, int | float) and not isinstance(v, bool):
        return float(v)  # 1.0 and 1 are the same number
    return v


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_same_shape_as_python_hcl2(sample: Path) -> None:
    text = sample.read_text()
    f, diags = parse_hcl(text, sample.name)
    assert diags == []
    ours = normalize(Converter(text).body(f.body))
    theirs = normalize(hcl2.loads(text))
    assert json.dumps(ours, indent=1, sort_keys=True) == json.dumps(
        theirs, indent=1, sort_keys=True
    )


def test_samples_exist() -> None:
    assert len(SAMPLES) >= 3


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_plain_strings_decode_like_json(sample: Path) -> None:
    """HCL's quoted-string escapes are JSON's (plus \\U): every plain string literal's value is
    what JSON makes of its source text."""
    text = sample.read_text()
    f, _ = parse_hcl(text, sample.name)
    checked = 0
    stack = [f.body]
    while stack:
        body = stack.pop()
        stack.extend(b.body for b in body.blocks)
        for attr in body.attributes.values():
            for e in ast.walk(attr.expr):
                if isinstance(e, ast.Literal) and isinstance(e.value.v, str):
                    src = text[e.range.start.byte : e.range.end.byte]
                    if src.startswith('"') and "$${" not in src and "%%{" not in src:
                        assert json.loads(src) == e.value.v
                        checked += 1
    if checked == 0:
        pytest.skip("no plain quoted strings in this sample")
