"""Schemas derived from a kind's pydantic models, and the checks the engine makes with them.

A provider writes its arguments and attributes once, as pydantic models with `arg()`, `block()`
and `computed()` marks. From those models this module derives what the rest of mlform needs:

- the mlform `Type` of every argument and attribute (`args_type`, `attrs_type`), so that the
  language can convert the user's values and type-check references;
- which arguments are required, force replacement, are sensitive, or are nested blocks (with
  their minimum and maximum number of items);
- `validate_args`: the user's values checked by pydantic, its errors turned into messages a
  user understands ("Did you mean ...?"), with values not known until apply left out;
- `schema_json`: the Terraform-shaped schema that `mlform providers schema --json` prints.

Schemas are computed once per class and cached.
"""

from __future__ import annotations

import enum
import functools
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import annotated_types
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from mlform.diagnostics import did_you_mean
from mlform.lang.types import (
    BOOL,
    DYNAMIC,
    NUMBER,
    STRING,
    ListType,
    MapType,
    ObjectType,
    SetType,
    Type,
)
from mlform.sdk.contract import UNKNOWN, ConfigError
from mlform.sdk.schema_types import (  # re-exported: they used to be defined here
    AttributeSchema,
    BlockSchema,
    BodySchema,
    KindSchema,
    Nesting,
)

if TYPE_CHECKING:
    from mlform.sdk.contract import Kind, Provider

Path = list[str | int]
M = TypeVar("M", bound=BaseModel)


class SchemaError(TypeError):
    """A model uses a Python type that has no mlform equivalent (a bug in the provider)."""


# -- deriving schemas ------------------------------------------------------------------------------


def _extra(info: FieldInfo) -> dict[str, Any]:
    extra = info.json_schema_extra
    return extra if isinstance(extra, dict) else {}


def _strip(annotation: Any) -> tuple[Any, bool]:
    """Remove Annotated and Optional wrappers: (inner annotation, whether None is allowed)."""
    nullable = False
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(members) < len(typing.get_args(annotation)):
                nullable = True
            if len(members) == 1:
                annotation = members[0]
                continue
            annotation = typing.Union[tuple(members)]  # noqa: UP007 - rebuilt at runtime
        return annotation, nullable


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def python_type_to_mlform(annotation: Any) -> Type:
    """The mlform Type for a Python annotation used on a provider model."""
    ann, _ = _strip(annotation)
    if ann is Any or ann is object:
        return DYNAMIC
    if ann is bool:
        return BOOL
    if ann is str or (isinstance(ann, type) and issubclass(ann, str | PurePath)):
        return STRING
    if ann in (int, float, Decimal):
        return NUMBER
    if isinstance(ann, type) and issubclass(ann, enum.Enum):
        return STRING
    if _is_model(ann):
        return body_schema(ann).type()
    origin = typing.get_origin(ann)
    args = typing.get_args(ann)
    if origin is Literal:
        kinds = {python_type_to_mlform(type(a)) for a in args}
        return kinds.pop() if len(kinds) == 1 else DYNAMIC
    if origin in (list, Sequence, typing.Sequence) or (origin is tuple and args[-1:] == (...,)):
        return ListType(python_type_to_mlform(args[0]) if args else DYNAMIC)
    if origin is tuple:
        # A fixed tuple of one type is a list to the user; mixed ones are dynamic.
        elems = {python_type_to_mlform(a) for a in args}
        return ListType(elems.pop()) if len(elems) == 1 else DYNAMIC
    if origin in (set, frozenset):
        return SetType(python_type_to_mlform(args[0]) if args else DYNAMIC)
    if origin in (dict, Mapping, typing.Mapping):
        if args and args[0] is not str:
            raise SchemaError(f"map keys must be str, not {args[0]!r}")
        value = python_type_to_mlform(args[1]) if args else DYNAMIC
        # `dict[str, Any]` is a free-form object (a job's params, its metrics): each value keeps
        # its own type, as Terraform's `any` does. `map(any)` would unify the values to one type
        # (`false` beside "adam" becoming "false") and refuse a list beside a number.
        return DYNAMIC if value is DYNAMIC else MapType(value)
    if origin in (typing.Union, types.UnionType):
        return DYNAMIC
    if ann in (list, tuple):
        return ListType(DYNAMIC)
    if ann is dict:
        return DYNAMIC  # a free-form object, as `dict[str, Any]`
    raise SchemaError(f"no mlform type for {ann!r}")


