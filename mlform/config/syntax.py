"""The generic structure of an HCL file, before any meaning is given to it.

A file is a `Body`: attributes (`name = expr`) and blocks (`type "label" ... { body }`). The
parser (`mlform.config.parser`) produces this for both the native syntax (`.mlf.hcl`, `.tf`)
and the JSON syntax (`.mlf.json`); `mlform.config.loader` gives it meaning (resources,
variables, ...). Every element keeps its source ranges.

JSON bodies cannot tell a nested block from an attribute holding an object without a schema;
the JSON parser marks such bodies `from_json = True` and the decoder, which knows the schema,
treats an attribute whose value is an object constructor as a block where a block is expected
(see `Body.blocks_of_type`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlform.diagnostics import Range
    from mlform.lang.ast import Expr


@dataclass(slots=True, eq=False)
class Attribute:
    name: str
    expr: Expr
    range: Range  # the whole `name = expr`
    name_range: Range


@dataclass(slots=True, eq=False)
class Block:
    type: str
    labels: list[str]
    body: Body
    range: Range  # from the type keyword to the closing brace
    type_range: Range
    label_ranges: list[Range]

    @property
    def def_range(self) -> Range:
        """The block's header (type and labels), where diagnostics about the block point."""
        from mlform.diagnostics import Range as _Range

        end = self.label_ranges[-1].end if self.label_ranges else self.type_range.end
        return _Range(self.type_range.filename, self.type_range.start, end)


@dataclass(slots=True, eq=False)
class Body:
    # Attributes in source order; the parser reports a duplicate name and keeps the first.
    attributes: dict[str, Attribute] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)
    range: Range | None = None
    from_json: bool = False

    def blocks_of_type(self, type_: str) -> list[Block]:
        return [b for b in self.blocks if b.type == type_]


@dataclass(slots=True, eq=False)
class File:
    filename: str
    body: Body
    # For `fmt` and the parse cache: the text the file had when parsed.
    source: str = ""
