"""`check` blocks as written: their shape, decoded with the rest of a module. What a check means
when a run evaluates it is in `mlform.engine.checks`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlform.config.model import Check, CheckBlock, ResourceConfig

if TYPE_CHECKING:
    from mlform.config.decode import Decoder
    from mlform.config.syntax import Block

__all__ = ["decode_check"]


# -- the block's shape ------------------------------------------------------------------------------


def decode_check(dec: Decoder, block: Block) -> None:
    """Decode `check "NAME" { data ... assert { ... } }` into the decoder's module."""
    from mlform.config.model import Module as ModuleModel

    name = block.labels[0]
    body = block.body
    where = "in a check block"
    for attr in body.attributes.values():
        if attr.name in ("count", "for_each"):
            dec.err(
                "Unsupported argument",
                f'A check block cannot take "{attr.name}": it is evaluated once per instance of '
                "its module. To check each instance of a resource, write one assertion over all "
                'of them, such as alltrue([for o in test_object.a : o.value != ""]).',
                attr.name_range,
            )
        else:
            dec.unexpected_attribute(attr, [], where)
    data: list[ResourceConfig] = []
    asserts: list[Check] = []
    for b in body.blocks:
        if b.type == "assert":
            found = _decode_assert(dec, b)
            if found is not None:
                asserts.append(found)
        elif b.type == "data":
            if not dec.check_labels(b, ("type", "name")):
                continue
            if data:
                prev = data[0].range
                dec.err(
                    "Multiple data resource blocks",
                    f"This check block already has a data resource defined at "
                    f"{prev.filename}:{prev.start.line}. A check block has at most one data "
                    "source of its own; declare others at the top level of the module.",
                    b.def_range,
                )
                continue
            # The nested block is decoded as a top-level one would be, in a scratch module,
            # so that it is checked the same way; it is kept here, not among the module's.
            scratch = type(dec)(ModuleModel(dir=dec.module.dir, path=dec.module.path))
            scratch.block_data(b)
            dec.diags.extend(scratch.diags)
            for res in scratch.module.resources.values():
                for meta, expr in (("count", res.count), ("for_each", res.for_each)):
                    if expr is not None:
                        dec.err(
                            "Invalid data source in a check block",
                            f'A data source inside a check block cannot take "{meta}": it is read '
                            "once for the check.",
                            expr.range,
                        )
                data.append(res)
        elif b.type == "resource":
            dec.err(
                "Unsupported block type",
                "A check block may hold one data block and assert blocks; a resource belongs at "
                "the top level of the module.",
                b.type_range,
            )
        else:
            dec.unexpected_block(b, ["data", "assert"], where)
    if not asserts:
        dec.err(
            "Zero assert blocks",
            "A check block must have at least one assert block: assert { condition = ... "
            'error_message = "..." }.',
            block.def_range,
        )
    if name in dec.module.checks:
        prev = dec.module.checks[name].range
        dec.err(
            f'Duplicate check "{name}" configuration',
            f'A check block named "{name}" was already declared at {prev.filename}:'
            f"{prev.start.line},{prev.start.column}. Check block names must be unique within a "
            "module.",
            block.def_range,
        )
        return
    dec.module.checks[name] = CheckBlock(name, data, asserts, block.def_range)


def _decode_assert(dec: Decoder, b: Block) -> Check | None:
    if not dec.check_labels(b, ()):
        return None
    dec.only(b.body, ("condition", "error_message"), (), "in an assert block")
    found = []
    for arg in ("condition", "error_message"):
        attr = b.body.attributes.get(arg)
        if attr is None:
            dec.err(
                "Missing required argument",
                f'The argument "{arg}" is required in an assert block.',
                b.def_range,
            )
            return None
        found.append(attr.expr)
    return Check(found[0], found[1], b.def_range)