def _json_default(info: FieldInfo) -> Any:
    if info.default_factory is not None:
        try:
            value = info.default_factory()  # type: ignore[call-arg]
        except TypeError:
            return None
    elif info.default is PydanticUndefined:
        return None
    else:
        value = info.default
    return to_plain(value)


def to_plain(value: Any) -> Any:
    """Plain JSON-able data from a default or a parsed model (models dumped by alias)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, list | tuple | set | frozenset):
        return [to_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    return value


def _block_nesting(info: FieldInfo) -> tuple[Nesting, type[BaseModel], int, int]:
    ann, nullable = _strip(info.annotation)
    min_items = 0
    max_items = 0
    for meta in info.metadata:
        if isinstance(meta, annotated_types.MinLen):
            min_items = meta.min_length
        elif isinstance(meta, annotated_types.MaxLen):
            max_items = meta.max_length
    if _is_model(ann):
        required = info.is_required() and not nullable
        return "single", ann, (1 if required else 0), 1
    origin = typing.get_origin(ann)
    args = typing.get_args(ann)
    if origin in (list, Sequence, typing.Sequence, tuple) and args and _is_model(args[0]):
        return "list", args[0], min_items, max_items
    if origin in (set, frozenset) and args and _is_model(args[0]):
        return "set", args[0], min_items, max_items
    raise SchemaError(
        f"a block must be typed as a model, `Model | None` or `list[Model]`, not {info.annotation!r}"
    )


@functools.cache
def body_schema(model: type[BaseModel], computed: bool = False) -> BodySchema:
    """The schema of a pydantic model; `computed=True` for an attrs model."""
    attributes: dict[str, AttributeSchema] = {}
    blocks: dict[str, BlockSchema] = {}
    for py_name, info in model.model_fields.items():
        name = info.alias or py_name
        extra = _extra(info)
        description = info.description or ""
        if extra.get("block"):
            nesting, inner, lo, hi = _block_nesting(info)
            blocks[name] = BlockSchema(
                name=name,
                py_name=py_name,
                nesting=nesting,
                body=body_schema(inner, computed),
                min_items=lo,
                max_items=hi,
                replace=bool(extra.get("replace")),
                description=description,
            )
            continue
        ann, _ = _strip(info.annotation)
        nested = body_schema(ann, computed) if _is_model(ann) else None
        attributes[name] = AttributeSchema(
            name=name,
            py_name=py_name,
            type=python_type_to_mlform(info.annotation),
            required=info.is_required() and not computed,
            computed=computed,
            replace=bool(extra.get("replace")),
            sensitive=bool(extra.get("sensitive")),
            description=description,
            default=None if info.is_required() else _json_default(info),
            nested=nested,
        )
    doc = model.__dict__.get("__doc__") or ""
    return BodySchema(attributes, blocks, doc.strip())


def kind_schema(kind_cls: type[Kind]) -> KindSchema:
    return KindSchema(
        args=body_schema(kind_cls.args),
        attrs=body_schema(kind_cls.attrs, True),
        description=kind_cls.description,
        is_data=kind_cls.is_data,
    )


def resource_body(kind_cls: type[Kind]) -> BodySchema:
    """Arguments and computed attributes in one body (blocks from the arguments): what a plan
    renderer needs to draw an instance's whole object."""
    a = body_schema(kind_cls.args)
    c = body_schema(kind_cls.attrs, True)
    attributes = dict(a.attributes)
    for name, attr in c.attributes.items():
        attributes.setdefault(name, attr)
    return BodySchema(attributes, dict(a.blocks), a.description)


def args_type(kind_cls: type[Kind]) -> ObjectType:
    """The type of the arguments as the user writes them (blocks as objects / lists)."""
    return body_schema(kind_cls.args).type()


def attrs_type(kind_cls: type[Kind]) -> ObjectType:
    """The type of the computed attributes."""
    return body_schema(kind_cls.attrs, True).type()


