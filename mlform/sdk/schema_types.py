"""The schema of a kind's arguments and attributes, as plain data that needs no pydantic.

`mlform.sdk.schema` derives these from a provider's pydantic models; everything that only reads
a schema (the language's body evaluation, `mlform validate`) needs nothing more than these
classes. They live apart from the derivation so that importing them does not import pydantic,
and they round-trip through JSON (`body_to_json` / `body_from_json`, `kind_to_json` /
`kind_from_json`) so that validate can keep a provider's schemas on disk instead of importing
the provider to learn them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from mlform.lang.types import ListType, ObjectType, SetType, Type, from_json

Nesting = Literal["single", "list", "set"]


@dataclass(frozen=True)
class AttributeSchema:
    """One attribute (an argument the user writes, or an attribute the provider computes)."""

    name: str  # as written in HCL (the field's alias when it has one)
    py_name: str  # the pydantic field name
    type: Type
    required: bool = False
    computed: bool = False
    replace: bool = False
    sensitive: bool = False
    description: str = ""
    default: Any = None  # JSON-able default for an optional argument (None when none)
    # For an object-typed attribute written as a nested model: its own schema, so that
    # sensitive and replace marks inside it are found.
    nested: BodySchema | None = None


@dataclass(frozen=True)
class BlockSchema:
    """A nested block (`health_check { ... }`), possibly repeated."""

    name: str
    py_name: str
    nesting: Nesting
    body: BodySchema
    min_items: int = 0
    max_items: int = 0  # 0: no limit
    replace: bool = False
    description: str = ""


@dataclass(frozen=True)
class BodySchema:
    attributes: dict[str, AttributeSchema] = field(default_factory=dict)
    blocks: dict[str, BlockSchema] = field(default_factory=dict)
    description: str = ""

    def names(self) -> list[str]:
        return [*self.attributes, *self.blocks]

    def get(self, name: str) -> AttributeSchema | BlockSchema | None:
        return self.attributes.get(name) or self.blocks.get(name)

    def type(self) -> ObjectType:
        """The object type of a value of this body: blocks become objects or lists of them."""
        attrs: dict[str, Type] = {n: a.type for n, a in self.attributes.items()}
        optional = {n for n, a in self.attributes.items() if not a.required}
        for n, b in self.blocks.items():
            inner = b.body.type()
            if b.nesting == "single":
                attrs[n] = inner
                if b.min_items == 0:
                    optional.add(n)
            elif b.nesting == "set":
                attrs[n] = SetType(inner)
                optional.add(n)
            else:
                attrs[n] = ListType(inner)
                optional.add(n)
        return ObjectType.of(attrs, optional)


@dataclass(frozen=True)
class KindSchema:
    args: BodySchema
    attrs: BodySchema
    description: str = ""
    is_data: bool = False


# -- JSON round trip -------------------------------------------------------------------------------
# Every field is written, so that reading gives back an equal schema.


def _attr_to_json(a: AttributeSchema) -> dict[str, Any]:
    return {
        "name": a.name,
        "py_name": a.py_name,
        "type": a.type.to_json(),
        "required": a.required,
        "computed": a.computed,
        "replace": a.replace,
        "sensitive": a.sensitive,
        "description": a.description,
        "default": a.default,
        "nested": body_to_json(a.nested) if a.nested is not None else None,
    }


def _attr_from_json(d: dict[str, Any]) -> AttributeSchema:
    nested = d["nested"]
    return AttributeSchema(
        name=d["name"],
        py_name=d["py_name"],
        type=from_json(d["type"]),
        required=d["required"],
        computed=d["computed"],
        replace=d["replace"],
        sensitive=d["sensitive"],
        description=d["description"],
        default=d["default"],
        nested=body_from_json(nested) if nested is not None else None,
    )


def _block_to_json(b: BlockSchema) -> dict[str, Any]:
    return {
        "name": b.name,
        "py_name": b.py_name,
        "nesting": b.nesting,
        "body": body_to_json(b.body),
        "min_items": b.min_items,
        "max_items": b.max_items,
        "replace": b.replace,
        "description": b.description,
    }


def _block_from_json(d: dict[str, Any]) -> BlockSchema:
    return BlockSchema(
        name=d["name"],
        py_name=d["py_name"],
        nesting=d["nesting"],
        body=body_from_json(d["body"]),
        min_items=d["min_items"],
        max_items=d["max_items"],
        replace=d["replace"],
        description=d["description"],
    )


def body_to_json(body: BodySchema) -> dict[str, Any]:
    return {
        "attributes": [_attr_to_json(a) for a in body.attributes.values()],
        "blocks": [_block_to_json(b) for b in body.blocks.values()],
        "description": body.description,
    }


def body_from_json(d: dict[str, Any]) -> BodySchema:
    # Keyed by the HCL name, in the order written (the order the model declared them).
    attributes = {a.name: a for a in map(_attr_from_json, d["attributes"])}
    blocks = {b.name: b for b in map(_block_from_json, d["blocks"])}
    return BodySchema(attributes, blocks, d["description"])


def kind_to_json(kind: KindSchema) -> dict[str, Any]:
    return {
        "args": body_to_json(kind.args),
        "attrs": body_to_json(kind.attrs),
        "description": kind.description,
        "is_data": kind.is_data,
    }


def kind_from_json(d: dict[str, Any]) -> KindSchema:
    return KindSchema(
        args=body_from_json(d["args"]),
        attrs=body_from_json(d["attrs"]),
        description=d["description"],
        is_data=d["is_data"],
    )
