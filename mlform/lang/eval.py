"""The expression evaluator: a syntax tree and a scope in, a value and diagnostics out.

It follows HCL's evaluation rules as Terraform uses them: templates convert interpolations to
strings; operators convert their operands (but `==` does not); `&&` and `||` decide from one known
side; conditionals unify their two results; `for` iterates lists, tuples and sets in order and
maps and objects by key; splats map over sequences and wrap a single value; function calls go
through the standard library, with `try` and `can` evaluated here because they look at whole
expressions.

Unknown values propagate: an operation on an unknown gives an unknown of the result type.
Marks (`sensitive`) on operands are carried to results. User mistakes never raise: they become
diagnostics pointing at the sub-expression at fault, and the value is then an unknown.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlform.diagnostics import Diagnostic, Range, error, suggestion
from mlform.lang import ast
from mlform.lang.convert import ConversionError, convert, unify
from mlform.lang.ops import OperationError, arithmetic, compare, equals
from mlform.lang.types import (
    BOOL,
    DYNAMIC,
    EMPTY_TUPLE,
    NUMBER,
    STRING,
    ListType,
    MapType,
    ObjectType,
    SetType,
    TupleType,
    Type,
)
from mlform.lang.values import (
    DYNAMIC_UNKNOWN,
    FALSE,
    NO_MARKS,
    TRUE,
    UNKNOWN,
    Value,
    object_of,
    string,
    tuple_of,
    unknown,
)

if TYPE_CHECKING:
    from mlform.lang.functions import FunctionContext

__all__ = ["EvalContext", "evaluate", "evaluate_template_string", "template_evaluator"]

# Functions that see their arguments as expressions, not values.
SPECIAL_FUNCTIONS = ("try", "can")


class EvalContext:
    """A scope: the root names an expression may refer to, and what functions need.

    `variables` maps root names (`var`, `local`, `each`, resource types, ...) to values; names
    bound by `for` expressions live in child scopes made with `child()`.
    """

    __slots__ = ("variables", "parent", "_functions", "anon", "has_anon", "on_missing")

    def __init__(
        self,
        variables: dict[str, Value] | None = None,
        functions: FunctionContext | None = None,
        parent: EvalContext | None = None,
        on_missing: Callable[[ast.ScopeTraversal], Diagnostic] | None = None,
    ) -> None:
        self.variables: dict[str, Value] = dict(variables or {})
        self.parent = parent
        self._functions = functions
        self.anon: Value = DYNAMIC_UNKNOWN  # the current element of the nearest splat
        self.has_anon = False
        # Says what is wrong with a reference to a root name the scope lacks ("Reference to
        # undeclared resource"); the default is HCL's "Unknown variable".
        # An EvalContext is always truthy: `parent and` only skips None.
        self.on_missing: Callable[[ast.ScopeTraversal], Diagnostic] | None = (
            on_missing if on_missing is not None else (parent and parent.on_missing)  # type: ignore[assignment]
        )

    @property
    def functions(self) -> FunctionContext:
        """The function context; made on first use (base folder: the current one)."""
        if self._functions is None:
            if self.parent is not None:
                return self.parent.functions
            from mlform.lang.functions import FunctionContext

            self._functions = FunctionContext(base_dir=Path.cwd())
        fctx = self._functions
        if getattr(fctx, "evaluate_template", None) is None:
            fctx.evaluate_template = template_evaluator(fctx)
        return fctx

    def child(self, extra: dict[str, Value]) -> EvalContext:
        ctx = EvalContext(extra, None, self)
        ctx.anon, ctx.has_anon = self.anon, self.has_anon
        return ctx

    def lookup(self, name: str) -> Value | None:
        ctx: EvalContext | None = self
        while ctx is not None:
            v = ctx.variables.get(name)
            if v is not None:
                return v
            ctx = ctx.parent
        return None

    def names(self) -> set[str]:
        out: set[str] = set()
        ctx: EvalContext | None = self
        while ctx is not None:
            out.update(ctx.variables)
            ctx = ctx.parent
        return out


def evaluate(expr: ast.Expr, ctx: EvalContext) -> tuple[Value, list[Diagnostic]]:
    """The value of `expr` in `ctx`, and the diagnostics of any mistakes in it."""
    diags: list[Diagnostic] = []
    value = _Evaluator(diags).eval(expr, ctx)
    return value, diags


def _has_errors(diags: list[Diagnostic], since: int = 0) -> bool:
    return any(d.is_error for d in diags[since:])


def _merge_marks(*values: Value) -> frozenset[str]:
    out: frozenset[str] = NO_MARKS
    for v in values:
        if v.marks:
            out = out | v.marks
    return out


# Arithmetic on whole numbers is Python's own; with a fraction in it, it is computed on 512-bit
# floats as Terraform does, which costs tens of microseconds. The result depends only on the
# operator and the operands' values, and a configuration repeats the same few (`v * 2` in a
# `for` over the same map in every resource), so those results are remembered.
_ARITH_MEMO: dict[tuple[str, Any, Any], Any] = {}


def _arithmetic(op: str, a: Any, b: Any) -> Any:
    if type(a) is int and type(b) is int:
        return arithmetic(op, a, b)
    key = (op, a, b)
    n = _ARITH_MEMO.get(key)
    if n is None:
        n = arithmetic(op, a, b)
        if len(_ARITH_MEMO) >= 4096:
            _ARITH_MEMO.clear()
        _ARITH_MEMO[key] = n
    return n


def _deep_marks(v: Value) -> tuple[Value, frozenset[str]]:
    if not v.marks and not isinstance(v.v, tuple | dict):
        return v, NO_MARKS
    return v.unmark_deep()


class _Evaluator:
    """One evaluation: holds the diagnostics list that every step appends to."""

    __slots__ = ("diags",)

    def __init__(self, diags: list[Diagnostic]) -> None:
        self.diags = diags

    def err(self, summary: str, detail: str, rng: Range | None) -> Value:
        self.diags.append(error(summary, detail, rng))
        return DYNAMIC_UNKNOWN

    # -- dispatch ---------------------------------------------------------------------------

    def eval(self, expr: ast.Expr, ctx: EvalContext) -> Value:
        method = _DISPATCH.get(type(expr))
        if method is None:
            return self.err(
                "Unsupported expression",
                f"mlform cannot evaluate {type(expr).__name__}.",
                expr.range,
            )
        return method(self, expr, ctx)

    def literal(self, expr: ast.Literal, ctx: EvalContext) -> Value:
        return expr.value

    def parens(self, expr: ast.Parens, ctx: EvalContext) -> Value:
        return self.eval(expr.expr, ctx)

    def wrap(self, expr: ast.TemplateWrap, ctx: EvalContext) -> Value:
        return self.eval(expr.expr, ctx)

    # -- references --------------------------------------------------------------------------

    def traversal(self, expr: ast.ScopeTraversal, ctx: EvalContext) -> Value:
        root = ctx.lookup(expr.root)
        if root is None:
            if ctx.on_missing is not None:
                self.diags.append(ctx.on_missing(expr))
                return DYNAMIC_UNKNOWN
            hint = suggestion(expr.root, ctx.names())
            return self.err(
                "Unknown variable",
                f'There is no variable named "{expr.root}".{hint}',
                expr.root_range,
            )
        value = root
        for i, step in enumerate(expr.steps):
            if isinstance(step, ast.AttrStep):
                value = self.get_attr(value, step.name, step.range, expr.root if i == 0 else None)
            else:
                value = self.index(value, step.key, step.range)  # type: ignore[attr-defined]  # an IndexStep
            if value is _FAILED:
                return DYNAMIC_UNKNOWN
        return value

    def anon(self, expr: ast.AnonSymbol, ctx: EvalContext) -> Value:
        return ctx.anon

    def get_attr_expr(self, expr: ast.GetAttr, ctx: EvalContext) -> Value:
        obj = self.eval(expr.obj, ctx)
        v = self.get_attr(obj, expr.name, expr.range, None)
        return DYNAMIC_UNKNOWN if v is _FAILED else v

    def index_expr(self, expr: ast.Index, ctx: EvalContext) -> Value:
        coll = self.eval(expr.collection, ctx)
        key = self.eval(expr.key, ctx)
        v = self.index(coll, key, expr.range)
        return DYNAMIC_UNKNOWN if v is _FAILED else v

    def get_attr(self, obj: Value, name: str, rng: Range, root: str | None) -> Value:
        """`obj.name`; `_FAILED` after reporting a mistake."""
        if obj.v is None:
            self.err(
                "Attempt to get attribute from null value",
                "This value is null, so it does not have any attributes.",
                rng,
            )
            return _FAILED
        t = obj.type
        if isinstance(t, ObjectType):
            aty = t.attr(name)
            if aty is None:
                self.diags.append(_missing_attribute(name, t, rng, root))
                return _FAILED
            if obj.v is UNKNOWN:
                return Value(aty, UNKNOWN, obj.marks)
            return obj.v[name].with_marks(obj.marks)
        if isinstance(t, MapType):
            if obj.v is UNKNOWN:
                return Value(t.elem, UNKNOWN, obj.marks)
            if name not in obj.v:
                self.err(
                    "Missing map element",
                    f'This map does not have an element with the key "{name}".',
                    rng,
                )
                return _FAILED
            return obj.v[name].with_marks(obj.marks)
        if t is DYNAMIC:
            return Value(DYNAMIC, UNKNOWN, obj.marks)
        if isinstance(t, ListType) and isinstance(t.elem, ObjectType):
            if t.elem.attr(name) is not None:
                detail = (
                    "Can't access attributes on a list of objects. Did you mean to access "
                    f'attribute "{name}" for a specific element of the list, or across all '
                    "elements of the list?"
                )
            else:
                detail = (
                    "Can't access attributes on a list of objects. Did you mean to access an "
                    "attribute for a specific element of the list, or across all elements of "
                    "the list?"
                )
            self.err("Unsupported attribute", detail, rng)
            return _FAILED
        if isinstance(t, SetType) and isinstance(t.elem, ObjectType):
            self.err(
                "Unsupported attribute",
                "Can't access attributes on a set of objects. Did you mean to access an "
                "attribute across all elements of the set?",
                rng,
            )
            return _FAILED
        if t.is_primitive():
            self.err(
                "Unsupported attribute",
                f"Can't access attributes on a primitive-typed value ({t.friendly()}).",
                rng,
            )
            return _FAILED
        self.err("Unsupported attribute", "This value does not have any attributes.", rng)
        return _FAILED

    def index(self, coll: Value, key: Value, rng: Range) -> Value:
        """`coll[key]`; `_FAILED` after reporting a mistake."""
        bad = "Invalid index"
        prefix = "The given key does not identify an element in this collection value"
        if coll.v is None:
            self.err(
                "Attempt to index null value",
                "This value is null, so it does not have any indices.",
                rng,
            )
            return _FAILED
        if key.v is None:
            self.err(bad, "Can't use a null value as an indexing key.", rng)
            return _FAILED
        t = coll.type
        marks = coll.marks | key.marks
        if key.type is DYNAMIC or t is DYNAMIC:
            return Value(DYNAMIC, UNKNOWN, marks)
        if isinstance(t, ListType | TupleType | MapType):
            want = STRING if isinstance(t, MapType) else NUMBER
            try:
                k = convert(key.unmark(), want)
            except ConversionError as e:
                self.err(bad, f"{prefix}: {e.message}.", rng)
                return _FAILED
            if k.v is UNKNOWN or coll.v is UNKNOWN:
                if isinstance(t, TupleType):
                    if k.v is not UNKNOWN and _whole_index(k.v, len(t.elems)):
                        return Value(t.elems[int(k.v)], UNKNOWN, marks)
                    return Value(DYNAMIC, UNKNOWN, marks)
                return Value(t.elem, UNKNOWN, marks)
            if isinstance(t, MapType):
                if k.v not in coll.v:
                    self.err(bad, f"{prefix}.", rng)
                    return _FAILED
                return coll.v[k.v].with_marks(marks)
            n = k.v
            size = len(coll.v)
            if n != int(n):
                self.err(
                    bad,
                    f"{prefix}: indexing a sequence requires a whole number, but the given "
                    "index has a fractional part.",
                    rng,
                )
                return _FAILED
            if n < 0:
                self.err(
                    bad, f"{prefix}: a negative number is not a valid index for a sequence.", rng
                )
                return _FAILED
            if n >= size:
                if size == 0:
                    self.err(bad, f"{prefix}: the collection has no elements.", rng)
                else:
                    self.err(
                        bad,
                        f"{prefix}: the given index is greater than or equal to the length of "
                        "the collection.",
                        rng,
                    )
                return _FAILED
            return coll.v[int(n)].with_marks(marks)
        if isinstance(t, ObjectType):
            was_number = key.type == NUMBER
            try:
                k = convert(key.unmark(), STRING)
            except ConversionError as e:
                self.err(bad, f"{prefix}: {e.message}.", rng)
                return _FAILED
            if k.v is UNKNOWN:
                return Value(DYNAMIC, UNKNOWN, marks)
            aty = t.attr(k.v)
            if aty is None:
                extra = (
                    " An object only supports looking up attributes by name, not by numeric index."
                    if was_number
                    else ""
                )
                self.err(bad, f"{prefix}.{extra}", rng)
                return _FAILED
            if coll.v is UNKNOWN:
                return Value(aty, UNKNOWN, marks)
            return coll.v[k.v].with_marks(marks)
        if isinstance(t, SetType):
            self.err(
                bad,
                "Elements of a set are identified only by their value and don't have any "
                "separate index or key to select with, so it's only possible to perform "
                "operations across all elements of the set.",
                rng,
            )
            return _FAILED
        self.err(bad, "This value does not have any indices.", rng)
        return _FAILED

    # -- constructors ---------------------------------------------------------------------------

    def tuple_cons(self, expr: ast.TupleCons, ctx: EvalContext) -> Value:
        return tuple_of([self.eval(e, ctx) for e in expr.items])

    def object_cons(self, expr: ast.ObjectCons, ctx: EvalContext) -> Value:
        items: dict[str, Value] = {}
        known = True
        marks: frozenset[str] = NO_MARKS
        for item in expr.items:
            key = self.eval(item.key, ctx)
            value = self.eval(item.value, ctx)
            if key.v is None:
                self.err("Null value as key", "Can't use a null value as a key.", item.key.range)
                known = False
                continue
            try:
                key = convert(key, STRING)
            except ConversionError as e:
                self.err(
                    "Incorrect key type",
                    f"Can't use this value as a key: {e.message}.",
                    item.key.range,
                )
                known = False
                continue
            if key.v is UNKNOWN:
                known = False
                continue
            marks = marks | key.marks
            items[key.v] = value
        if not known:
            return DYNAMIC_UNKNOWN
        return object_of(dict(sorted(items.items()))).with_marks(marks)

    # -- templates -------------------------------------------------------------------------------

    def template(self, expr: ast.Template, ctx: EvalContext) -> Value:
        out = self.template_parts(expr.parts, ctx)
        return out

    def template_parts(self, parts: list[ast.TemplatePart], ctx: EvalContext) -> Value:
        buf: list[str] = []
        known = True
        marks: frozenset[str] = NO_MARKS
        start = len(self.diags)
        for part in parts:
            if isinstance(part, ast.TemplateLiteral):
                buf.append(part.text)
                continue
            if isinstance(part, ast.TemplateInterp):
                v = self.eval(part.expr, ctx)
                rng = part.expr.range
            elif isinstance(part, ast.TemplateIf):
                v = self.template_if(part, ctx)
                rng = part.range
            elif isinstance(part, ast.TemplateFor):
                v = self.template_for(part, ctx)
                rng = part.range
            else:  # pragma: no cover - the parser makes only these parts
                continue
            v, m = _deep_marks(v)
            marks = marks | m
            if v.v is None:
                self.err(
                    "Invalid template interpolation value",
                    "The expression result is null. Cannot include a null value in a string "
                    "template.",
                    rng,
                )
                continue
            if not v.is_known:
                known = False
                continue
            try:
                sv = convert(v, STRING)
            except ConversionError as e:
                self.err(
                    "Invalid template interpolation value",
                    f"Cannot include the given value in a string template: {e.message}.",
                    rng,
                )
                continue
            if sv.v is UNKNOWN:
                known = False
                continue
            buf.append(sv.v)
        if _has_errors(self.diags, start):
            known = False
        result = Value(STRING, "".join(buf)) if known else unknown(STRING)
        return result.with_marks(marks)

    def template_if(self, part: ast.TemplateIf, ctx: EvalContext) -> Value:
        cond = self.eval(part.cond, ctx)
        cond, marks = _deep_marks(cond)
        if cond.v is None:
            self.err(
                "Null condition",
                "The condition value is null. Conditions must either be true or false.",
                part.cond.range,
            )
            return unknown(STRING)
        try:
            cond = convert(cond, BOOL)
        except ConversionError:
            self.err(
                "Incorrect condition type",
                "The condition expression must be of type bool.",
                part.cond.range,
            )
            return unknown(STRING)
        if cond.v is UNKNOWN:
            return unknown(STRING).with_marks(marks)
        if cond.v:
            return self.template_parts(part.then, ctx).with_marks(marks)
        if part.else_ is None:
            return Value(STRING, "", marks)
        return self.template_parts(part.else_, ctx).with_marks(marks)

    def template_for(self, part: ast.TemplateFor, ctx: EvalContext) -> Value:
        coll = self.eval(part.collection, ctx)
        pairs = self.for_items(coll, part.collection.range)
        if pairs is None:
            return unknown(STRING).with_marks(coll.marks)
        buf: list[str] = []
        known = True
        marks = coll.marks
        for k, v in pairs:
            scope = {part.value_var: v}
            if part.key_var:
                scope[part.key_var] = k
            r = self.template_parts(part.body, ctx.child(scope))
            marks = marks | r.marks
            if r.v is UNKNOWN:
                known = False
            else:
                buf.append(r.v)
        return (Value(STRING, "".join(buf)) if known else unknown(STRING)).with_marks(marks)

    # -- operators -------------------------------------------------------------------------------

    def unary(self, expr: ast.UnaryOp, ctx: EvalContext) -> Value:
        v = self.eval(expr.operand, ctx)
        want = NUMBER if expr.op == "-" else BOOL
        start = len(self.diags)
        try:
            cv = convert(v, want)
        except ConversionError as e:
            self.err(
                "Invalid operand",
                f"Unsuitable value for unary operand: {e.full_message()}.",
                expr.operand.range,
            )
            return unknown(want)
        if _has_errors(self.diags, start):
            return unknown(want)
        cv, marks = _deep_marks(cv)
        if cv.v is None:
            self.err(
                "Operation failed", "Error during operation: argument must not be null.", expr.range
            )
            return unknown(want)
        if cv.v is UNKNOWN:
            return unknown(want).with_marks(marks)
        if expr.op == "-":
            result = Value(NUMBER, -cv.v)
        else:
            result = FALSE if cv.v else TRUE
        return result.with_marks(marks)

    def binary(self, expr: ast.BinaryOp, ctx: EvalContext) -> Value:
        start = len(self.diags)
        left = self.eval(expr.left, ctx)
        return self.operate(expr.op, start, left, expr.left.range, expr.right, expr.range, ctx)

    def chain(self, expr: ast.BinaryChain, ctx: EvalContext) -> Value:
        # The left-nested BinaryOps this chain stands for, folded in a loop.
        start = len(self.diags)
        left = self.eval(expr.first, ctx)
        left_range = expr.first.range
        for op, right, rng in zip(expr.ops, expr.rights, expr.ranges, strict=True):
            left = self.operate(op, start, left, left_range, right, rng, ctx)
            left_range = rng
        return left

    def operate(
        self,
        op: str,
        start: int,
        left: Value,
        left_range: Range,
        right_expr: ast.Expr,
        rng: Range,
        ctx: EvalContext,
    ) -> Value:
        """`left op right_expr`: `left` is the left operand's value, and the diagnostics from
        `start` on are those of evaluating it."""
        if op in ("==", "!="):
            return self.equality(op, start, left, right_expr, ctx)
        want = BOOL if op in ("&&", "||") else NUMBER
        result_type = BOOL if op in ("&&", "||", "<", ">", "<=", ">=") else NUMBER
        left_diags_end = len(self.diags)
        right = self.eval(right_expr, ctx)
        bad = False
        try:
            lv = convert(left, want)
        except ConversionError as e:
            self.err(
                "Invalid operand",
                f"Unsuitable value for left operand: {e.full_message()}.",
                left_range,
            )
            bad = True
        try:
            rv = convert(right, want)
        except ConversionError as e:
            self.err(
                "Invalid operand",
                f"Unsuitable value for right operand: {e.full_message()}.",
                right_expr.range,
            )
            bad = True
        if bad:
            return unknown(result_type)
        lv, lmarks = _deep_marks(lv)
        rv, rmarks = _deep_marks(rv)
        marks = lmarks | rmarks
        if op in ("&&", "||") and lv.v is not None and rv.v is not None:
            forced = _short_circuit(op, lv, rv)
            if forced is not None:
                value, side = forced
                if side == "left":
                    # Only the deciding side's mistakes matter, as with a conditional.
                    del self.diags[left_diags_end:]
                elif side == "right":
                    del self.diags[start:left_diags_end]
                return value.with_marks(marks)
        if _has_errors(self.diags, start):
            return unknown(result_type).with_marks(marks)
        if lv.v is None or rv.v is None:
            self.err("Operation failed", "Error during operation: argument must not be null.", rng)
            return unknown(result_type)
        if lv.v is UNKNOWN or rv.v is UNKNOWN:
            return unknown(result_type).with_marks(marks)
        if op == "&&":
            return (TRUE if lv.v and rv.v else FALSE).with_marks(marks)
        if op == "||":
            return (TRUE if lv.v or rv.v else FALSE).with_marks(marks)
        if op in ("<", ">", "<=", ">="):
            return (TRUE if compare(op, lv.v, rv.v) else FALSE).with_marks(marks)
        try:
            n = _arithmetic(op, lv.v, rv.v)
        except OperationError as e:
            self.err("Operation failed", f"Error during operation: {e}.", rng)
            return unknown(NUMBER)
        return Value(NUMBER, n, marks)

    def equality(
        self, op: str, start: int, left: Value, right_expr: ast.Expr, ctx: EvalContext
    ) -> Value:
        right = self.eval(right_expr, ctx)
        left, lmarks = _deep_marks(left)
        right, rmarks = _deep_marks(right)
        marks = lmarks | rmarks
        if _has_errors(self.diags, start):
            return unknown(BOOL).with_marks(marks)
        result = equals(left, right)
        if op == "!=" and result.v is not UNKNOWN:
            result = FALSE if result.v else TRUE
        return result.with_marks(marks)

    # -- conditionals ------------------------------------------------------------------------------

    def conditional(self, expr: ast.Conditional, ctx: EvalContext) -> Value:
        start = len(self.diags)
        true_v = self.eval(expr.true, ctx)
        true_diags = self.diags[start:]
        del self.diags[start:]
        false_v = self.eval(expr.false, ctx)
        false_diags = self.diags[start:]
        del self.diags[start:]

        tt, ft = true_v.type, false_v.type
        result_type: Type | None
        if true_v.v is None and tt is DYNAMIC:
            result_type = ft
        elif false_v.v is None and ft is DYNAMIC:
            result_type = tt
        elif tt is DYNAMIC or ft is DYNAMIC:
            result_type = DYNAMIC
        else:
            result_type = unify([tt, ft])
        if result_type is None:
            rng = Range.between(expr.true.range, expr.false.range)
            self.err(
                "Inconsistent conditional result types",
                "The true and false result expressions must have consistent types. "
                f"{_describe_mismatch(tt, ft)}.",
                rng,
            )
            return DYNAMIC_UNKNOWN

        cond = self.eval(expr.cond, ctx)
        cond, cmarks = _deep_marks(cond)
        if cond.v is None:
            self.err(
                "Null condition",
                "The condition value is null. Conditions must either be true or false.",
                expr.cond.range,
            )
            return unknown(result_type)
        if cond.v is UNKNOWN:
            if true_v.v is None and false_v.v is None:
                return Value(result_type, None, cmarks)
            marks = cmarks | _deep_marks(true_v)[1] | _deep_marks(false_v)[1]
            return Value(result_type, UNKNOWN, marks)
        try:
            cond = convert(cond, BOOL)
        except ConversionError:
            self.err(
                "Incorrect condition type",
                "The condition expression must be of type bool.",
                expr.cond.range,
            )
            return unknown(result_type)
        chosen, chosen_diags, which, rng = (
            (true_v, true_diags, "true", expr.true.range)
            if cond.v
            else (false_v, false_diags, "false", expr.false.range)
        )
        self.diags.extend(chosen_diags)
        if result_type is not DYNAMIC and chosen.type != result_type:
            try:
                chosen = convert(chosen, result_type)
            except ConversionError as e:
                self.err(
                    "Inconsistent conditional result types",
                    f"The {which} result value has the wrong type: {e.full_message()}.",
                    rng,
                )
                return unknown(result_type)
        return chosen.with_marks(cmarks)

    # -- for expressions ---------------------------------------------------------------------------

    def for_items(self, coll: Value, rng: Range) -> list[tuple[Value, Value]] | None:
        """The (key, value) pairs a `for` iterates, or None (after a diagnostic, or when the
        collection is unknown)."""
        if coll.v is None:
            self.err(
                "Iteration over null value",
                "A null value cannot be used as the collection in a 'for' expression.",
                rng,
            )
            return None
        t = coll.type
        if not (t.is_sequence() or t.is_mapping() or t is DYNAMIC):
            self.err(
                "Iteration over non-iterable value",
                f"A value of type {t.friendly()} cannot be used as the collection in a 'for' "
                "expression.",
                rng,
            )
            return None
        if coll.v is UNKNOWN:
            return None
        if isinstance(t, ListType | TupleType):
            return [(Value(NUMBER, i), e) for i, e in enumerate(coll.v)]
        if isinstance(t, SetType):
            return [(e, e) for e in coll.v]
        return [(string(k), coll.v[k]) for k in sorted(coll.v)]

    def for_expr(self, expr: ast.ForExpr, ctx: EvalContext) -> Value:
        coll = self.eval(expr.collection, ctx)
        coll, cmarks = coll.unmark(), coll.marks
        pairs = self.for_items(coll, expr.collection.range)
        if pairs is None:
            return DYNAMIC_UNKNOWN.with_marks(cmarks)
        known = True
        marks = cmarks
        keys: list[str] = []
        seen: set[str] = set()  # keys, for a constant-time duplicate check
        vals: list[Value] = []
        groups: dict[str, list[Value]] = {}
        start = len(self.diags)
        for k, v in pairs:
            scope = {expr.value_var: v}
            if expr.key_var:
                scope[expr.key_var] = k
            child = ctx.child(scope)
            if expr.cond is not None:
                c = self.eval(expr.cond, child)
                c, m = _deep_marks(c)
                marks = marks | m
                if c.v is None:
                    self.err(
                        "Condition is null",
                        "The value of the 'if' clause must not be null.",
                        expr.cond.range,
                    )
                    known = False
                    continue
                try:
                    c = convert(c, BOOL)
                except ConversionError as e:
                    self.err(
                        "Invalid 'for' condition",
                        f"The 'if' clause value is invalid: {e.message}.",
                        expr.cond.range,
                    )
                    known = False
                    continue
                if c.v is UNKNOWN:
                    known = False
                    continue
                if not c.v:
                    continue
            if expr.key is None:
                vals.append(self.eval(expr.value, child))
                continue
            kv = self.eval(expr.key, child)
            kv, m = _deep_marks(kv)
            marks = marks | m
            val = self.eval(expr.value, child)
            if kv.v is None:
                self.err(
                    "Invalid object key",
                    "Key expression in 'for' expression must not produce a null value.",
                    expr.key.range,
                )
                known = False
                continue
            try:
                kv = convert(kv, STRING)
            except ConversionError as e:
                self.err(
                    "Invalid object key",
                    f"The key expression produced an invalid result: {e.message}.",
                    expr.key.range,
                )
                known = False
                continue
            if kv.v is UNKNOWN:
                known = False
                continue
            key = kv.v
            if expr.group:
                groups.setdefault(key, []).append(val)
                continue
            if key in seen:
                self.err(
                    "Duplicate object key",
                    f"Two different items produced the key \"{key}\" in this 'for' expression. "
                    "If duplicates are expected, use the ellipsis (...) after the value "
                    "expression to enable grouping by key.",
                    expr.key.range,
                )
                known = False
                continue
            keys.append(key)
            seen.add(key)
            vals.append(val)
        if not known or _has_errors(self.diags, start):
            return DYNAMIC_UNKNOWN.with_marks(marks)
        if expr.key is None:
            return tuple_of(vals).with_marks(marks)
        if expr.group:
            return object_of({k: tuple_of(vs) for k, vs in sorted(groups.items())}).with_marks(
                marks
            )
        return object_of(dict(sorted(zip(keys, vals, strict=True)))).with_marks(marks)

    # -- splats ------------------------------------------------------------------------------------

    def splat(self, expr: ast.Splat, ctx: EvalContext) -> Value:
        start = len(self.diags)
        source = self.eval(expr.source, ctx)
        if _has_errors(self.diags, start):
            return DYNAMIC_UNKNOWN
        t = source.type
        upgrade = not t.is_sequence()
        if source.v is None:
            if upgrade:
                return Value(EMPTY_TUPLE, (), source.marks)
            self.err(
                "Splat of null value",
                "Splat expressions (with the * symbol) cannot be applied to null sequences.",
                expr.source.range,
            )
            return DYNAMIC_UNKNOWN
        if upgrade:
            if source.v is UNKNOWN:
                return DYNAMIC_UNKNOWN.with_marks(source.marks)
            source = tuple_of([source])
            t = source.type
        if source.v is UNKNOWN:
            return Value(self._splat_type(expr, t, ctx), UNKNOWN, source.marks)
        marks = source.marks
        vals = []
        ok = True
        for item in source.v:
            child = ctx.child({})
            child.anon, child.has_anon = item, True
            before = len(self.diags)
            vals.append(self.eval(expr.each, child))
            if _has_errors(self.diags, before):
                ok = False
        if not ok:
            return DYNAMIC_UNKNOWN
        if isinstance(t, ListType | SetType):
            if not vals:
                return Value(self._splat_type(expr, t, ctx), (), marks)
            ety = unify([v.type for v in vals]) or DYNAMIC
            out = [v if v.type == ety else _try_convert(v, ety) for v in vals]
            return Value(ListType(ety), tuple(out), marks)
        return tuple_of(vals).with_marks(marks)

    def _splat_type(self, expr: ast.Splat, t: Type, ctx: EvalContext) -> Type:
        # The type the splat would have, from evaluating `each` on unknown elements. What that
        # finds wrong (an attribute the elements' type does not have) is reported, as HCL
        # does, once however many elements share the mistake.
        probe = _Evaluator([])
        out: Type = DYNAMIC
        if isinstance(t, ListType | SetType):
            child = ctx.child({})
            child.anon, child.has_anon = unknown(t.elem), True
            out = ListType(probe.eval(expr.each, child).type)
        elif isinstance(t, TupleType):
            tys = []
            for ety in t.elems:
                child = ctx.child({})
                child.anon, child.has_anon = unknown(ety), True
                tys.append(probe.eval(expr.each, child).type)
            out = TupleType(tuple(tys))
        seen: set[tuple[str, str, str]] = set()
        for d in probe.diags:
            key = (d.summary, d.detail, str(d.subject))
            if d.is_error and key not in seen:
                seen.add(key)
                self.diags.append(d)
        return out

    # -- function calls ----------------------------------------------------------------------------

    def call(self, expr: ast.FunctionCall, ctx: EvalContext) -> Value:
        name = expr.name
        if name == "try":
            return self.call_try(expr, ctx)
        if name == "can":
            return self.call_can(expr, ctx)
        from mlform.lang.functions import FunctionError, call_function, load_all

        functions = load_all()
        if name not in functions:
            hint = suggestion(name, [*functions, *SPECIAL_FUNCTIONS])
            for a in expr.args:
                self.eval(a, ctx)
            return self.err(
                "Call to unknown function",
                f'There is no function named "{name}".{hint}',
                expr.name_range,
            )
        start = len(self.diags)
        args = [self.eval(a, ctx) for a in expr.args]
        if expr.expand_final and args:
            last = args[-1]
            rng = expr.args[-1].range
            if last.v is None:
                self.err(
                    "Invalid expanding argument value",
                    "The expanding argument (indicated by ...) must not be null.",
                    rng,
                )
                return DYNAMIC_UNKNOWN
            if not (last.type.is_sequence() or last.type is DYNAMIC):
                self.err(
                    "Invalid expanding argument value",
                    "The expanding argument (indicated by ...) must be of a tuple, list, or "
                    "set type.",
                    rng,
                )
                return DYNAMIC_UNKNOWN
            if last.v is UNKNOWN:
                return DYNAMIC_UNKNOWN.with_marks(last.marks)
            args = args[:-1] + [e.with_marks(last.marks) for e in last.v]
        if _has_errors(self.diags, start):
            return DYNAMIC_UNKNOWN
        try:
            return call_function(name, args, ctx.functions)
        except FunctionError as e:
            idx = e.arg_index
            if idx is not None and not expr.expand_final and 0 <= idx < len(expr.args):
                rng = expr.args[idx].range
            elif idx is not None and expr.expand_final and idx >= len(expr.args) - 1:
                rng = expr.args[-1].range
            elif idx is not None and 0 <= idx < len(expr.args):
                rng = expr.args[idx].range
            else:
                rng = expr.range
            return self.err(e.summary, e.detail, rng)

    def call_try(self, expr: ast.FunctionCall, ctx: EvalContext) -> Value:
        if not expr.args:
            return self.err(
                "Error in function call",
                'Call to function "try" failed: at least one argument is required.',
                expr.range,
            )
        failures: list[Diagnostic] = []
        for arg in expr.args:
            if not self._dependencies_known(arg, ctx):
                return DYNAMIC_UNKNOWN
            sub: list[Diagnostic] = []
            v = _Evaluator(sub).eval(arg, ctx)
            if self._static_reference_errors(sub):
                return DYNAMIC_UNKNOWN
            if _has_errors(sub):
                failures.extend(sub)
                continue
            self.diags.extend(sub)
            if not v.is_wholly_known():
                return DYNAMIC_UNKNOWN.with_marks(_deep_marks(v)[1])
            return v
        lines = ["no expression succeeded:"]
        for d in failures:
            where = f" (at {_short_range(d.subject)})" if d.subject is not None else ""
            lines.append(f"- {d.summary}{where}\n  {d.detail}")
        lines.append("")
        lines.append("At least one expression must produce a successful result.")
        return self.err(
            "Error in function call",
            'Call to function "try" failed: ' + "\n".join(lines),
            expr.range,
        )

    def call_can(self, expr: ast.FunctionCall, ctx: EvalContext) -> Value:
        if len(expr.args) != 1:
            if not expr.args:
                return self.err(
                    "Not enough function arguments",
                    'Function "can" expects 1 argument(s). Missing value for "expression".',
                    expr.range,
                )
            return self.err(
                "Too many function arguments",
                'Function "can" expects only 1 argument(s).',
                expr.args[1].range,
            )
        arg = expr.args[0]
        if not self._dependencies_known(arg, ctx):
            return unknown(BOOL)
        sub: list[Diagnostic] = []
        v = _Evaluator(sub).eval(arg, ctx)
        if self._static_reference_errors(sub):
            return DYNAMIC_UNKNOWN
        if _has_errors(sub):
            return FALSE
        if not v.is_wholly_known():
            return unknown(BOOL)
        return TRUE

    def _static_reference_errors(self, sub: list[Diagnostic]) -> bool:
        """Pass on references to things that are not declared: Terraform checks references
        before it evaluates anything, so try() and can() never get to catch them."""
        found = [d for d in sub if d.is_error and d.summary in _STATIC_REFERENCE_ERRORS]
        self.diags.extend(found)
        return bool(found)

    def _dependencies_known(self, expr: ast.Expr, ctx: EvalContext) -> bool:
        # try/can cannot decide while something the expression refers to is still unknown.
        for trav in ast.traversals(expr):
            sub: list[Diagnostic] = []
            v = _Evaluator(sub).traversal(trav, ctx)
            if _has_errors(sub):
                continue
            if not v.is_wholly_known():
                return False
        return True


# What a reference to an undeclared name is reported as (by the scope's on_missing, or for
# var.NAME and local.NAME): mistakes in the configuration itself, not failures of a value.
_STATIC_REFERENCE_ERRORS = frozenset(
    {
        "Invalid reference",
        "Reference to undeclared resource",
        "Reference to undeclared input variable",
        "Reference to undeclared local value",
        "Reference to undeclared module",
    }
)


class _Failed(Value):
    __slots__ = ()


_FAILED: Any = _Failed(DYNAMIC, UNKNOWN)


def _whole_index(n: Any, size: int) -> bool:
    return n == int(n) and 0 <= n < size


def _try_convert(v: Value, t: Type) -> Value:
    try:
        return convert(v, t)
    except ConversionError:
        return v


def _short_range(rng: Range) -> str:
    # HCL's compact form of a range: `file:1,3-4`, or `file:1,3-2,4` across lines.
    if rng.start.line == rng.end.line:
        return f"{rng.filename}:{rng.start.line},{rng.start.column}-{rng.end.column}"
    return f"{rng.filename}:{rng.start.line},{rng.start.column}-{rng.end.line},{rng.end.column}"


def _short_circuit(op: str, lv: Value, rv: Value) -> tuple[Value, str] | None:
    """HCL's rule for `&&`/`||` with an unknown side: (result, side whose diagnostics count)."""
    lk, rk = lv.v is not UNKNOWN, rv.v is not UNKNOWN
    decisive = op == "||"  # the value that decides the result alone
    if not lk and not rk:
        return unknown(BOOL), "left"
    if lk and lv.v is decisive:
        return (TRUE if decisive else FALSE), "left"
    if rk and rv.v is decisive:
        return (TRUE if decisive else FALSE), "right"
    if not lk and rk:
        return unknown(BOOL), "left"
    if not rk and lk:
        return unknown(BOOL), "right"
    return None