def instance_type(kind_cls: type[Kind]) -> ObjectType:
    """The type of `TYPE.NAME` in an expression: arguments and computed attributes together
    (a computed attribute wins over an argument of the same name)."""
    a = args_type(kind_cls)
    c = attrs_type(kind_cls)
    items = {**a.attrs, **c.attrs}
    return ObjectType.of(items, (a.optional | c.optional) & set(items))


# -- validation ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArgProblem:
    """One thing wrong with the user's arguments; `path` locates it (`["health", "port"]`)."""

    path: Path
    message: str
    summary: str = "Invalid argument"


class ArgsError(ValueError):
    """`parse_args` found problems; `problems` lists them."""

    def __init__(self, problems: list[ArgProblem]):
        self.problems = problems
        super().__init__("; ".join(p.message for p in problems))


def format_path(path: Sequence[str | int]) -> str:
    """`params.c`, `packages[0]`, `env["A B"]`: how a user would point at a value."""
    out = ""
    for step in path:
        if isinstance(step, int):
            out += f"[{step}]"
        elif step.isidentifier() or (step and step.replace("-", "_").isidentifier()):
            out += f".{step}" if out else step
        else:
            out += f'["{step}"]'
    return out


def _value_at(data: Any, path: Sequence[Any]) -> tuple[bool, Any, list[str | int]]:
    """Follow a pydantic error location into the data. Returns (found-unknown, the value,
    the path with union-member tags removed)."""
    cur = data
    clean: list[str | int] = []
    for step in path:
        if cur is UNKNOWN:
            return True, cur, clean
        if isinstance(cur, dict) and isinstance(step, str):
            if step in cur:
                cur = cur[step]
                clean.append(step)
                continue
            # A missing or extra key: the step still names a place in the data.
            clean.append(step)
            cur = None
            continue
        if isinstance(cur, list | tuple) and isinstance(step, int) and 0 <= step < len(cur):
            cur = cur[step]
            clean.append(step)
            continue
        # A union member's tag (`str`, `int`) or a dict-key marker: not a place in the data.
    return cur is UNKNOWN, cur, clean


_TYPE_WORDS = {
    "string": "a string",
    "int": "a whole number",
    "float": "a number",
    "bool": "a bool",
    "list": "a list",
    "dict": "a map",
    "model": "an object",
    "tuple": "a list",
    "set": "a set",
    "decimal": "a number",
    "enum": "one of the allowed values",
    "literal": "one of the allowed values",
}


def _expected(err_type: str) -> str | None:
    head = err_type.split("_", 1)[0]
    if err_type.startswith("model") or err_type == "dataclass_type":
        return "an object"
    return _TYPE_WORDS.get(head)


def _schema_at(body: BodySchema, path: Sequence[str | int]) -> BodySchema | None:
    """The body schema of the object that holds the last step of `path`."""
    cur: BodySchema | None = body
    for step in path[:-1]:
        if cur is None:
            return None
        if isinstance(step, int):
            continue
        b = cur.blocks.get(step)
        if b is not None:
            cur = b.body
            continue
        a = cur.attributes.get(step)
        cur = a.nested if a is not None else None
    return cur


def validate_args(kind_cls: type[Kind], data: Mapping[str, Any]) -> list[ArgProblem]:
    """Check the user's arguments against the kind's `args` model. Values that are UNKNOWN
    (not known until apply) are not checked; everything else is, with pydantic. Returns the
    problems, each with a message meant for the user."""
    return validate_model(kind_cls.args, data)


