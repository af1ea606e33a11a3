"""Type constraint expressions: the `type = ...` of a variable declaration, read into a Type.

The syntax is Terraform's: the keywords `string`, `number`, `bool`, `any`; the constructors
`list(T)`, `set(T)`, `map(T)`, `tuple([T, ...])`, `object({name = T, ...})`; inside an object,
`optional(T)` and `optional(T, default)` mark an attribute that may be omitted. A default must be
a constant expression that converts to the attribute's type.
"""

from __future__ import annotations

from mlform.diagnostics import Diagnostic, Range, error
from mlform.lang import ast
from mlform.lang.types import (
    BOOL,
    DYNAMIC,
    NUMBER,
    STRING,
    ListType,
    MapType,
    ObjectType,
    SetType,
    TupleType,
    Type,
)
from mlform.lang.values import Value

__all__ = ["type_from_expr"]

_SUMMARY = "Invalid type specification"
_KEYWORDS: dict[str, Type] = {"string": STRING, "number": NUMBER, "bool": BOOL, "any": DYNAMIC}
_COLLECTIONS = {"list": ListType, "set": SetType, "map": MapType}
_HINT = (
    "A type specification is either a primitive type keyword (bool, number, string) or a "
    "complex type constructor call, like list(string)."
)


def type_from_expr(expr: ast.Expr) -> tuple[Type, list[Diagnostic]]:
    """The type an expression denotes. On a mistake the type is `any` and diagnostics say why.

    As in Terraform's variable declarations, a bare `list` or `map` means `list(any)` or
    `map(any)`, and the quoted forms of Terraform 0.11 (`"string"`) are refused with a hint."""
    quoted = _quoted(expr)
    if quoted is not None:
        return DYNAMIC, [_legacy_quoted(quoted, expr.range)]
    if isinstance(expr, ast.ScopeTraversal) and not expr.steps:
        if expr.root == "list":
            return ListType(DYNAMIC), []
        if expr.root == "map":
            return MapType(DYNAMIC), []
    diags: list[Diagnostic] = []
    t = _type(expr, diags, in_object=False)
    return (t if not diags else DYNAMIC), diags


def _quoted(expr: ast.Expr) -> str | None:
    if isinstance(expr, ast.Literal) and isinstance(expr.value.v, str):
        return expr.value.v
    if isinstance(expr, ast.Template) and all(
        isinstance(p, ast.TemplateLiteral) for p in expr.parts
    ):
        return "".join(p.text for p in expr.parts)  # type: ignore[attr-defined]
    return None


def _legacy_quoted(text: str, rng: Range) -> Diagnostic:
    if text == "string":
        detail = (
            "Terraform 0.11 and earlier required type constraints to be given in quotes, but "
            'that form is now deprecated. Remove the quotes around "string".'
        )
        return error("Invalid quoted type constraints", detail, rng)
    if text in ("list", "map"):
        detail = (
            "Terraform 0.11 and earlier required type constraints to be given in quotes, but "
            f'that form is now deprecated. Remove the quotes around "{text}" and write '
            f"{text}(string) instead to explicitly indicate that the {text} elements are strings."
        )
        return error("Invalid quoted type constraints", detail, rng)
    return error(
        "Invalid legacy variable type hint",
        "To provide a full type expression, remove the surrounding quotes and give the type "
        "expression directly.",
        rng,
    )


def _bad(diags: list[Diagnostic], detail: str, rng: Range) -> Type:
    diags.append(error(_SUMMARY, detail, rng))
    return DYNAMIC


def _type(expr: ast.Expr, diags: list[Diagnostic], in_object: bool) -> Type:
    while isinstance(expr, ast.Parens):
        expr = expr.expr
    if isinstance(expr, ast.ScopeTraversal):
        if expr.steps:
            return _bad(diags, _HINT, expr.range)
        name = expr.root
        if name in _KEYWORDS:
            return _KEYWORDS[name]
        if name in _COLLECTIONS:
            return _bad(
                diags,
                f"The {name} type constructor requires one argument specifying the element type.",
                expr.range,
            )
        if name in ("tuple", "object"):
            what = "element types" if name == "tuple" else "attribute types"
            return _bad(
                diags,
                f"The {name} type constructor requires one argument specifying the {what}.",
                expr.range,
            )
        if name == "optional":
            return _bad(
                diags,
                'Keyword "optional" is valid only as a modifier for object type attributes.',
                expr.range,
            )
        return _bad(diags, f'The keyword "{name}" is not a valid type specification.', expr.range)
    if isinstance(expr, ast.FunctionCall):
        return _call(expr, diags)
    if isinstance(expr, ast.Literal | ast.Template | ast.TemplateWrap):
        return _bad(diags, _HINT, expr.range)
    return _bad(diags, _HINT, expr.range)