def _missing_attribute(name: str, t: ObjectType, rng: Range, root: str | None) -> Diagnostic:
    names = [k for k, _ in t.items]
    if root == "var":
        return error(
            "Reference to undeclared input variable",
            f'An input variable with the name "{name}" has not been declared. This variable can '
            f'be declared with a variable "{name}" {{}} block.',
            rng,
        )
    if root == "local":
        return error(
            "Reference to undeclared local value",
            f'A local value with the name "{name}" has not been declared.{suggestion(name, names)}',
            rng,
        )
    return error(
        "Unsupported attribute",
        f'This object does not have an attribute named "{name}".{suggestion(name, names)}',
        rng,
    )


def _describe_mismatch(tt: Type, ft: Type) -> str:
    if isinstance(tt, ObjectType) and isinstance(ft, ObjectType):
        ta, fa = tt.attrs, ft.attrs
        for k in sorted(ta):
            if k not in fa:
                return f"The 'true' value includes object attribute \"{k}\", which is absent in the 'false' value"
        for k in sorted(fa):
            if k not in ta:
                return f"The 'false' value includes object attribute \"{k}\", which is absent in the 'true' value"
        for k in sorted(ta):
            if ta[k] != fa[k]:
                return (
                    f'Type mismatch for object attribute "{k}": {_describe_mismatch(ta[k], fa[k])}'
                )
    if isinstance(tt, TupleType) and isinstance(ft, TupleType):
        if len(tt.elems) != len(ft.elems):
            return (
                f"The 'true' tuple has length {len(tt.elems)}, but the 'false' tuple has length "
                f"{len(ft.elems)}"
            )
        for i, (a, b) in enumerate(zip(tt.elems, ft.elems, strict=True)):
            if a != b:
                return f"Mismatched tuple element types at index {i}: {_describe_mismatch(a, b)}"
    return f"The 'true' value is {tt.friendly()}, but the 'false' value is {ft.friendly()}"