def validate_model(model: type[BaseModel], data: Mapping[str, Any]) -> list[ArgProblem]:
    """`validate_args` for any model (a provider's configuration, a backend's)."""
    try:
        model.model_validate(dict(data))
        return []
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    body = body_schema(model)
    problems: list[ArgProblem] = []
    seen: dict[str, int] = {}
    for err in errors:
        unknown, value, path = _value_at(data, err["loc"])
        if unknown:
            continue
        etype = err["type"]
        where = format_path(path)
        if etype == "missing":
            holder = _schema_at(body, path)
            is_block = holder is not None and path and path[-1] in holder.blocks
            if is_block:
                problem = ArgProblem(
                    path,
                    f'At least 1 "{path[-1]}" block is required.',
                    "Missing required block",
                )
            else:
                problem = ArgProblem(
                    path,
                    f'The argument "{path[-1] if path else where}" is required, but no '
                    "definition was found.",
                    "Missing required argument",
                )
        elif etype == "extra_forbidden":
            holder = _schema_at(body, path)
            name = str(path[-1]) if path else where
            hint = ""
            if holder is not None:
                best = did_you_mean(name, holder.names())
                if best:
                    hint = f' Did you mean "{best}"?'
            problem = ArgProblem(
                path,
                f'An argument named "{name}" is not expected here.{hint}',
                "Unsupported argument",
            )
        elif etype in ("too_short", "too_long"):
            ctx = err.get("ctx") or {}
            holder = _schema_at(body, path)
            blk = holder.blocks.get(str(path[-1])) if holder is not None and path else None
            noun = f'"{path[-1]}" blocks' if blk is not None else "items"
            if etype == "too_short":
                msg = f"At least {ctx.get('min_length')} {noun} are required for {where}."
            else:
                msg = f"No more than {ctx.get('max_length')} {noun} are allowed for {where}."
            problem = ArgProblem(path, msg, "Wrong number of items")
        else:
            expected = _expected(etype)
            if expected and etype.endswith(("_type", "_parsing", "_from_float")):
                detail = f"{expected} is required"
                if etype == "int_from_float":
                    detail = "a whole number is required"
                msg = f'Inappropriate value for argument "{where}": {detail}.'
                problem = ArgProblem(path, msg, "Incorrect argument value type")
            else:
                msg = f'Invalid value for argument "{where}": {_reason(err)}.'
                problem = ArgProblem(path, msg, "Invalid argument value")
        # A union produces one error per member: keep the first for each place.
        key = f"{where}\x00{problem.summary}"
        if key in seen:
            continue
        seen[key] = len(problems)
        problems.append(problem)
    return problems


def _reason(err: Any) -> str:
    """pydantic's message without the "Value error, " it puts before a validator's own words
    (which already say what is wrong, `not a duration: "2x"`)."""
    msg = str(err["msg"])
    if err["type"] in ("value_error", "assertion_error"):
        msg = msg.partition(", ")[2] or msg
    return msg.rstrip(".")


def config_error(problems: Sequence[ArgProblem]) -> ConfigError:
    """Problems with a model's arguments as the `ConfigError` a provider raises: the first
    problem's summary, every problem's message as the detail, and the top-level argument at
    fault, so that the engine points at its line."""
    if not problems:
        problems = [ArgProblem([], "a value is not known yet")]
    first = problems[0]
    attribute = str(first.path[0]) if first.path else None
    return ConfigError(first.summary, "\n".join(p.message for p in problems), attribute=attribute)


def parse_config(model: type[M], data: Mapping[str, Any]) -> M:
    """`model` filled from `data`, for a provider: a `ConfigError` (see `config_error`) when the
    model refuses it. The one translation of pydantic's errors for providers' kinds, so that
    every provider words them as the engine's own checks do."""
    try:
        return model.model_validate(dict(data))
    except ValidationError:
        raise config_error(validate_model(model, data)) from None


def parse_args(kind_cls: type[Kind], data: Mapping[str, Any]) -> BaseModel:
    """The kind's `args` model filled from wholly known data; ArgsError listing every problem
    otherwise."""
    return parse_model(kind_cls.args, data)


def parse_model(model: type[BaseModel], data: Mapping[str, Any]) -> BaseModel:
    try:
        return model.model_validate(dict(data))
    except ValidationError:
        problems = validate_model(model, data)
        if not problems:
            problems = [ArgProblem([], "a value is not known yet")]
        raise ArgsError(problems) from None


# -- sensitivity ------------------------------------------------------------------------------------


def sensitive_paths(kind_cls: type[Kind], data: Mapping[str, Any]) -> list[Path]:
    """The paths inside `data` (an instance's arguments, attributes or both merged) that the
    kind marks sensitive, in the order they appear."""
    if not _marks_sensitive(kind_cls):  # type: ignore[arg-type]  # classes hash by identity
        return []  # most kinds mark nothing: no need to walk the data
    out: list[Path] = []
    _sensitive_in(body_schema(kind_cls.args), data, [], out)
    _sensitive_in(body_schema(kind_cls.attrs, True), data, [], out)
    unique: list[Path] = []
    for p in out:
        if p not in unique:
            unique.append(p)
    return unique


