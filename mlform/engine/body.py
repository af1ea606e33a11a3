"""Evaluating a block's body against a provider's schema: attributes converted to their types,
nested blocks (and `dynamic` blocks) turned into objects or lists of objects.

Problems are reported with the range of the attribute or block at fault: an argument the kind
does not take ("did you mean"), a missing required one, a value of the wrong type.
"""

from __future__ import annotations

from typing import Any

from mlform.config.syntax import Block, Body
from mlform.diagnostics import Diagnostic, Range, error, suggestion
from mlform.lang import ast
from mlform.lang import values as V
from mlform.lang.convert import ConversionError, convert
from mlform.lang.eval import EvalContext, evaluate
from mlform.lang.values import Value

# Nested blocks named after a provider carry that provider's own settings; other providers
# ignore them (DESIGN: `aws { instance_type = ... }`).
PROVIDER_BLOCK_NAMES = {"local", "aws", "gcp", "azure", "kubernetes", "test"}


def eval_body(
    body: Body, schema: Any, ctx: EvalContext, where: Range | None, provider: str | None = None
) -> tuple[Value, list[Diagnostic]]:
    """The object value of a body. `schema` is an `mlform.sdk.schema.BodySchema`, or None when
    the kind's schema is not available (validate without the provider installed)."""
    diags: list[Diagnostic] = []
    out: dict[str, Value] = {}
    attrs = body.attributes
    blocks = list(body.blocks)
    if schema is not None and body.from_json:
        # In JSON a nested block is written as an object-valued property.
        for name in list(attrs):
            if name in schema.blocks and isinstance(
                attrs[name].expr, ast.ObjectCons | ast.TupleCons
            ):
                blocks.extend(_json_blocks(attrs[name]))
        attrs = {
            k: a
            for k, a in attrs.items()
            if not (k in schema.blocks and isinstance(a.expr, ast.ObjectCons | ast.TupleCons))
        }
    for name, attr in attrs.items():
        spec = schema.attributes.get(name) if schema is not None else None
        if schema is not None and spec is None:
            if name in schema.blocks:
                diags.append(
                    error(
                        "Unsupported argument",
                        f'An argument named "{name}" is not expected here. Did you mean to define a block of type "{name}"?',
                        attr.name_range,
                    )
                )
            else:
                diags.append(
                    error(
                        "Unsupported argument",
                        f'An argument named "{name}" is not expected here.{suggestion(name, schema.names())}',
                        attr.name_range,
                    )
                )
            continue
        if spec is not None and spec.computed and not spec.required:
            pass
        value, vdiags = evaluate(attr.expr, ctx)
        diags.extend(vdiags)
        if any(d.is_error for d in vdiags):
            continue
        if spec is not None:
            try:
                value = convert(value, spec.type)
            except ConversionError as exc:
                diags.append(
                    error(
                        "Incorrect attribute value type",
                        f'Inappropriate value for attribute "{name}": {exc}.',
                        attr.expr.range,
                    )
                )
                continue
            if spec.sensitive:
                value = value.mark("sensitive")
        out[name] = value
    if schema is not None:
        for name, spec in schema.attributes.items():
            if spec.required and name not in attrs:
                diags.append(
                    error(
                        "Missing required argument",
                        f'The argument "{name}" is required, but no definition was found.'
                        + (f" {spec.description}" if spec.description else ""),
                        where,
                    )
                )
    grouped: dict[str, list[Value]] = {}
    for block in blocks:
        if block.type == "dynamic":
            for name, value in _expand_dynamic(block, schema, ctx, diags, provider):
                grouped.setdefault(name, []).append(value)
            continue
        bspec = schema.blocks.get(block.type) if schema is not None else None
        if schema is not None and bspec is None:
            if block.type in PROVIDER_BLOCK_NAMES and block.type != provider:
                continue
            if block.type in schema.attributes:
                diags.append(
                    error(
                        "Unsupported block type",
                        f'Blocks of type "{block.type}" are not expected here. Did you mean to define argument "{block.type}"? '
                        "If so, use the equals sign to assign it a value.",
                        block.type_range,
                    )
                )
            else:
                diags.append(
                    error(
                        "Unsupported block type",
                        f'Blocks of type "{block.type}" are not expected here.{suggestion(block.type, schema.names())}',
                        block.type_range,
                    )
                )
            continue
        value, bdiags = eval_body(
            block.body, bspec.body if bspec else None, ctx, block.def_range, provider
        )
        diags.extend(bdiags)
        grouped.setdefault(block.type, []).append(value)
    for name, items in grouped.items():
        bspec = schema.blocks.get(name) if schema is not None else None
        if bspec is not None and bspec.nesting == "single":
            if len(items) > 1:
                dup = [b for b in blocks if b.type == name][1:2]
                diags.append(
                    error(
                        "Too many blocks",
                        f'No more than one "{name}" block is allowed.',
                        dup[0].type_range if dup else where,
                    )
                )
            out[name] = items[0]
        else:
            if bspec is not None and bspec.max_items and len(items) > bspec.max_items:
                diags.append(
                    error(
                        "Too many blocks",
                        f'No more than {bspec.max_items} "{name}" blocks are allowed.',
                        where,
                    )
                )
            out[name] = V.tuple_of(items)
    if schema is not None:
        for name, bspec in schema.blocks.items():
            count = len(grouped.get(name, []))
            if bspec.min_items and count < bspec.min_items:
                diags.append(
                    error(
                        "Missing required block" if count == 0 else "Insufficient blocks",
                        f'At least {bspec.min_items} "{name}" block(s) are required.',
                        where,
                    )
                )
    return V.object_of(out), diags