_DISPATCH: dict[type, Callable[[_Evaluator, Any, EvalContext], Value]] = {
    ast.Literal: _Evaluator.literal,
    ast.Parens: _Evaluator.parens,
    ast.TemplateWrap: _Evaluator.wrap,
    ast.Template: _Evaluator.template,
    ast.ScopeTraversal: _Evaluator.traversal,
    ast.AnonSymbol: _Evaluator.anon,
    ast.GetAttr: _Evaluator.get_attr_expr,
    ast.Index: _Evaluator.index_expr,
    ast.TupleCons: _Evaluator.tuple_cons,
    ast.ObjectCons: _Evaluator.object_cons,
    ast.UnaryOp: _Evaluator.unary,
    ast.BinaryOp: _Evaluator.binary,
    ast.BinaryChain: _Evaluator.chain,
    ast.Conditional: _Evaluator.conditional,
    ast.ForExpr: _Evaluator.for_expr,
    ast.Splat: _Evaluator.splat,
    ast.FunctionCall: _Evaluator.call,
}


# --- templates from text (templatefile, templatestring) ------------------------------------------


def evaluate_template_string(
    text: str,
    variables: dict[str, Value],
    functions: FunctionContext | None = None,
    filename: str = "<template>",
) -> tuple[Value, list[Diagnostic]]:
    """Parse `text` as a template and render it with only `variables` in scope, as
    `templatefile` and `templatestring` do."""
    from mlform.config.parser import parse_template

    expr, diags = parse_template(text, filename)
    if expr is None or any(d.is_error for d in diags):
        return unknown(STRING), list(diags)
    ctx = EvalContext(dict(variables), functions)
    value, more = evaluate(expr, ctx)
    return value, [*diags, *more]


def template_evaluator(functions: FunctionContext) -> Callable[[str, str, dict[str, Value]], Value]:
    """A `FunctionContext.evaluate_template` callable: renders a template or raises
    FunctionError whose message lists the template's own mistakes with their places."""

    def run(text: str, filename: str, variables: dict[str, Value]) -> Value:
        from mlform.lang.functions import FunctionError

        value, diags = evaluate_template_string(text, variables, functions, filename)
        errors = [d for d in diags if d.is_error]
        if errors:
            d = errors[0]
            where = f"{_short_range(d.subject)}: " if d.subject is not None else ""
            raise FunctionError(f"{where}{d.summary}; {d.detail}")
        return value

    return run