def _call(call: ast.FunctionCall, diags: list[Diagnostic]) -> Type:
    name = call.name
    if name in _KEYWORDS:
        return _bad(
            diags,
            f'Primitive type keyword "{name}" does not expect arguments.',
            call.range,
        )
    if name == "optional":
        return _bad(
            diags,
            'Keyword "optional" is valid only as a modifier for object type attributes.',
            call.range,
        )
    if name not in _COLLECTIONS and name not in ("tuple", "object"):
        return _bad(diags, f'Keyword "{name}" is not a valid type constructor.', call.name_range)
    if len(call.args) != 1:
        what = {
            "tuple": "a list of element types",
            "object": "an object describing the attribute types",
        }.get(name, "the element type")
        return _bad(
            diags,
            f"The {name} type constructor requires one argument specifying {what}.",
            call.range,
        )
    arg = call.args[0]
    if name in _COLLECTIONS:
        return _COLLECTIONS[name](_type(arg, diags, in_object=False))
    if name == "tuple":
        inner = arg.expr if isinstance(arg, ast.Parens) else arg
        if not isinstance(inner, ast.TupleCons):
            return _bad(
                diags,
                "The tuple type constructor requires a list of element types.",
                arg.range,
            )
        return TupleType(tuple(_type(e, diags, in_object=False) for e in inner.items))
    return _object(arg, diags)


def _object(arg: ast.Expr, diags: list[Diagnostic]) -> Type:
    inner = arg.expr if isinstance(arg, ast.Parens) else arg
    if not isinstance(inner, ast.ObjectCons):
        return _bad(
            diags,
            "The object type constructor requires an object describing the attribute types.",
            arg.range,
        )
    attrs: dict[str, Type] = {}
    optional: list[str] = []
    defaults: dict[str, Value] = {}
    for item in inner.items:
        key = _attr_name(item.key)
        if key is None:
            _bad(diags, "Object constructor map keys must be attribute names.", item.key.range)
            continue
        if key in attrs:
            _bad(diags, f'Duplicate attribute "{key}" in object type.', item.key.range)
            continue
        value = item.value
        while isinstance(value, ast.Parens):
            value = value.expr
        if isinstance(value, ast.FunctionCall) and value.name == "optional":
            if not 1 <= len(value.args) <= 2:
                _bad(
                    diags,
                    "Optional attribute modifier expects at most two arguments: "
                    "the attribute type, and a default value.",
                    value.range,
                )
                continue
            aty = _type(value.args[0], diags, in_object=True)
            attrs[key] = aty
            optional.append(key)
            if len(value.args) == 2:
                default = _default(value.args[1], aty, diags)
                if default is not None:
                    defaults[key] = default
            continue
        attrs[key] = _type(value, diags, in_object=True)
    return ObjectType.of(attrs, optional, defaults)


def _attr_name(key: ast.Expr) -> str | None:
    while isinstance(key, ast.Parens):
        key = key.expr
    if isinstance(key, ast.Literal) and isinstance(key.value.v, str):
        return key.value.v
    if isinstance(key, ast.ScopeTraversal) and not key.steps:
        return key.root
    if isinstance(key, ast.TemplateWrap):
        return _attr_name(key.expr)
    if isinstance(key, ast.Template) and len(key.parts) == 1:
        part = key.parts[0]
        if isinstance(part, ast.TemplateLiteral):
            return part.text
    return None


def _default(expr: ast.Expr, aty: Type, diags: list[Diagnostic]) -> Value | None:
    # Imported here: the evaluator depends on this package's conversion, not the other way round.
    from mlform.lang.convert import ConversionError, convert
    from mlform.lang.eval import EvalContext, evaluate

    value, vdiags = evaluate(expr, EvalContext())
    if any(d.is_error for d in vdiags):
        diags.extend(vdiags)
        return None
    if not value.is_wholly_known():
        diags.append(
            error(
                "Invalid default value for optional attribute",
                "The default value must be a constant, known before any evaluation.",
                expr.range,
            )
        )
        return None
    try:
        return convert(value, aty)
    except ConversionError as exc:
        diags.append(
            error(
                "Invalid default value for optional attribute",
                f"This default value is not compatible with the attribute's type constraint: "
                f"{exc.full_message()}.",
                expr.range,
            )
        )
        return None
