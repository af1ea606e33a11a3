"""What an expression refers to: the references of a module's expressions, classified.

`var.x`, `local.y`, `module.m.out`, `dataset.digits.id`, `data.t.n.attr`, `count.index`,
`each.key`, `path.module`, `mlform.workspace` (or `terraform.workspace`), `self.attr`.
The graph builder turns them into edges; the scope builder into the values an expression sees.
An undeclared name is a diagnostic with a suggestion.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mlform.addrs import Resource
from mlform.config.model import Module
from mlform.config.syntax import Body
from mlform.diagnostics import Diagnostic, Range, error, suggestion
from mlform.lang import ast

BUILTIN_ROOTS = (
    "var",
    "local",
    "module",
    "data",
    "count",
    "each",
    "path",
    "mlform",
    "terraform",
    "self",
)


@dataclass(frozen=True, slots=True)
class Ref:
    kind: str  # "var" | "local" | "module" | "resource" | "count" | "each" | "path" | "workspace" | "self"
    name: str = ""  # var/local/module call name; output name for module (may be "")
    resource: Resource | None = None
    output: str | None = None


def classify(t: ast.ScopeTraversal, module: Module, diags: list[Diagnostic] | None) -> Ref | None:
    """The reference a traversal makes, checked against the module's declarations."""
    root = t.root
    steps = t.steps
    first = steps[0].name if steps and isinstance(steps[0], ast.AttrStep) else None

    def bad(summary: str, detail: str, rng: Range | None = None) -> None:
        if diags is not None:
            diags.append(error(summary, detail, rng or t.range))

    if root == "var":
        if first is None:
            bad(
                "Invalid reference",
                "A reference to a variable is written var.NAME, such as var.seed.",
            )
            return None
        if first not in module.variables:
            bad(
                "Reference to undeclared input variable",
                f'An input variable with the name "{first}" has not been declared.'
                + (
                    suggestion(first, module.variables)
                    or f' This variable can be declared with a variable "{first}" {{}} block.'
                ),
            )
            return None
        return Ref("var", first)
    if root == "local":
        if first is None:
            bad("Invalid reference", "A reference to a local value is written local.NAME.")
            return None
        if first not in module.locals:
            bad(
                "Reference to undeclared local value",
                f'A local value with the name "{first}" has not been declared.'
                + suggestion(first, module.locals),
            )
            return None
        return Ref("local", first)
    if root == "module":
        if first is None:
            bad(
                "Invalid reference",
                "A reference to a module is written module.NAME or module.NAME.OUTPUT.",
            )
            return None
        if first not in module.module_calls:
            bad(
                "Reference to undeclared module",
                f'No module call named "{first}" is declared in {"the root module" if module.path.is_root else str(module.path)}.'
                + suggestion(first, module.module_calls),
            )
            return None
        out = None
        child = module.children.get(first)
        rest = steps[1:]
        # module.m.out, or module.m["k"].out / module.m[0].out for expanded calls.
        if rest and isinstance(rest[0], ast.IndexStep):
            rest = rest[1:]
        if rest and isinstance(rest[0], ast.AttrStep):
            out = rest[0].name
            if child is not None and out not in child.outputs:
                bad(
                    "Unsupported attribute",
                    f'This object does not have an attribute named "{out}": module "{first}" declares no output "{out}".'
                    + suggestion(out, child.outputs),
                    rest[0].range,
                )
                return None
        return Ref("module", first, output=out)
    if root == "data":
        if first is None or len(steps) < 2 or not isinstance(steps[1], ast.AttrStep):
            bad("Invalid reference", "A reference to a data source is written data.TYPE.NAME.")
            return None
        res = Resource("data", first, steps[1].name)
        if res not in module.resources and module.checks:
            from mlform.engine.checks import scoped_check_of

            check = scoped_check_of(module, res)
            if check is not None:
                bad(
                    "Reference to scoped resource",
                    f'The data resource "{first}" "{steps[1].name}" is declared inside check '
                    f'"{check}", so only that check\'s assertions can refer to it. Declare it at '
                    "the top level of the module to use it elsewhere.",
                )
                return None
        if res not in module.resources:
            names = [f"data.{r.type}.{r.name}" for r in module.resources if r.mode == "data"]
            bad(
                "Reference to undeclared resource",
                f'A data resource "{first}" "{steps[1].name}" has not been declared in {_where(module)}.'
                + suggestion(f"data.{first}.{steps[1].name}", names),
            )
            return None
        return Ref("resource", resource=res)
    if root == "count":
        if first != "index":
            bad("Invalid reference", 'The "count" object has only one attribute: index.')
            return None
        return Ref("count")
    if root == "each":
        if first not in ("key", "value"):
            bad("Invalid reference", 'The "each" object has two attributes: key and value.')
            return None
        return Ref("each", first)
    if root == "path":
        if first not in ("module", "root", "cwd"):
            bad("Invalid reference", 'The "path" object has the attributes module, root and cwd.')
            return None
        return Ref("path", first)
    if root in ("mlform", "terraform"):
        if first != "workspace":
            bad("Invalid reference", f'The "{root}" object has one attribute: workspace.')
            return None
        return Ref("workspace")
    if root == "self":
        return Ref("self")
    # A managed resource: TYPE.NAME
    if first is None:
        types = {r.type for r in module.resources if r.mode == "managed"}
        if root in types:
            bad(
                "Invalid reference",
                f"A reference to a resource is written TYPE.NAME, such as {root}.<name>.",
            )
        else:
            bad(
                "Reference to undeclared resource" if steps else "Unknown variable",
                f'There is no variable named "{root}".'
                + suggestion(root, [*BUILTIN_ROOTS, *types]),
            )
        return None
    res = Resource("managed", root, first)
    if res not in module.resources:
        names = [f"{r.type}.{r.name}" for r in module.resources if r.mode == "managed"]
        bad(
            "Reference to undeclared resource",
            f'A managed resource "{root}" "{first}" has not been declared in {_where(module)}.'
            + suggestion(f"{root}.{first}", names),
        )
        return None
    return Ref("resource", resource=res)


