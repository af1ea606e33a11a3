"""The expression syntax tree: what the parser produces and the evaluator walks.

Every node carries `range`, the source span it came from, so that evaluation errors point at
the right place. Nodes are plain slotted classes (built in large numbers by the parser, so cheap
to construct); treat them as immutable.

Shapes follow HCL's own:

- `Literal`: a number, bool, null, or a string without interpolation.
- `Template`: a quoted string or heredoc with interpolations and directives. Strip markers
  (`~`) and heredoc indentation are already applied by the parser, so the evaluator only
  concatenates. A template that is exactly one interpolation (`"${x}"`) is a `TemplateWrap`,
  which yields the inner value unconverted, as HCL does.
- `ScopeTraversal`: a name and static steps: `var.region`, `aws_instance.web[0].id`, `each.key`.
  Steps are `AttrStep(name)` and `IndexStep(key)` with a literal key. This is what reference
  analysis reads.
- `GetAttr`, `Index`: an attribute or index applied to any expression (`f(x).a`, `x[var.i]`).
- `Splat`: `source.*.rest` / `source[*].rest`; `each` is evaluated once per element with the
  element bound to `AnonSymbol`.
- `BinaryChain`: a long run of binary operators, flat (see the class).
- `ForExpr`, `Conditional`, `BinaryOp`, `UnaryOp`, `FunctionCall`, `TupleCons`, `ObjectCons`,
  `Parens`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlform.diagnostics import Range
    from mlform.lang.values import Value


class Expr:
    __slots__ = ("range",)
    range: Range

    def children(self) -> Iterator[Expr]:
        return iter(())


class Literal(Expr):
    __slots__ = ("value",)

    def __init__(self, value: Value, range: Range):
        self.value = value
        self.range = range

    def __repr__(self) -> str:
        return f"Literal({self.value!r})"


# --- templates ---------------------------------------------------------------------------------


class TemplatePart:
    __slots__ = ("range",)
    range: Range


class TemplateLiteral(TemplatePart):
    __slots__ = ("text",)

    def __init__(self, text: str, range: Range):
        self.text = text
        self.range = range


class TemplateInterp(TemplatePart):
    __slots__ = ("expr",)

    def __init__(self, expr: Expr, range: Range):
        self.expr = expr
        self.range = range


class TemplateIf(TemplatePart):
    __slots__ = ("cond", "then", "else_")

    def __init__(
        self, cond: Expr, then: list[TemplatePart], else_: list[TemplatePart] | None, range: Range
    ):
        self.cond = cond
        self.then = then
        self.else_ = else_
        self.range = range


class TemplateFor(TemplatePart):
    __slots__ = ("key_var", "value_var", "collection", "body")

    def __init__(
        self,
        key_var: str | None,
        value_var: str,
        collection: Expr,
        body: list[TemplatePart],
        range: Range,
    ):
        self.key_var = key_var
        self.value_var = value_var
        self.collection = collection
        self.body = body
        self.range = range


class Template(Expr):
    __slots__ = ("parts",)

    def __init__(self, parts: list[TemplatePart], range: Range):
        self.parts = parts
        self.range = range

    def children(self) -> Iterator[Expr]:
        yield from _template_exprs(self.parts)


class TemplateWrap(Expr):
    """`"${expr}"`: the value of `expr`, not converted to a string."""

    __slots__ = ("expr",)

    def __init__(self, expr: Expr, range: Range):
        self.expr = expr
        self.range = range

    def children(self) -> Iterator[Expr]:
        yield self.expr


def _template_exprs(parts: list[TemplatePart]) -> Iterator[Expr]:
    for p in parts:
        if isinstance(p, TemplateInterp):
            yield p.expr
        elif isinstance(p, TemplateIf):
            yield p.cond
            yield from _template_exprs(p.then)
            if p.else_ is not None:
                yield from _template_exprs(p.else_)
        elif isinstance(p, TemplateFor):
            yield p.collection
            yield from _template_exprs(p.body)


# --- traversals --------------------------------------------------------------------------------


class Step:
    __slots__ = ("range",)
    range: Range


class AttrStep(Step):
    __slots__ = ("name",)

    def __init__(self, name: str, range: Range):
        self.name = name
        self.range = range

    def __repr__(self) -> str:
        return f".{self.name}"


class IndexStep(Step):
    __slots__ = ("key",)

    def __init__(self, key: Value, range: Range):
        self.key = key
        self.range = range

    def __repr__(self) -> str:
        return f"[{self.key!r}]"


class ScopeTraversal(Expr):
    __slots__ = ("root", "steps", "root_range")

    def __init__(self, root: str, steps: list[Step], range: Range, root_range: Range):
        self.root = root
        self.steps = steps
        self.range = range
        self.root_range = root_range

    def __repr__(self) -> str:
        return f"ScopeTraversal({self.root}{''.join(map(repr, self.steps))})"


class GetAttr(Expr):
    __slots__ = ("obj", "name")

    def __init__(self, obj: Expr, name: str, range: Range):
        self.obj = obj
        self.name = name
        self.range = range

    def children(self) -> Iterator[Expr]:
        yield self.obj


class Index(Expr):
    __slots__ = ("collection", "key")

    def __init__(self, collection: Expr, key: Expr, range: Range):
        self.collection = collection
        self.key = key
        self.range = range

    def children(self) -> Iterator[Expr]:
        yield self.collection
        yield self.key


class AnonSymbol(Expr):
    """The current element inside a splat's `each` expression."""

    __slots__ = ()

    def __init__(self, range: Range):
        self.range = range


