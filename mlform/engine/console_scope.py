"""The scope `mlform console` evaluates in: the root module's variables, locals, module outputs
and resources as the state records them, with `path` and the workspace."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlform.diagnostics import Diagnostic
from mlform.lang import ast
from mlform.lang import values as V
from mlform.lang.eval import EvalContext

# What a reference to a name the scope does not have is told (the console words it).
OnMissing = Callable[[ast.ScopeTraversal], Diagnostic]


def console_scope(
    workdir: Path, var_args: list[tuple[str, str]], on_missing: OnMissing
) -> tuple[EvalContext, list[Diagnostic]]:
    """`var_args`: ("var", "NAME=VALUE") and ("var-file", PATH) in the order the user gave
    them, which sets their precedence."""
    from mlform.addrs import ModuleInstance
    from mlform.config.loader import config_files
    from mlform.diagnostics import DiagnosticsError
    from mlform.engine.graph import ProviderNode, ResourceNode
    from mlform.engine.operation import Operations
    from mlform.engine.planner import PlanOptions, ResourceWalker
    from mlform.engine.providers import ProviderManager
    from mlform.engine.scope import EvalState
    from mlform.engine.walk import WalkSettings
    from mlform.state.session import read_state

    ops = Operations(workdir)
    if not config_files(workdir):
        return _bare(workdir, ops.workspace, on_missing), []
    ordered: list[Any] = list(var_args)
    try:
        loaded = ops.load(ordered, interactive=False, allow_missing=True)
        state = read_state(ops.backend(), ops.workspace)
    except DiagnosticsError as exc:
        return _bare(workdir, ops.workspace, on_missing), exc.diagnostics

    class StateView(ResourceWalker):
        def visit_provider(self, node: ProviderNode) -> None:
            pass

        def visit_resource(self, node: ResourceNode) -> None:
            _, res = self.resource_config(node)
            pnode = self.cg.resource_provider[node.addr]
            info = None
            if self.providers.provider_class(pnode.type) is not None:
                info, _ = self.providers.kind_info(pnode.type, res.type, res.mode, None)
            for mi in self.instances(node.addr.module):
                self.expose_prior(mi, res, info)

    evals = EvalState(loaded.cg.modules, workdir, ops.workspace)
    walker = StateView(
        loaded.cg,
        evals,
        ProviderManager(workdir, ops.data_dir),
        loaded.root_vars,
        WalkSettings(allow_unknown_expansion=True),
        state,
        PlanOptions(),
        ops.data_dir,
    )
    walker.run()
    root = loaded.root
    mv = evals.module_values(ModuleInstance())
    roots: dict[str, V.Value] = {
        "var": V.object_of({n: mv.vars.get(n, V.DYNAMIC_UNKNOWN) for n in root.variables}),
        "local": V.object_of({n: mv.locals.get(n, V.DYNAMIC_UNKNOWN) for n in root.locals}),
        "module": V.object_of(
            {n: evals.module_call_value(ModuleInstance(), n) for n in root.module_calls}
        ),
        "path": evals._path_values[root.path],
        "mlform": V.object_of({"workspace": V.string(ops.workspace)}),
        "terraform": V.object_of({"workspace": V.string(ops.workspace)}),
    }
    by_type: dict[str, dict[str, V.Value]] = {}
    data: dict[str, dict[str, V.Value]] = {}
    for addr in root.resources:
        value = evals.resource_value_or(ModuleInstance(), addr, V.DYNAMIC_UNKNOWN)
        (data if addr.mode == "data" else by_type).setdefault(addr.type, {})[addr.name] = value
    for t, items in by_type.items():
        roots[t] = V.object_of(items)
    if data:
        roots["data"] = V.object_of({t: V.object_of(items) for t, items in data.items()})
    diags = [d for d in walker.diags if d.is_error] + [d for d in loaded.diags if not d.is_error]
    return EvalContext(roots, evals.functions(root.path), on_missing=on_missing), diags


def _bare(workdir: Path, workspace: str, on_missing: OnMissing) -> EvalContext:
    here = V.string(str(workdir.resolve()))
    return EvalContext(
        {
            "path": V.object_of({"module": V.string("."), "root": V.string("."), "cwd": here}),
            "var": V.EMPTY_OBJECT_VALUE,
            "local": V.EMPTY_OBJECT_VALUE,
            "mlform": V.object_of({"workspace": V.string(workspace)}),
            "terraform": V.object_of({"workspace": V.string(workspace)}),
        },
        on_missing=on_missing,
    )
