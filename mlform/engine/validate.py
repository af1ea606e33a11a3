"""`mlform validate`: everything that can be checked without calling a provider.

The whole configuration is loaded and evaluated with unknown values standing in for what only
providers know: references, types, function calls, count and for_each shapes, and resource
arguments against the kinds' schemas where the provider is installed.
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlform.config.loader import load_config
from mlform.config.model import Module
from mlform.config.variables import collect, resolve
from mlform.diagnostics import Diagnostic
from mlform.engine.body import eval_body
from mlform.engine.graph import ProviderNode, ResourceNode, build_graph
from mlform.engine.schema_cache import portable_schema
from mlform.engine.scope import EvalState, Expansion
from mlform.engine.walk import NodeFailed, Walker, WalkSettings
from mlform.lang import values as V
from mlform.lang.types import DYNAMIC, ListType, MapType, ObjectType, Type

if TYPE_CHECKING:
    from mlform.engine.providers import KindInfo
    from mlform.engine.schema_cache import ValidateProviders
    from mlform.sdk.schema_types import BodySchema, KindSchema


class ValidateWalker(Walker):
    # `validate` hands this walker a ValidateProviders (answers from the schema cache), which
    # stands in for a ProviderManager without being one.
    providers: ValidateProviders  # type: ignore[assignment]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._itypes: dict[tuple[int, str | None], tuple[KindSchema, Type]] = {}

    def configure_provider(self, node: ProviderNode, config: dict[str, Any], subject: Any) -> None:
        from mlform.diagnostics import error

        if config:
            from mlform.sdk.schema import validate_model

            cls = self.providers.provider_class(node.type)
            if cls is None:
                return  # reported once, at the resources that need it
            messages = [p.message for p in validate_model(cls.config, config)]
        else:
            # No provider block, or an empty one: the answer is the same every run, and the
            # schema cache keeps it, so that the provider need not be imported.
            found = self.providers.empty_config_problems(node.type)
            if found is None:
                return
            messages = found
        problems = [m for m in messages if "unknown" not in m.lower()]
        if problems:
            self.add_diags(
                error(
                    "Invalid provider configuration",
                    f'provider "{node.local_name}": {m}',
                    subject,
                )
                for m in problems
            )
            raise NodeFailed(str(node))

    def visit_resource(self, node: ResourceNode) -> None:
        module, res = self.resource_config(node)
        pnode = self.cg.resource_provider[node.addr]
        schema: BodySchema | None = None
        # What a reference to one instance sees: an object of the kind's arguments and
        # attributes, all unknown, so that `environment.sk.idd` is an error here as in plan.
        itype: Type = DYNAMIC
        if self.providers.installed(pnode.type):
            kind, diags = self.providers.kind_schema(pnode.type, res.type, res.mode, res.range)
            self.add_diags(diags)
            if kind is not None:
                schema = kind.args
                itype = self._instance_type(kind, None)
        elif res.is_portable:
            # The portable kinds' arguments are the same on every provider: check them even
            # before the chosen provider is installed.
            portable = portable_schema(res.type)
            schema = portable.args
            itype = self._instance_type(portable, pnode.type)
        failed = False
        for mi in self.instances(node.addr.module):
            # Without count or for_each there is nothing to evaluate: skip building a scope.
            if res.count is not None or res.for_each is not None:
                self.expand_resource(mi, res)  # reports a count or for_each of the wrong shape
            extra: dict[str, V.Value] = {}
            if res.count is not None:
                extra["count"] = V.object_of({"index": V.unknown(V.number(0).type)})
            if res.for_each is not None:
                extra["each"] = V.object_of(
                    {"key": V.unknown(V.string("").type), "value": V.DYNAMIC_UNKNOWN}
                )
            # As `eval_resource_body`, with the schema alone (no provider class is loaded).
            ctx = self.evals.scope(mi, self._body_travs(res), extra)
            _, diags = eval_body(res.body, schema, ctx, res.range, pnode.type)
            failed |= self.add_diags(diags)
            # How many instances there are is not known here: `count` gives a list of them
            # (`x[0].id`, `x[*].id`), `for_each` a map (`x["k"].id`, `x.k.id`).
            one = V.unknown(itype)
            if res.count is not None:
                value = V.unknown(ListType(itype)) if itype is not DYNAMIC else one
            elif res.for_each is not None:
                value = V.unknown(MapType(itype)) if itype is not DYNAMIC else one
            else:
                value = one
            self.evals.expose_resource(mi, res.addr, Expansion.single(), {None: value})
        if failed:
            raise NodeFailed(str(node))

    def _instance_type(self, kind: KindSchema, provider: str | None) -> Type:
        """The type of `TYPE.NAME` for a kind (as `mlform.sdk.schema.instance_type`, from the
        schema alone). A portable kind checked before its provider is installed may still have
        that provider's own nested block (`local { ... }`), whose contents are not known here."""
        key = (id(kind), provider)
        hit = self._itypes.get(key)
        if hit is not None and hit[0] is kind:
            return hit[1]
        a = kind.args.type()
        c = kind.attrs.type()
        items = {**a.attrs, **c.attrs}
        optional = (a.optional | c.optional) & set(items)
        if provider is not None and provider not in items:
            items[provider] = DYNAMIC
            optional |= {provider}
        t = ObjectType.of(items, optional)
        self._itypes[key] = (kind, t)
        return t