def _where(module: Module) -> str:
    return "the root module" if module.path.is_root else str(module.path)


def refs_of(
    exprs: Iterable[ast.Expr | None], module: Module, diags: list[Diagnostic] | None
) -> list[tuple[Ref, ast.ScopeTraversal]]:
    out = []
    for e in exprs:
        if e is None:
            continue
        for t in expr_traversals(e):
            r = classify(t, module, diags)
            if r is not None:
                out.append((r, t))
    return out


def expr_traversals(expr: ast.Expr) -> list[ast.ScopeTraversal]:
    """The references of one expression, as `ast.traversals` gives them (same order, names
    bound by `for` left out), collected into a list without a generator per tree node."""
    out: list[ast.ScopeTraversal] = []
    _collect(expr, _NO_NAMES, out)
    return out


_NO_NAMES: frozenset[str] = frozenset()


def _collect(expr: ast.Expr, bound: frozenset[str], out: list[ast.ScopeTraversal]) -> None:
    if isinstance(expr, ast.ScopeTraversal):
        if expr.root not in bound:
            out.append(expr)
        return
    if isinstance(expr, ast.ForExpr):
        _collect(expr.collection, bound, out)
        inner = bound | {expr.value_var} | ({expr.key_var} if expr.key_var else set())
        for sub in (expr.key, expr.value, expr.cond):
            if sub is not None:
                _collect(sub, inner, out)
        return
    if isinstance(expr, ast.Template):
        _collect_parts(expr.parts, bound, out)
        return
    for child in expr.children():
        _collect(child, bound, out)


def _collect_parts(
    parts: list[ast.TemplatePart], bound: frozenset[str], out: list[ast.ScopeTraversal]
) -> None:
    for p in parts:
        if isinstance(p, ast.TemplateInterp):
            _collect(p.expr, bound, out)
        elif isinstance(p, ast.TemplateIf):
            _collect(p.cond, bound, out)
            _collect_parts(p.then, bound, out)
            if p.else_ is not None:
                _collect_parts(p.else_, bound, out)
        elif isinstance(p, ast.TemplateFor):
            _collect(p.collection, bound, out)
            inner = bound | {p.value_var} | ({p.key_var} if p.key_var else set())
            _collect_parts(p.body, inner, out)


# body_traversals is asked for the same resource body by the graph builder and again by the
# walk; bodies live as long as the loaded configuration, so the answer is kept, by identity.
_BODY_TRAVS: dict[int, tuple[Body, list[ast.ScopeTraversal]]] = {}


def body_traversals(body: Body, bound: frozenset[str] = frozenset()) -> list[ast.ScopeTraversal]:
    """Every reference in a body, nested blocks included. Inside a `dynamic` block's content the
    iterator (the block's label, or its `iterator` argument) is bound, not a reference. The
    list returned is the caller's to change."""
    if bound:
        return _body_traversals(body, bound)
    hit = _BODY_TRAVS.get(id(body))
    if hit is None or hit[0] is not body:
        hit = _BODY_TRAVS[id(body)] = (body, _body_traversals(body, bound))
    return list(hit[1])


def _body_traversals(body: Body, bound: frozenset[str]) -> list[ast.ScopeTraversal]:
    out: list[ast.ScopeTraversal] = []
    for a in body.attributes.values():
        _collect(a.expr, bound, out)
    for b in body.blocks:
        if b.type == "dynamic" and b.labels:
            it_attr = b.body.attributes.get("iterator")
            iterator = b.labels[0]
            if it_attr is not None and isinstance(it_attr.expr, ast.ScopeTraversal):
                iterator = it_attr.expr.root
            for name, a in b.body.attributes.items():
                if name in ("for_each", "labels"):
                    _collect(a.expr, bound, out)
            for content in b.body.blocks_of_type("content"):
                out.extend(_body_traversals(content.body, bound | {iterator}))
        else:
            out.extend(_body_traversals(b.body, bound))
    return out


def refs_of_traversals(
    travs: Iterable[ast.ScopeTraversal], module: Module, diags: list[Diagnostic] | None
) -> list[tuple[Ref, ast.ScopeTraversal]]:
    out = []
    for t in travs:
        r = classify(t, module, diags)
        if r is not None:
            out.append((r, t))
    return out