class Splat(Expr):
    __slots__ = ("source", "each", "full")

    def __init__(self, source: Expr, each: Expr, full: bool, range: Range):
        self.source = source
        self.each = each  # an expression over AnonSymbol; AnonSymbol alone when nothing follows
        self.full = full  # True for [*], False for the legacy attribute-only .*
        self.range = range

    def children(self) -> Iterator[Expr]:
        yield self.source
        yield self.each


# --- the rest ----------------------------------------------------------------------------------


class FunctionCall(Expr):
    __slots__ = ("name", "args", "expand_final", "name_range")

    def __init__(
        self, name: str, args: list[Expr], expand_final: bool, range: Range, name_range: Range
    ):
        self.name = name
        self.args = args
        self.expand_final = expand_final
        self.range = range
        self.name_range = name_range

    def children(self) -> Iterator[Expr]:
        yield from self.args


class Conditional(Expr):
    __slots__ = ("cond", "true", "false")

    def __init__(self, cond: Expr, true: Expr, false: Expr, range: Range):
        self.cond = cond
        self.true = true
        self.false = false
        self.range = range

    def children(self) -> Iterator[Expr]:
        yield self.cond
        yield self.true
        yield self.false


class BinaryOp(Expr):
    """`op` is one of: || && == != < > <= >= + - * / %"""

    __slots__ = ("op", "left", "right")

    def __init__(self, op: str, left: Expr, right: Expr, range: Range):
        self.op = op
        self.left = left
        self.right = right
        self.range = range

    def children(self) -> Iterator[Expr]:
        yield self.left
        yield self.right


class BinaryChain(Expr):
    """A long run of binary operators that the parser read left to right, kept flat:
    `first ops[0] rights[0] ops[1] rights[1] ...`. It means exactly the left-nested `BinaryOp`s
    `((first op0 r0) op1 r1) ...`; `ranges[i]` is the range of the i-th of those (from the start
    of `first` to the end of `rights[i]`). Kept flat so that evaluating and walking a chain of
    thousands of terms (`a + b + c + ...`) needs no recursion per term."""

    __slots__ = ("first", "ops", "rights", "ranges")

    def __init__(
        self, first: Expr, ops: list[str], rights: list[Expr], ranges: list[Range], range: Range
    ):
        self.first = first
        self.ops = ops
        self.rights = rights
        self.ranges = ranges
        self.range = range

    def children(self) -> Iterator[Expr]:
        yield self.first
        yield from self.rights


class UnaryOp(Expr):
    """`op` is `!` or `-`."""

    __slots__ = ("op", "operand")

    def __init__(self, op: str, operand: Expr, range: Range):
        self.op = op
        self.operand = operand
        self.range = range

    def children(self) -> Iterator[Expr]:
        yield self.operand


