"""Addresses: immutable names for the things mlform manages, with the string form a user types.

    dataset.digits                         a resource (mode managed) in the root module
    data.local_file.x                      a data resource
    training_job.sweep["lr=0.1"]           one instance of a for_each resource
    module.team["a"].dataset.raw[0]        an instance inside a module instance
    provider["local"], provider["aws"].east

`parse_instance(text)` turns the typed form back into an address; `str(addr)` round-trips.
Instance keys are None (a single instance), an int (`count`) or a str (`for_each`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Literal, cast

Key = int | str | None
Mode = Literal["managed", "data"]

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")


def key_str(key: Key) -> str:
    if key is None:
        return ""
    if isinstance(key, int):
        return f"[{key}]"
    return "[" + json.dumps(key, ensure_ascii=False) + "]"


def _key_sort(key: Key) -> tuple[int, int, str]:
    if key is None:
        return (0, 0, "")
    if isinstance(key, int):
        return (1, key, "")
    return (2, 0, key)


@dataclass(frozen=True, slots=True, order=False)
class ModuleStep:
    name: str
    key: Key = None

    def __str__(self) -> str:
        return f"module.{self.name}{key_str(self.key)}"


@dataclass(frozen=True, slots=True)
class ModuleInstance:
    """A path of module calls with their instance keys; the root module is the empty path."""

    steps: tuple[ModuleStep, ...] = ()

    @property
    def is_root(self) -> bool:
        return not self.steps

    def child(self, name: str, key: Key = None) -> ModuleInstance:
        return ModuleInstance((*self.steps, ModuleStep(name, key)))

    def parent(self) -> ModuleInstance:
        return ModuleInstance(self.steps[:-1])

    def module(self) -> ModulePath:
        return ModulePath(tuple(s.name for s in self.steps))

    def __str__(self) -> str:
        return ".".join(str(s) for s in self.steps)

    def sort_key(self) -> tuple[tuple[str, tuple[int, int, str]], ...]:
        return tuple((s.name, _key_sort(s.key)) for s in self.steps)


ROOT = ModuleInstance()


@dataclass(frozen=True, slots=True)
class ModulePath:
    """A module in the configuration tree, without instance keys: `module.a.module.b`."""

    names: tuple[str, ...] = ()

    @property
    def is_root(self) -> bool:
        return not self.names

    def child(self, name: str) -> ModulePath:
        return ModulePath((*self.names, name))

    def __str__(self) -> str:
        return ".".join(f"module.{n}" for n in self.names)


@dataclass(frozen=True, slots=True)
class Resource:
    """A resource block: mode, type and name, relative to its module."""

    mode: Mode
    type: str
    name: str

    def __str__(self) -> str:
        base = f"{self.type}.{self.name}"
        return f"data.{base}" if self.mode == "data" else base

    def instance(self, key: Key = None) -> ResourceInstance:
        return ResourceInstance(self, key)

    def absolute(self, module: ModuleInstance = ROOT) -> AbsResource:
        return AbsResource(module, self)


@dataclass(frozen=True, slots=True)
class ResourceInstance:
    resource: Resource
    key: Key = None

    def __str__(self) -> str:
        return f"{self.resource}{key_str(self.key)}"

    def absolute(self, module: ModuleInstance = ROOT) -> AbsResourceInstance:
        return AbsResourceInstance(module, self.resource, self.key)


@dataclass(frozen=True, slots=True)
class AbsResource:
    """A resource within a particular module instance (all of its instances)."""

    module: ModuleInstance
    resource: Resource

    def __str__(self) -> str:
        return f"{self.module}.{self.resource}" if self.module.steps else str(self.resource)

    def instance(self, key: Key = None) -> AbsResourceInstance:
        return AbsResourceInstance(self.module, self.resource, key)

    def config(self) -> ConfigResource:
        return ConfigResource(self.module.module(), self.resource)


@dataclass(frozen=True, slots=True)
class AbsResourceInstance:
    """One instance of a resource in one module instance: what the state and a plan are about."""

    module: ModuleInstance
    resource: Resource
    key: Key = None
    # The address as text, made on first use: an apply spells each address several times.
    _text: str | None = field(default=None, init=False, repr=False, compare=False, hash=False)

    def __str__(self) -> str:
        text = self._text
        if text is None:
            local = f"{self.resource}{key_str(self.key)}"
            text = f"{self.module}.{local}" if self.module.steps else local
            object.__setattr__(self, "_text", text)
        return text

    def contains(self, other: AbsResourceInstance) -> bool:
        return self == other

    @property
    def abs_resource(self) -> AbsResource:
        return AbsResource(self.module, self.resource)

    def sort_key(self) -> tuple[object, ...]:
        return (
            self.module.sort_key(),
            self.resource.mode,
            self.resource.type,
            self.resource.name,
            _key_sort(self.key),
        )


@dataclass(frozen=True, slots=True)
class ConfigResource:
    """A resource block in the configuration tree (no instance keys anywhere)."""

    module: ModulePath
    resource: Resource

    def __str__(self) -> str:
        return f"{self.module}.{self.resource}" if self.module.names else str(self.resource)


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    """A provider configuration: `provider["aws"].east` within a module path."""

    type: str
    alias: str | None = None
    module: ModulePath = ModulePath()

    def __str__(self) -> str:
        base = f'provider["{self.type}"]' + (f".{self.alias}" if self.alias else "")
        return f"{self.module}.{base}" if self.module.names else base

    @property
    def local_name(self) -> str:
        """How the configuration refers to it: `aws` or `aws.east`."""
        return self.type + (f".{self.alias}" if self.alias else "")


@dataclass(frozen=True, slots=True)
class OutputValue:
    module: ModuleInstance
    name: str

    def __str__(self) -> str:
        return f"{self.module}.output.{self.name}" if self.module.steps else f"output.{self.name}"


class AddressError(ValueError):
    """A typed address that does not parse; the message says what is wrong."""


Target = AbsResourceInstance | AbsResource | ModuleInstance


def parse_instance(text: str) -> AbsResourceInstance:
    """Parse `module.a["k"].type.name[0]` into an instance address (key None when absent)."""
    target = parse_target(text)
    if isinstance(target, AbsResource):
        return target.instance(None)
    if isinstance(target, ModuleInstance):
        raise AddressError(f"{text!r} names a module, not a resource instance")
    return target


def parse_target(text: str) -> Target:
    """Parse a `--target`-style address: a module instance, a resource (all its instances)
    or a single resource instance."""
    parts = _split(text)
    steps: list[ModuleStep] = []
    i = 0
    while i < len(parts) and parts[i][0] == "module":
        if i + 1 >= len(parts):
            raise AddressError(f"{text!r}: `module` must be followed by a module name")
        name, key = parts[i + 1]
        if name is None:
            raise AddressError(f"{text!r}: `module` must be followed by a module name")
        steps.append(ModuleStep(name, None if key is _NOKEY else cast(Key, key)))
        i += 2
    module = ModuleInstance(tuple(steps))
    rest = parts[i:]
    if not rest:
        if not steps:
            raise AddressError("an address cannot be empty")
        return module
    mode: Mode = "managed"
    if rest[0][0] == "data":
        mode = "data"
        rest = rest[1:]
    if len(rest) != 2:
        raise AddressError(
            f"{text!r} is not a resource address: expected TYPE.NAME, optionally with an index, "
            'such as training_job.digits or module.m.dataset.raw["a"]'
        )
    (rtype, tkey), (rname, nkey) = rest
    if tkey is not _NOKEY:
        raise AddressError(f"{text!r}: an index may only follow the resource name")
    resource = Resource(mode, rtype, rname)
    if nkey is _NOKEY:
        return AbsResource(module, resource)
    # _split only yields int or str keys besides _NOKEY.
    return AbsResourceInstance(module, resource, cast(Key, nkey))


_NOKEY: object = object()


def _split(text: str) -> list[tuple[str, object]]:
    """Split `a.b["k"].c[0]` into [(name, key-or-_NOKEY), ...]."""
    out: list[tuple[str, object]] = []
    pos = 0
    n = len(text.strip())
    text = text.strip()
    while pos < n:
        m = _IDENT.match(text, pos)
        if not m:
            raise AddressError(f"{text!r}: expected a name at position {pos + 1}")
        name = m.group(0)
        pos = m.end()
        key: object = _NOKEY
        if pos < n and text[pos] == "[":
            end = text.find("]", pos)
            if text[pos + 1 : pos + 2] == '"':
                # A quoted key may hold `]`; read a JSON string.
                try:
                    decoder = json.JSONDecoder()
                    key, after = decoder.raw_decode(text, pos + 1)
                except json.JSONDecodeError as exc:
                    # The decoder's message ("Unterminated string starting at") expects its
                    # position after it; give the column the user can count.
                    why = exc.msg.lower().removesuffix(" starting at")
                    raise AddressError(
                        f"{text!r}: bad quoted key at column {pos + 2}: {why}"
                    ) from None
                if after >= n or text[after] != "]":
                    raise AddressError(f"{text!r}: expected ] after the key")
                end = after
            else:
                if end < 0:
                    raise AddressError(f"{text!r}: missing ]")
                raw = text[pos + 1 : end].strip()
                if not re.fullmatch(r"-?\d+", raw):
                    raise AddressError(
                        f'{text!r}: an index is a number or a quoted string, as in [0] or ["a"]'
                    )
                key = int(raw)
            pos = end + 1
        out.append((name, key))
        if pos < n:
            if text[pos] != ".":
                raise AddressError(f"{text!r}: unexpected {text[pos]!r} at position {pos + 1}")
            pos += 1
            if pos >= n:
                raise AddressError(f"{text!r}: an address cannot end with a dot")
    return out


def parse_module_instance(text: str) -> ModuleInstance:
    if not text:
        return ROOT
    target = parse_target(text)
    if not isinstance(target, ModuleInstance):
        raise AddressError(f"{text!r} is not a module address")
    return target


def target_contains(target: Target, inst: AbsResourceInstance) -> bool:
    """Whether a `--target`-style address selects this instance. A module step written
    without a key (`module.team`) covers every instance of that module call."""
    if isinstance(target, ModuleInstance):
        return _steps_cover(target.steps, inst.module.steps, prefix=True)
    if not _steps_cover(target.module.steps, inst.module.steps, prefix=False):
        return False
    if isinstance(target, AbsResource):
        return inst.resource == target.resource
    return inst.resource == target.resource and inst.key == target.key


def _steps_cover(want: tuple[ModuleStep, ...], have: tuple[ModuleStep, ...], prefix: bool) -> bool:
    if len(want) > len(have) or (not prefix and len(want) != len(have)):
        return False
    return all(
        w.name == h.name and (w.key is None or w.key == h.key)
        for w, h in zip(want, have, strict=False)
    )