def _json_blocks(attr: Any) -> list[Block]:
    """Blocks written in JSON as an object (or a list of objects) property."""
    from mlform.config.syntax import Attribute

    items = attr.expr.items if isinstance(attr.expr, ast.TupleCons) else [attr.expr]
    out = []
    for item in items:
        if not isinstance(item, ast.ObjectCons):
            continue
        inner = {}
        for it in item.items:
            key = it.key.value.v if isinstance(it.key, ast.Literal) else None
            if isinstance(key, str):
                inner[key] = Attribute(key, it.value, it.value.range, it.key.range)
        out.append(
            Block(attr.name, [], Body(inner, [], item.range, True), item.range, attr.name_range, [])
        )
    return out


def _expand_dynamic(
    block: Block, schema: Any, ctx: EvalContext, diags: list[Diagnostic], provider: str | None
) -> list[tuple[str, Value]]:
    if len(block.labels) != 1:
        diags.append(
            error(
                "Invalid dynamic block",
                'A dynamic block has one label: the type of the blocks it makes, as in dynamic "port" { ... }.',
                block.def_range,
            )
        )
        return []
    name = block.labels[0]
    bspec = schema.blocks.get(name) if schema is not None else None
    if schema is not None and bspec is None:
        diags.append(
            error(
                "Unsupported block type",
                f'Blocks of type "{name}" are not expected here.{suggestion(name, list(schema.blocks))}',
                block.label_ranges[0],
            )
        )
        return []
    battrs = block.body.attributes
    for a in battrs.values():
        if a.name not in ("for_each", "iterator", "labels"):
            diags.append(
                error(
                    "Unsupported argument",
                    f'A dynamic block takes for_each, iterator and labels; "{a.name}" is not expected.',
                    a.name_range,
                )
            )
    if "for_each" not in battrs:
        diags.append(
            error(
                "Missing required argument",
                'The argument "for_each" is required in a dynamic block.',
                block.def_range,
            )
        )
        return []
    iterator = name
    if "iterator" in battrs:
        it_expr = battrs["iterator"].expr
        if isinstance(it_expr, ast.ScopeTraversal) and not it_expr.steps:
            iterator = it_expr.root
        else:
            diags.append(
                error(
                    "Invalid dynamic iterator name",
                    "The iterator is a bare name, such as iterator = port.",
                    it_expr.range,
                )
            )
    contents = block.body.blocks_of_type("content")
    if len(contents) != 1:
        diags.append(
            error(
                "Missing content block" if not contents else "Too many content blocks",
                "A dynamic block has exactly one content block.",
                block.def_range,
            )
        )
        return []
    coll, cdiags = evaluate(battrs["for_each"].expr, ctx)
    diags.extend(cdiags)
    if any(d.is_error for d in cdiags):
        return []
    coll_u = coll.unmark()
    if not coll_u.is_known:
        # Unknown number of blocks: the whole attribute is unknown.
        return [(name, V.DYNAMIC_UNKNOWN)]
    if coll_u.is_null:
        diags.append(
            error(
                "Invalid dynamic for_each value",
                "Cannot use a null value in for_each.",
                battrs["for_each"].expr.range,
            )
        )
        return []
    pairs: list[tuple[Value, Value]]
    if isinstance(coll_u.v, tuple):
        pairs = [
            (V.number(i) if not coll_u.type.is_set() else e, e) for i, e in enumerate(coll_u.v)
        ]
    elif isinstance(coll_u.v, dict):
        pairs = [(V.string(k), e) for k, e in sorted(coll_u.v.items())]
    else:
        diags.append(
            error(
                "Invalid dynamic for_each value",
                f"Cannot use a {coll_u.type.friendly()} value in for_each. An iterable collection is required.",
                battrs["for_each"].expr.range,
            )
        )
        return []
    out = []
    for key, val in pairs:
        it_obj = V.object_of(
            {"key": key.with_marks(coll.marks), "value": val.with_marks(coll.marks)}
        )
        inner = ctx.child({iterator: it_obj})
        value, bdiags = eval_body(
            contents[0].body, bspec.body if bspec else None, inner, contents[0].def_range, provider
        )
        diags.extend(bdiags)
        out.append((name, value))
    return out