def portable_kind_info(kind: str) -> KindInfo:
    import importlib

    from mlform.engine.providers import KindInfo
    from mlform.sdk import Kind
    from mlform.sdk.schema import kind_schema

    mod = importlib.import_module(f"mlform.kinds.{kind}")
    cls = type(f"Portable_{kind}", (Kind,), {"args": mod.Args, "attrs": mod.Attrs})
    return KindInfo("portable", cls, kind_schema(cls))


def validate(
    workdir: Path, var_args: list[Any] | None = None
) -> tuple[Module | None, list[Diagnostic]]:
    # Loading and evaluating a large configuration makes hundreds of thousands of objects that
    # live until the end and form no garbage cycles worth finding; the collector's passes over
    # them cost several percent of the run, so it is paused until validation is done. They are
    # then frozen (as the parser does with its trees), or the first full collection afterwards
    # would walk them all (0.13 s for 2,000 resources).
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _validate(workdir, var_args)
    finally:
        if enabled:
            gc.freeze()
            gc.enable()


def _validate(workdir: Path, var_args: list[Any] | None) -> tuple[Module | None, list[Diagnostic]]:
    # Validate keeps its own result cache, which is what makes the next run cheap: it reads
    # parsed files that plan or apply cached, but does not pay for caching them itself.
    root, diags = load_config(workdir, use_cache="read")
    if any(d.is_error for d in diags):
        return root, diags
    raw, vdiags = collect(workdir, var_args or [])
    diags.extend(vdiags)
    root_vars, rdiags = resolve(root, raw, allow_missing=True)
    diags.extend(rdiags)
    cg, gdiags = build_graph(root)
    diags.extend(gdiags)
    # By identity: comparing each diagnostic with every other one is quadratic.
    from_graph = {id(d) for d in gdiags}
    if any(d.is_error for d in diags if id(d) not in from_graph):
        return root, diags
    # Keep going past reference errors and cycles, so that every problem is reported in one
    # run: declarations caught in a cycle are left out of the walk. The builder found them
    # already; looking again costs a second pass over a graph of thousands of nodes.
    for cycle in cg.cycles:
        for node in cycle:
            if node in cg.graph:
                cg.graph.remove_node(node)
    evals = EvalState(cg.modules, workdir, "default")
    # Providers (and pydantic with them) are imported only when the schema cache cannot answer
    # (see `schema_cache`), and only by a configuration that has resources or provider blocks.
    providers: Any = None
    if any(isinstance(n, (ResourceNode, ProviderNode)) for n in cg.graph.nodes()):
        from mlform.engine.schema_cache import ValidateProviders

        providers = ValidateProviders(workdir, workdir / ".mlform")
    # One visit at a time: validate calls no provider and waits on nothing, so worker threads
    # would only add lock hand-offs between the GIL-bound visits.
    settings = WalkSettings(parallelism=1, allow_unknown_expansion=True)
    walker = ValidateWalker(cg, evals, providers, root_vars, settings)
    walker.run()
    from mlform.engine.checks import validate_checks

    validate_checks(walker)
    # A reference the graph builder found wrong (`module.m.idd`: no such output) is found
    # again when the expression is evaluated, in other words: say it once, as the builder did.
    found = {(d.summary, str(d.subject)) for d in gdiags if d.subject is not None}
    diags.extend(d for d in walker.diags if (d.summary, str(d.subject)) not in found)
    return root, sort_diagnostics(_dedupe(diags))


def validated_inputs(
    workdir: Path, root: Module, var_args: list[Any]
) -> tuple[list[Path], list[Path]]:
    """The folders and files a validation read, for the validate cache."""
    from mlform.config.loader import config_files
    from mlform.config.variables import AUTO_SUFFIXES, DEFAULT_FILES
    from mlform.engine.init import LOCK_FILE

    dirs = [m.dir for m in root.walk()]
    files = [f for m in root.walk() for f in config_files(m.dir)]
    for name in (*DEFAULT_FILES, LOCK_FILE, ".mlform/modules/modules.json"):
        files.append(workdir / name)
    try:
        files.extend(p for p in workdir.iterdir() if p.name.endswith(AUTO_SUFFIXES))
    except OSError:
        pass
    files.extend(Path(v) for k, v in var_args if k == "var-file")
    return dirs, files


def sort_diagnostics(diags: list[Diagnostic]) -> list[Diagnostic]:
    """Source order (file, line, column); diagnostics without a location first."""

    def key(d: Diagnostic) -> tuple[str, int, int]:
        if d.subject is None:
            return ("", 0, 0)
        return (d.subject.filename, d.subject.start.line, d.subject.start.column)

    return sorted(diags, key=key)


def _dedupe(diags: list[Diagnostic]) -> list[Diagnostic]:
    seen = set()
    out = []
    for d in diags:
        key = (d.severity, d.summary, d.detail, str(d.subject))
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out