@functools.cache
def _marks_sensitive(kind_cls: type[Kind]) -> bool:
    return _body_marks_sensitive(body_schema(kind_cls.args)) or _body_marks_sensitive(
        body_schema(kind_cls.attrs, True)
    )


def _body_marks_sensitive(body: BodySchema) -> bool:
    for attr in body.attributes.values():
        if attr.sensitive or (attr.nested is not None and _body_marks_sensitive(attr.nested)):
            return True
    return any(_body_marks_sensitive(blk.body) for blk in body.blocks.values())


def _sensitive_in(body: BodySchema, data: Any, prefix: Path, out: list[Path]) -> None:
    if not isinstance(data, Mapping):
        return
    for name, attr in body.attributes.items():
        if name not in data:
            continue
        if attr.sensitive:
            out.append([*prefix, name])
        elif attr.nested is not None:
            _sensitive_in(attr.nested, data[name], [*prefix, name], out)
    for name, blk in body.blocks.items():
        value = data.get(name)
        if value is None or value is UNKNOWN:
            continue
        if blk.nesting == "single":
            _sensitive_in(blk.body, value, [*prefix, name], out)
        elif isinstance(value, list | tuple):
            for i, item in enumerate(value):
                _sensitive_in(blk.body, item, [*prefix, name, i], out)


# -- Terraform-shaped JSON ------------------------------------------------------------------------


def _attr_json(attr: AttributeSchema) -> dict[str, Any]:
    out: dict[str, Any] = {"type": attr.type.to_json()}
    if attr.description:
        out["description"] = attr.description
        out["description_kind"] = "plain"
    if attr.required:
        out["required"] = True
    elif not attr.computed:
        out["optional"] = True
    if attr.computed:
        out["computed"] = True
    if attr.sensitive:
        out["sensitive"] = True
    if attr.replace:
        out["forces_replacement"] = True
    return out


def _body_json(body: BodySchema, computed: BodySchema | None = None) -> dict[str, Any]:
    attributes: dict[str, Any] = {n: _attr_json(a) for n, a in body.attributes.items()}
    if computed is not None:
        for n, a in computed.attributes.items():
            if n in attributes:
                attributes[n]["computed"] = True
            else:
                attributes[n] = _attr_json(a)
    out: dict[str, Any] = {}
    if attributes:
        out["attributes"] = attributes
    if body.blocks:
        out["block_types"] = {
            n: {
                "nesting_mode": b.nesting,
                "block": _body_json(b.body),
                **({"min_items": b.min_items} if b.min_items else {}),
                **({"max_items": b.max_items} if b.max_items else {}),
            }
            for n, b in body.blocks.items()
        }
    if body.description:
        out["description"] = body.description
    out["description_kind"] = "plain"
    return out


def kind_schema_json(kind_cls: type[Kind]) -> dict[str, Any]:
    block = _body_json(body_schema(kind_cls.args), body_schema(kind_cls.attrs, True))
    if kind_cls.description:
        block["description"] = kind_cls.description
    return {"version": 0, "block": block}


def schema_json(provider_cls: type[Provider]) -> dict[str, Any]:
    """One provider's entry in `mlform providers schema --json`, shaped like Terraform's
    `provider_schemas[...]`: the provider's configuration block, then resource and data
    source schemas, each a block with `attributes` and nested `block_types`."""
    resources: dict[str, Any] = {}
    data_sources: dict[str, Any] = {}
    for name in sorted(provider_cls.kinds):
        k = provider_cls.kinds[name]
        (data_sources if k.is_data else resources)[name] = kind_schema_json(k)
    return {
        "provider": {"version": 0, "block": _body_json(body_schema(provider_cls.config))},
        "resource_schemas": resources,
        "data_source_schemas": data_sources,
    }


def schemas_json(providers: Mapping[str, type[Provider]]) -> dict[str, Any]:
    """The whole document: `{"format_version": "1.0", "provider_schemas": {name: ...}}`."""
    return {
        "format_version": "1.0",
        "provider_schemas": {n: schema_json(p) for n, p in sorted(providers.items())},
    }
