"""Finding and loading provider and backend plugins.

A provider is an installed distribution that declares an entry point in the group
`mlform.providers` (`local = "mlform_local:LocalProvider"`); backends use `mlform.backends`.
The built-in test provider is found the same way, through mlform's own entry points.

Listing what is installed reads distribution metadata only: no provider module is imported
until `load_provider(name)` asks for that one provider, so that `mlform --help` and commands
that need no provider start fast and a cloud SDK is imported only when it is used.

A loaded plugin's shape is checked at once (a `Provider` subclass with a `name`, a `config`
model, and `kinds` whose classes have pydantic `args` and `attrs` models and implement their
operations); a wrong one is refused with `PluginError`, naming the distribution and what is
wrong. `MLFORM_DISABLE_PLUGIN_AUTOLOAD=1` turns discovery off: then only classes passed to
`register_provider` / `register_backend` exist, which is how tests pin the set of providers.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from pydantic import BaseModel

from mlform.sdk.contract import Kind, Provider

PROVIDER_GROUP = "mlform.providers"
BACKEND_GROUP = "mlform.backends"
DISABLE_ENV = "MLFORM_DISABLE_PLUGIN_AUTOLOAD"

__all__ = [
    "BACKEND_GROUP",
    "DISABLE_ENV",
    "PROVIDER_GROUP",
    "PluginError",
    "PluginInfo",
    "ProviderInfo",
    "ProviderNotInstalled",
    "check_provider",
    "distribution_hash",
    "install_command",
    "installed_backends",
    "installed_providers",
    "load_backend",
    "load_provider",
    "register_backend",
    "register_provider",
    "reset",
    "unregister_backend",
    "unregister_provider",
]


class PluginError(Exception):
    """A plugin cannot be used: not installed, fails to import, or has the wrong shape. The
    message says what to do next."""


class ProviderNotInstalled(PluginError):
    def __init__(self, name: str, known: list[str]):
        self.name = name
        listed = ", ".join(known) if known else "none"
        super().__init__(
            f'Provider "{name}" is not installed. Install it with:\n'
            f"  {install_command(name)}\n"
            f"Installed providers: {listed}."
        )


@dataclass(frozen=True)
class PluginInfo:
    """An installed plugin as its metadata describes it (nothing imported)."""

    name: str
    distribution: str
    version: str
    module: str  # "package.module:Class", the entry point's value
    group: str = PROVIDER_GROUP


ProviderInfo = PluginInfo


def install_command(name: str) -> str:
    return f"pip install mlform-provider-{name}"


def autoload_enabled() -> bool:
    return os.environ.get(DISABLE_ENV, "").strip().lower() not in ("1", "true", "yes", "on")


_lock = threading.RLock()
_registered: dict[str, dict[str, tuple[type[Any], PluginInfo]]] = {
    PROVIDER_GROUP: {},
    BACKEND_GROUP: {},
}
_loaded: dict[tuple[str, str], type[Any]] = {}
_discovered: dict[str, dict[str, tuple[PluginInfo, metadata.EntryPoint]]] = {}


def register_provider(cls: type[Provider], distribution: str = "(registered)") -> type[Provider]:
    """Make a provider class available by its `name`, whether or not discovery is on. The
    class is checked like one found by entry point."""
    check_provider(cls, distribution)
    info = PluginInfo(cls.name, distribution, cls.version, _qualname(cls), PROVIDER_GROUP)
    with _lock:
        _registered[PROVIDER_GROUP][cls.name] = (cls, info)
    return cls


def unregister_provider(name: str) -> None:
    with _lock:
        _registered[PROVIDER_GROUP].pop(name, None)
        _loaded.pop((PROVIDER_GROUP, name), None)


def register_backend(name: str, cls: type[Any], distribution: str = "(registered)") -> type[Any]:
    _check_backend(cls, name, distribution)
    info = PluginInfo(name, distribution, "", _qualname(cls), BACKEND_GROUP)
    with _lock:
        _registered[BACKEND_GROUP][name] = (cls, info)
    return cls


def unregister_backend(name: str) -> None:
    with _lock:
        _registered[BACKEND_GROUP].pop(name, None)
        _loaded.pop((BACKEND_GROUP, name), None)


def reset() -> None:
    """Forget registrations, loaded classes and discovered entry points (tests)."""
    with _lock:
        for table in _registered.values():
            table.clear()
        _loaded.clear()
        _discovered.clear()


def _qualname(cls: type[Any]) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _discover(group: str) -> dict[str, tuple[PluginInfo, metadata.EntryPoint]]:
    if not autoload_enabled():
        return {}
    with _lock:
        found = _discovered.get(group)
        if found is not None:
            return found
        found = {}
        for ep in metadata.entry_points(group=group):
            dist = ep.dist
            dist_name = dist.metadata["Name"] if dist is not None else "(unknown distribution)"
            version = dist.version if dist is not None else ""
            if ep.name in found and found[ep.name][0].distribution != dist_name:
                # Two distributions claim one name: keep the first, as pip would import it.
                continue
            found[ep.name] = (PluginInfo(ep.name, dist_name, version, ep.value, group), ep)
        _discovered[group] = found
        return found


def discovered(group: str) -> dict[str, metadata.EntryPoint]:
    """The entry points of a plugin group by name, not yet imported; empty when discovery is off.
    Other plugin kinds (state encryption's key providers) are found through this, so that
    entry points are read in one place."""
    return {name: ep for name, (_, ep) in _discover(group).items()}


def _infos(group: str) -> list[PluginInfo]:
    infos = {name: info for name, (info, _) in _discover(group).items()}
    with _lock:
        for name, (_, info) in _registered[group].items():
            infos[name] = info
    return [infos[n] for n in sorted(infos)]


def installed_providers() -> list[PluginInfo]:
    """Every provider that can be loaded, by name, without importing any of them."""
    return _infos(PROVIDER_GROUP)


def installed_backends() -> list[PluginInfo]:
    return _infos(BACKEND_GROUP)


def provider_info(name: str) -> PluginInfo | None:
    for info in installed_providers():
        if info.name == name:
            return info
    return None


def _load(group: str, name: str) -> tuple[type[Any], PluginInfo]:
    with _lock:
        reg = _registered[group].get(name)
        if reg is not None:
            return reg
        cached = _loaded.get((group, name))
    found = _discover(group).get(name)
    if found is None:
        if group == PROVIDER_GROUP:
            raise ProviderNotInstalled(name, [i.name for i in installed_providers()])
        known = ", ".join(i.name for i in installed_backends()) or "none"
        raise PluginError(f'Backend "{name}" is not installed. Installed backends: {known}.')
    info, ep = found
    if cached is not None:
        return cached, info
    try:
        obj = ep.load()
    except Exception as exc:  # noqa: BLE001 - any import failure is the plugin's
        raise PluginError(
            f'The {_noun(group)} "{name}" from {info.distribution} {info.version} failed to '
            f"load ({info.module}): {type(exc).__name__}: {exc}\n"
            f"Reinstall it (pip install --force-reinstall {info.distribution}) or report the "
            "problem to its authors."
        ) from exc
    if group == PROVIDER_GROUP:
        check_provider(obj, info.distribution, name)
    else:
        _check_backend(obj, name, info.distribution)
    with _lock:
        _loaded[(group, name)] = obj
    return obj, info


def _noun(group: str) -> str:
    return "provider" if group == PROVIDER_GROUP else "backend"


def load_provider(name: str) -> type[Provider]:
    """The provider class for `name`, importing its package now. Raises ProviderNotInstalled
    (with the pip command) or PluginError (import failure, wrong shape)."""
    cls, _ = _load(PROVIDER_GROUP, name)
    return cls


def load_backend(name: str) -> type[Any]:
    cls, _ = _load(BACKEND_GROUP, name)
    return cls


# -- shape checks ----------------------------------------------------------------------------------


def _overrides(cls: type[Any], base: type[Any], method: str) -> bool:
    return getattr(cls, method, None) is not getattr(base, method, None)


def check_provider(obj: Any, distribution: str, name: str | None = None) -> None:
    """Refuse a provider class of the wrong shape with a message naming the distribution and
    every problem found."""
    problems = provider_problems(obj, name)
    if problems:
        what = getattr(obj, "__qualname__", repr(obj))
        lines = "\n".join(f"  - {p}" for p in problems)
        raise PluginError(
            f"The provider {what} from {distribution} cannot be used:\n{lines}\n"
            "A provider must subclass mlform.sdk.Provider; see docs/providers.md."
        )


def provider_problems(obj: Any, name: str | None = None) -> list[str]:
    from mlform.sdk.schema import SchemaError, body_schema

    if not isinstance(obj, type) or not issubclass(obj, Provider):
        return [f"{obj!r} is not a subclass of mlform.sdk.Provider"]
    problems: list[str] = []
    pname = getattr(obj, "name", None)
    if not isinstance(pname, str) or not pname:
        problems.append("`name` must be a non-empty string")
    elif name is not None and pname != name:
        problems.append(f'its `name` is "{pname}" but its entry point is named "{name}"')
    config = getattr(obj, "config", None)
    if not isinstance(config, type) or not issubclass(config, BaseModel):
        problems.append("`config` must be a pydantic model class")
    else:
        try:
            body_schema(config)
        except SchemaError as exc:
            problems.append(f"`config`: {exc}")
    kinds = getattr(obj, "kinds", None)
    if not isinstance(kinds, Mapping):
        return [*problems, "`kinds` must be a mapping of kind names to Kind classes"]
    for kname, kcls in kinds.items():
        problems.extend(kind_problems(kname, kcls))
    return problems


def kind_problems(kname: Any, kcls: Any) -> list[str]:
    from mlform.sdk.schema import SchemaError, body_schema

    if not isinstance(kname, str) or not kname:
        return [f"kind name {kname!r} must be a non-empty string"]
    if not isinstance(kcls, type) or not issubclass(kcls, Kind):
        return [f'kind "{kname}": {kcls!r} is not a subclass of mlform.sdk.Kind']
    problems: list[str] = []
    for attr in ("args", "attrs"):
        model = getattr(kcls, attr, None)
        if not isinstance(model, type) or not issubclass(model, BaseModel):
            problems.append(f'kind "{kname}": `{attr}` must be a pydantic model class')
            continue
        try:
            body_schema(model, attr == "attrs")
        except SchemaError as exc:
            problems.append(f'kind "{kname}": `{attr}`: {exc}')
    if not problems:
        # State keeps arguments and computed attributes in one object: a name in both is one
        # value (an argument the provider fills in when it is not given), so types must agree.
        args_body = body_schema(kcls.args)
        attrs_body = body_schema(kcls.attrs, True)
        for name, cattr in attrs_body.attributes.items():
            arg = args_body.attributes.get(name)
            if arg is not None and arg.type != cattr.type:
                problems.append(
                    f'kind "{kname}": "{name}" is both an argument ({arg.type.hcl()}) and a computed '
                    f"attribute ({cattr.type.hcl()}); they share one value in state, so give one of them another name"
                )
    if kcls.is_data:
        required: tuple[str, ...] = ("read_data",)
    elif getattr(kcls, "long_running", False):
        # The engine submits, polls and cancels it; `create` is never called.
        required = ("submit", "poll", "cancel", "read", "delete")
    else:
        required = ("create", "read", "delete")
    missing = [m for m in required if not _overrides(kcls, Kind, m)]
    if missing:
        problems.append(f'kind "{kname}" does not implement {", ".join(missing)}')
    return problems


def _check_backend(obj: Any, name: str, distribution: str) -> None:
    if not isinstance(obj, type):
        raise PluginError(
            f'The backend "{name}" from {distribution} is {obj!r}, not a class; a backend '
            "entry point must name its backend class."
        )


# -- lock-file hashes ------------------------------------------------------------------------------


def distribution_hash(dist_name: str) -> str:
    """`sha256:<hex>` over the installed distribution's RECORD (each installed file's path
    and hash), so that `.mlform.lock.hcl` notices a provider replaced by different files with
    the same version. Falls back to hashing the files themselves when there is no RECORD."""
    try:
        dist = metadata.distribution(dist_name)
    except metadata.PackageNotFoundError:
        raise PluginError(
            f"The distribution {dist_name} is not installed. Install it with:\n"
            f"  pip install {dist_name}"
        ) from None
    h = hashlib.sha256()
    record = dist.read_text("RECORD")
    if record:
        rows = []
        for line in record.splitlines():
            parts = line.rsplit(",", 2)
            if len(parts) != 3 or not parts[1]:
                continue  # RECORD itself and compiled files carry no hash
            rows.append(f"{parts[0]},{parts[1]}")
        for row in sorted(rows):
            h.update(row.encode() + b"\n")
        return "sha256:" + h.hexdigest()
    for f in sorted(dist.files or [], key=str):
        if str(f).endswith(".pyc"):
            continue
        h.update(str(f).encode() + b"\0")
        try:
            h.update(hashlib.sha256(f.read_binary()).digest())
        except OSError:
            h.update(b"(missing)")
    return "sha256:" + h.hexdigest()
