"""A compact, readable text form of mlform syntax trees, for asserting parser results."""

from __future__ import annotations

from mlform.config.syntax import Body
from mlform.lang import ast
from mlform.lang.values import Value


def value(v: Value) -> str:
    if v.v is None:
        return "null"
    if isinstance(v.v, bool):
        return "true" if v.v else "false"
    if isinstance(v.v, str):
        return repr(v.v)
    return str(v.v)


def dump(e: ast.Expr | None) -> str:
    """Lisp-like form: (+ 1 (* 2 3)), var.x[0], (call f 1 2...), ..."""
    if e is None:
        return "None"
    if isinstance(e, ast.Literal):
        return value(e.value)
    if isinstance(e, ast.ScopeTraversal):
        out = e.root
        for st in e.steps:
            out += f".{st.name}" if isinstance(st, ast.AttrStep) else f"[{value(st.key)}]"
        return out
    if isinstance(e, ast.AnonSymbol):
        return "@"
    if isinstance(e, ast.GetAttr):
        return f"(. {dump(e.obj)} {e.name})"
    if isinstance(e, ast.Index):
        return f"(index {dump(e.collection)} {dump(e.key)})"
    if isinstance(e, ast.Splat):
        return f"(splat{'' if e.full else '-attr'} {dump(e.source)} {dump(e.each)})"
    if isinstance(e, ast.BinaryOp):
        return f"({e.op} {dump(e.left)} {dump(e.right)})"
    if isinstance(e, ast.UnaryOp):
        return f"({e.op} {dump(e.operand)})"
    if isinstance(e, ast.Conditional):
        return f"(? {dump(e.cond)} {dump(e.true)} {dump(e.false)})"
    if isinstance(e, ast.FunctionCall):
        args = " ".join(dump(a) for a in e.args)
        return f"(call {e.name}{' ' if args else ''}{args}{'...' if e.expand_final else ''})"
    if isinstance(e, ast.TupleCons):
        return "[" + " ".join(dump(i) for i in e.items) + "]"
    if isinstance(e, ast.ObjectCons):
        return "{" + " ".join(f"{dump(i.key)}={dump(i.value)}" for i in e.items) + "}"
    if isinstance(e, ast.Parens):
        return f"(parens {dump(e.expr)})"
    if isinstance(e, ast.ForExpr):
        names = f"{e.key_var},{e.value_var}" if e.key_var else e.value_var
        key = f" {dump(e.key)} =>" if e.key is not None else ""
        cond = f" if {dump(e.cond)}" if e.cond is not None else ""
        group = "..." if e.group else ""
        return f"(for {names} in {dump(e.collection)}:{key} {dump(e.value)}{group}{cond})"
    if isinstance(e, ast.TemplateWrap):
        return f"(wrap {dump(e.expr)})"
    if isinstance(e, ast.Template):
        return "(tpl " + " ".join(dump_part(p) for p in e.parts) + ")"
    raise TypeError(type(e))


def dump_part(p: ast.TemplatePart) -> str:
    if isinstance(p, ast.TemplateLiteral):
        return repr(p.text)
    if isinstance(p, ast.TemplateInterp):
        return "${" + dump(p.expr) + "}"
    if isinstance(p, ast.TemplateIf):
        out = f"%if {dump(p.cond)} [" + " ".join(map(dump_part, p.then)) + "]"
        if p.else_ is not None:
            out += " else [" + " ".join(map(dump_part, p.else_)) + "]"
        return out
    if isinstance(p, ast.TemplateFor):
        names = f"{p.key_var},{p.value_var}" if p.key_var else p.value_var
        return f"%for {names} in {dump(p.collection)} [" + " ".join(map(dump_part, p.body)) + "]"
    raise TypeError(type(p))


def dump_body(body: Body, indent: str = "") -> list[str]:
    """Attributes and blocks, one per line, nested bodies indented."""
    out = []
    for name, attr in body.attributes.items():
        out.append(f"{indent}{name} = {dump(attr.expr)}")
    for b in body.blocks:
        labels = "".join(f" {lb!r}" for lb in b.labels)
        out.append(f"{indent}{b.type}{labels} {{")
        out.extend(dump_body(b.body, indent + "  "))
        out.append(f"{indent}}}")
    return out
