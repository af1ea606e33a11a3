"""What has been evaluated so far in a walk, and the scope an expression sees.

The walk fills in, module instance by module instance, the values of variables, locals,
outputs and resources. An expression's scope is built from its own references only (as
Terraform does), so evaluating one expression costs in proportion to what it names, not to the
size of the configuration.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mlform.addrs import Key, ModuleInstance, ModulePath, Resource
from mlform.config.model import Module
from mlform.lang import ast
from mlform.lang import values as V
from mlform.lang.eval import EvalContext
from mlform.lang.functions import FunctionContext
from mlform.lang.values import Value


@dataclass
class Expansion:
    """How many instances a resource or module call has in one module instance."""

    mode: str  # "single" | "count" | "for_each" | "unknown"
    keys: list[Key] = field(default_factory=list)
    each: dict[Key, Value] = field(default_factory=dict)  # for_each: key -> each.value

    @staticmethod
    def single() -> Expansion:
        return Expansion("single", [None])


@dataclass
class ModuleValues:
    vars: dict[str, Value] = field(default_factory=dict)
    locals: dict[str, Value] = field(default_factory=dict)
    outputs: dict[str, Value] = field(default_factory=dict)
    # What a reference to a resource sees: an object, a tuple (count) or an object by key.
    resources: dict[Resource, Value | _Deferred] = field(default_factory=dict)
    calls: dict[str, Expansion] = field(default_factory=dict)


class EvalState:
    def __init__(self, modules: dict[ModulePath, Module], root_dir: Path, workspace: str):
        self.modules = modules
        self.root_dir = root_dir
        self.workspace = workspace
        self.instances: dict[ModulePath, list[ModuleInstance]] = {ModulePath(): [ModuleInstance()]}
        self.values: dict[ModuleInstance, ModuleValues] = {ModuleInstance(): ModuleValues()}
        self.lock = threading.RLock()
        self._fctx: dict[ModulePath, FunctionContext] = {}
        # Paths mean what they mean in Terraform: a relative path (in `file()`, in a kind's
        # `code` or `source`) is relative to the working directory, the root module's folder,
        # in every module; `path.module` is a module's folder relative to it ("." for the root,
        # "modules/x" for a local child, ".mlform/modules/..." for a fetched one), so that
        # `"${path.module}/src"` names the folder beside a module's files.
        self.base_dir = root_dir.resolve()
        self.cwd = str(Path.cwd())
        self._path_values: dict[ModulePath, Value] = {}
        for path, m in modules.items():
            rel = os.path.relpath(m.dir.resolve(), self.base_dir).replace(os.sep, "/")
            self._path_values[path] = V.object_of(
                {
                    "module": V.string(rel),
                    "root": V.string("."),
                    "cwd": V.string(self.cwd),
                }
            )

    def module_values(self, mi: ModuleInstance) -> ModuleValues:
        with self.lock:
            mv = self.values.get(mi)
            if mv is None:
                mv = self.values[mi] = ModuleValues()
            return mv

    def functions(self, path: ModulePath) -> FunctionContext:
        f = self._fctx.get(path)
        if f is None:
            f = self._fctx[path] = FunctionContext(base_dir=self.base_dir)
        return f

    # -- scope ---------------------------------------------------------------------------------

    def scope(
        self,
        mi: ModuleInstance,
        travs: Iterable[ast.ScopeTraversal],
        extra: dict[str, Value] | None = None,
    ) -> EvalContext:
        mv = self.module_values(mi)
        path = mi.module()
        roots: dict[str, Value] = {}
        var: dict[str, Value] = {}
        local: dict[str, Value] = {}
        mods: dict[str, Value] = {}
        res_types: dict[str, dict[str, Value]] = {}
        data: dict[str, dict[str, Value]] = {}
        for t in travs:
            root = t.root
            first = t.steps[0].name if t.steps and isinstance(t.steps[0], ast.AttrStep) else None
            if root == "var":
                if first is not None and first in mv.vars:
                    var[first] = mv.vars[first]
                elif first is not None:
                    var[first] = V.DYNAMIC_UNKNOWN
            elif root == "local":
                if first is not None:
                    local[first] = mv.locals.get(first, V.DYNAMIC_UNKNOWN)
            elif root == "module":
                if first is not None:
                    mods[first] = self.module_call_value(mi, first)
            elif root == "data":
                if first is not None and len(t.steps) > 1 and isinstance(t.steps[1], ast.AttrStep):
                    name = t.steps[1].name
                    data.setdefault(first, {})[name] = self.resource_value_or(
                        mi, Resource("data", first, name), V.DYNAMIC_UNKNOWN
                    )
            elif root == "path":
                roots["path"] = self._path_values[path]
            elif root in ("mlform", "terraform"):
                roots[root] = V.object_of({"workspace": V.string(self.workspace)})
            elif root in ("count", "each", "self"):
                pass
            elif first is not None:
                res_types.setdefault(root, {})[first] = self.resource_value_or(
                    mi, Resource("managed", root, first), V.DYNAMIC_UNKNOWN
                )
        if var:
            roots["var"] = V.object_of(var)
        if local:
            roots["local"] = V.object_of(local)
        if mods:
            roots["module"] = V.object_of(mods)
        if data:
            roots["data"] = V.object_of({k: V.object_of(v) for k, v in data.items()})
        for rtype, items in res_types.items():
            roots[rtype] = V.object_of(items)
        if extra:
            roots.update(extra)
        return EvalContext(roots, self.functions(path))

    def module_call_value(self, mi: ModuleInstance, call: str) -> Value:
        """What `module.NAME` means in module instance `mi`: the outputs of the child instance,
        a tuple of them (count) or an object of them by key (for_each)."""
        mv = self.module_values(mi)
        exp = mv.calls.get(call)
        child_path = mi.module().child(call)
        child_cfg = self.modules.get(child_path)
        if exp is None or exp.mode == "unknown" or child_cfg is None:
            return V.DYNAMIC_UNKNOWN

        def outputs_of(key: Key) -> Value:
            cv = self.module_values(mi.child(call, key))
            return V.object_of(
                {name: cv.outputs.get(name, V.DYNAMIC_UNKNOWN) for name in child_cfg.outputs}
            )

        if exp.mode == "single":
            return outputs_of(None)
        if exp.mode == "count":
            return V.tuple_of(outputs_of(k) for k in exp.keys)
        return V.object_of({str(k): outputs_of(k) for k in exp.keys})

    @staticmethod
    def expansion_extra(exp: Expansion, key: Key) -> dict[str, Value]:
        if exp.mode == "count":
            assert isinstance(key, int)
            return {"count": V.object_of({"index": V.number(key)})}
        if exp.mode == "for_each":
            return {
                "each": V.object_of(
                    {"key": V.string(str(key)), "value": exp.each.get(key, V.DYNAMIC_UNKNOWN)}
                )
            }
        return {}

    def expose_resource(
        self,
        mi: ModuleInstance,
        res: Resource,
        exp: Expansion,
        by_key: Mapping[Key, Value | Callable[[], Value]],
    ) -> None:
        """Record what references to a resource see. Instance values may be given as
        functions: they are built only if some expression refers to the resource, which
        saves converting thousands of objects nothing reads."""

        def build() -> Value:
            vals = {k: v if isinstance(v, Value) else v() for k, v in by_key.items()}
            if exp.mode == "single":
                return vals.get(None, V.DYNAMIC_UNKNOWN)
            if exp.mode == "count":
                return V.tuple_of(vals.get(k, V.DYNAMIC_UNKNOWN) for k in exp.keys)
            if exp.mode == "for_each":
                return V.object_of({str(k): vals.get(k, V.DYNAMIC_UNKNOWN) for k in exp.keys})
            return V.DYNAMIC_UNKNOWN

        with self.lock:
            self.module_values(mi).resources[res] = _Deferred(build)

    def resource_value_or(self, mi: ModuleInstance, res: Resource, default: Value) -> Value:
        v = self.resource_value(mi, res)
        return default if v is None else v

    def resource_value(self, mi: ModuleInstance, res: Resource) -> Value | None:
        """What a reference to `res` in module instance `mi` sees (None: not evaluated yet)."""
        v = self.module_values(mi).resources.get(res)
        if isinstance(v, _Deferred):
            return v.get()
        return v


class _Deferred:
    """A value built on first use, once, whichever thread asks first."""

    __slots__ = ("_build", "_value", "_lock")

    def __init__(self, build: Callable[[], Value]):
        self._build: Callable[[], Value] | None = build
        self._value: Value | None = None
        self._lock = threading.Lock()

    def get(self) -> Value:
        if self._value is None:
            with self._lock:
                if self._value is None:
                    assert self._build is not None
                    self._value = self._build()
                    self._build = None
        return self._value
