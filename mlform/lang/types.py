"""The type system of mlform's expression language, the same as Terraform's (cty's).

Primitive types: string, number, bool. Collection types: list(T), set(T), map(T). Structural
types: tuple([T...]), object({name = T}). `DYNAMIC` is `any`: in a type constraint it accepts
every type; as the type of a value it means "not known yet" (a null or unknown of no known type).
Object types used as constraints may mark attributes optional, with a default value.

Types are immutable and hashable. `friendly()` is how an error message names a type,
`to_json()` is the notation of `terraform output -json`, `hcl()` is how `type()` and the
console print it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlform.lang.values import Value


class Type:
    __slots__ = ()

    def is_primitive(self) -> bool:
        return isinstance(self, PrimitiveType)

    def is_collection(self) -> bool:
        return isinstance(self, ListType | SetType | MapType)

    def is_list(self) -> bool:
        return isinstance(self, ListType)

    def is_set(self) -> bool:
        return isinstance(self, SetType)

    def is_map(self) -> bool:
        return isinstance(self, MapType)

    def is_tuple(self) -> bool:
        return isinstance(self, TupleType)

    def is_object(self) -> bool:
        return isinstance(self, ObjectType)

    def is_dynamic(self) -> bool:
        return self is DYNAMIC

    def is_sequence(self) -> bool:
        """list, set or tuple: things `for` and splat iterate as sequences."""
        return isinstance(self, ListType | SetType | TupleType)

    def is_mapping(self) -> bool:
        return isinstance(self, MapType | ObjectType)

    def has_dynamic(self) -> bool:
        """Whether `any` appears anywhere inside this type."""
        return False

    def friendly(self) -> str:
        raise NotImplementedError

    def hcl(self) -> str:
        raise NotImplementedError

    def to_json(self) -> Any:
        raise NotImplementedError

    def __str__(self) -> str:
        return self.hcl()

    def __repr__(self) -> str:
        return f"Type({self.hcl()})"


@dataclass(frozen=True, slots=True, repr=False)
class PrimitiveType(Type):
    name: str

    def friendly(self) -> str:
        return self.name

    def hcl(self) -> str:
        return self.name

    def to_json(self) -> Any:
        return self.name


class _DynamicType(Type):
    __slots__ = ()

    def friendly(self) -> str:
        return "dynamic"

    def hcl(self) -> str:
        return "dynamic"

    def to_json(self) -> Any:
        return "dynamic"

    def has_dynamic(self) -> bool:
        return True

    def __reduce__(self) -> str:
        return "DYNAMIC"


STRING = PrimitiveType("string")
NUMBER = PrimitiveType("number")
BOOL = PrimitiveType("bool")
DYNAMIC: Type = _DynamicType()


@dataclass(frozen=True, slots=True, repr=False)
class ListType(Type):
    elem: Type

    def friendly(self) -> str:
        return f"list of {self.elem.friendly()}"

    def hcl(self) -> str:
        return f"list({self.elem.hcl()})"

    def to_json(self) -> Any:
        return ["list", self.elem.to_json()]

    def has_dynamic(self) -> bool:
        return self.elem.has_dynamic()


@dataclass(frozen=True, slots=True, repr=False)
class SetType(Type):
    elem: Type

    def friendly(self) -> str:
        return f"set of {self.elem.friendly()}"

    def hcl(self) -> str:
        return f"set({self.elem.hcl()})"

    def to_json(self) -> Any:
        return ["set", self.elem.to_json()]

    def has_dynamic(self) -> bool:
        return self.elem.has_dynamic()


@dataclass(frozen=True, slots=True, repr=False)
class MapType(Type):
    elem: Type

    def friendly(self) -> str:
        return f"map of {self.elem.friendly()}"

    def hcl(self) -> str:
        return f"map({self.elem.hcl()})"

    def to_json(self) -> Any:
        return ["map", self.elem.to_json()]

    def has_dynamic(self) -> bool:
        return self.elem.has_dynamic()


@dataclass(frozen=True, slots=True, repr=False)
class TupleType(Type):
    elems: tuple[Type, ...]

    def friendly(self) -> str:
        return "tuple"

    def hcl(self) -> str:
        return "tuple([" + ", ".join(t.hcl() for t in self.elems) + "])"

    def to_json(self) -> Any:
        return ["tuple", [t.to_json() for t in self.elems]]

    def has_dynamic(self) -> bool:
        return any(t.has_dynamic() for t in self.elems)


@dataclass(frozen=True, slots=True, repr=False)
class ObjectType(Type):
    """An object type. `items` is sorted by name so that equal types compare and hash equal.

    `optional` names the attributes a type constraint may omit; `defaults` gives, for some of
    them, the value that `optional(T, default)` fills in. Both matter only for constraints.
    """

    items: tuple[tuple[str, Type], ...]
    optional: frozenset[str] = frozenset()
    defaults: tuple[tuple[str, Value], ...] = ()

    @staticmethod
    def of(
        attrs: Mapping[str, Type],
        optional: Iterable[str] = (),
        defaults: Mapping[str, Value] | None = None,
    ) -> ObjectType:
        return ObjectType(
            tuple(sorted(attrs.items())),
            frozenset(optional),
            tuple(sorted((defaults or {}).items())),
        )

    @property
    def attrs(self) -> dict[str, Type]:
        return dict(self.items)

    def attr(self, name: str) -> Type | None:
        for k, t in self.items:
            if k == name:
                return t
        return None

    def default_for(self, name: str) -> Value | None:
        for k, v in self.defaults:
            if k == name:
                return v
        return None

    def friendly(self) -> str:
        return "object"

    def hcl(self) -> str:
        parts = []
        for k, t in self.items:
            inner = t.hcl()
            if k in self.optional:
                inner = f"optional({inner})"
            parts.append(f"{k}={inner}")
        return "object({" + ",".join(parts) + "})"

    def to_json(self) -> Any:
        out: list[Any] = ["object", {k: t.to_json() for k, t in self.items}]
        if self.optional:
            out.append(sorted(self.optional))
        return out

    def has_dynamic(self) -> bool:
        return any(t.has_dynamic() for _, t in self.items)


EMPTY_OBJECT = ObjectType(())
EMPTY_TUPLE = TupleType(())


def from_json(data: Any) -> Type:
    """Parse the JSON type notation (`"string"`, `["list","number"]`, ...) back into a Type."""
    if isinstance(data, str):
        return {"string": STRING, "number": NUMBER, "bool": BOOL, "dynamic": DYNAMIC}[data]
    kind = data[0]
    if kind == "list":
        return ListType(from_json(data[1]))
    if kind == "set":
        return SetType(from_json(data[1]))
    if kind == "map":
        return MapType(from_json(data[1]))
    if kind == "tuple":
        return TupleType(tuple(from_json(t) for t in data[1]))
    if kind == "object":
        optional = data[2] if len(data) > 2 else ()
        return ObjectType.of({k: from_json(t) for k, t in data[1].items()}, optional)
    raise ValueError(f"unknown type notation {data!r}")