class TupleCons(Expr):
    __slots__ = ("items",)

    def __init__(self, items: list[Expr], range: Range):
        self.items = items
        self.range = range

    def children(self) -> Iterator[Expr]:
        yield from self.items


class ObjectItem:
    """One `key = value` of an object constructor. A bare identifier key is a string literal
    (`Literal`); a parenthesized key is evaluated."""

    __slots__ = ("key", "value")

    def __init__(self, key: Expr, value: Expr):
        self.key = key
        self.value = value


class ObjectCons(Expr):
    __slots__ = ("items",)

    def __init__(self, items: list[ObjectItem], range: Range):
        self.items = items
        self.range = range

    def children(self) -> Iterator[Expr]:
        for it in self.items:
            yield it.key
            yield it.value


class ForExpr(Expr):
    """`[for k, v in coll : val if cond]` or `{for k, v in coll : key => val... if cond}`."""

    __slots__ = ("key_var", "value_var", "collection", "key", "value", "cond", "group")

    def __init__(
        self,
        key_var: str | None,
        value_var: str,
        collection: Expr,
        key: Expr | None,
        value: Expr,
        cond: Expr | None,
        group: bool,
        range: Range,
    ):
        self.key_var = key_var
        self.value_var = value_var
        self.collection = collection
        self.key = key  # None for a tuple-producing for
        self.value = value
        self.cond = cond
        self.group = group
        self.range = range

    def children(self) -> Iterator[Expr]:
        yield self.collection
        if self.key is not None:
            yield self.key
        yield self.value
        if self.cond is not None:
            yield self.cond


class Parens(Expr):
    __slots__ = ("expr",)

    def __init__(self, expr: Expr, range: Range):
        self.expr = expr
        self.range = range

    def children(self) -> Iterator[Expr]:
        yield self.expr


def traversal_text(t: ScopeTraversal, steps: int | None = None) -> str:
    """A traversal as the user wrote it (`test_object.a["k"].id`), or only its first `steps`
    steps after the root: the address form that `moved`, `depends_on` and JSON plans use."""
    import json

    out = t.root
    for step in t.steps[: len(t.steps) if steps is None else steps]:
        if isinstance(step, AttrStep):
            out += "." + step.name
        else:
            key = step.key.v  # type: ignore[attr-defined]
            out += f"[{key}]" if isinstance(key, int) else f"[{json.dumps(key)}]"
    return out


def walk(expr: Expr) -> Iterator[Expr]:
    """Every node of an expression tree, depth first, the root first."""
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(node.children())


def traversals(expr: Expr) -> Iterator[ScopeTraversal]:
    """The scope traversals (references) in an expression, excluding names bound by `for`
    expressions and template `for` directives inside it."""
    yield from _traversals(expr, frozenset())


def _traversals(expr: Expr, bound: frozenset[str]) -> Iterator[ScopeTraversal]:
    if isinstance(expr, ScopeTraversal):
        if expr.root not in bound:
            yield expr
        return
    if isinstance(expr, ForExpr):
        yield from _traversals(expr.collection, bound)
        inner = bound | {expr.value_var} | ({expr.key_var} if expr.key_var else set())
        for sub in (expr.key, expr.value, expr.cond):
            if sub is not None:
                yield from _traversals(sub, inner)
        return
    if isinstance(expr, Template):
        yield from _template_traversals(expr.parts, bound)
        return
    for child in expr.children():
        yield from _traversals(child, bound)


def _template_traversals(
    parts: list[TemplatePart], bound: frozenset[str]
) -> Iterator[ScopeTraversal]:
    for p in parts:
        if isinstance(p, TemplateInterp):
            yield from _traversals(p.expr, bound)
        elif isinstance(p, TemplateIf):
            yield from _traversals(p.cond, bound)
            yield from _template_traversals(p.then, bound)
            if p.else_ is not None:
                yield from _template_traversals(p.else_, bound)
        elif isinstance(p, TemplateFor):
            yield from _traversals(p.collection, bound)
            inner = bound | {p.value_var} | ({p.key_var} if p.key_var else set())
            yield from _template_traversals(p.body, inner)
