"""Walking the configuration graph: evaluating each declaration once its dependencies are done.

`Walker` visits variables, locals, outputs, module expansions and provider configurations the
same way in every operation; what happens at a resource depends on the operation, so the
subclasses (`validate`, plan, apply) implement `visit_resource`. Errors in a node are collected
as diagnostics and the node fails, which skips its dependents; independent work goes on.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from mlform import dag
from mlform.addrs import AbsResourceInstance, ModuleInstance, ModulePath
from mlform.config.model import Module, ResourceConfig
from mlform.diagnostics import Diagnostic, Note, Range, error
from mlform.engine.body import eval_body
from mlform.engine.expand import eval_expansion
from mlform.engine.graph import (
    ConfigGraph,
    ExpandNode,
    LocalNode,
    Node,
    OutputNode,
    ProviderNode,
    ResourceNode,
    VarNode,
)
from mlform.engine.refs import body_traversals, expr_traversals
from mlform.engine.scope import EvalState, Expansion
from mlform.lang import ast
from mlform.lang import values as V
from mlform.lang.eval import evaluate
from mlform.lang.values import Value

if TYPE_CHECKING:
    # The provider layer brings in the SDK and pydantic; a walk imports it when it meets a
    # provider or a resource, not before.
    from mlform.engine.providers import KindInfo, ProviderManager


class NodeFailed(Exception):
    """A node's evaluation reported errors (already collected); its dependents are skipped."""


class Hooks:
    """What the UI hears during a walk. The default hears nothing."""

    def log(self, addr: str, line: str) -> None:
        pass

    def progress(self, addr: str, done: float, total: float | None, message: str) -> None:
        pass

    def start(self, addr: str, action: str) -> None:
        pass

    def done(
        self, addr: str, action: str, seconds: float, id: str | None = None, failed: bool = False
    ) -> None:
        pass

    def message(self, text: str) -> None:
        pass


@dataclass
class WalkSettings:
    parallelism: int = 10
    allow_unknown_expansion: bool = False  # validate: count/for_each may be unknown
    cancel: threading.Event | None = None


class Walker:
    def __init__(
        self,
        cg: ConfigGraph,
        evals: EvalState,
        providers: ProviderManager,
        root_vars: dict[str, Value],
        settings: WalkSettings,
        hooks: Hooks | None = None,
    ):
        self.cg = cg
        self.evals = evals
        self.providers = providers
        self.root_vars = root_vars
        self.settings = settings
        self.hooks = hooks or Hooks()
        self.diags: list[Diagnostic] = []
        self._diag_lock = threading.Lock()
        self.cancel = settings.cancel or threading.Event()
        self._travs_cache: dict[int, list[ast.ScopeTraversal]] = {}
        self.pool = ThreadPoolExecutor(
            max_workers=max(1, settings.parallelism), thread_name_prefix="mlform-instance"
        )

    # -- plumbing --------------------------------------------------------------------------------

    def add_diags(self, diags: Iterable[Diagnostic]) -> bool:
        """Collect diagnostics; True when any is an error."""
        items = list(diags)
        if not items:
            return False
        with self._diag_lock:
            self.diags.extend(items)
        return any(d.is_error for d in items)

    def run(self) -> dag.WalkResult[Node]:
        try:
            result = dag.walk(
                self.cg.graph,
                self.visit,
                parallelism=max(1, self.settings.parallelism),
                cancel=self.cancel,
            )
        finally:
            # Every resource node waits for the instances it submitted, so no work is left in
            # flight here: the idle threads can end on their own.
            self.pool.shutdown(wait=False)
        # A visit that failed with anything but NodeFailed hit a bug (in mlform or in a
        # provider): it must fail the run loudly, not vanish as a silently skipped node.
        self.add_diags(unexpected_errors(result))
        return result

    def module(self, path: ModulePath) -> Module:
        return self.cg.modules[path]

    def instances(self, path: ModulePath) -> list[ModuleInstance]:
        with self.evals.lock:
            return list(self.evals.instances.get(path, []))

    def eval_expr(
        self, expr: ast.Expr, mi: ModuleInstance, extra: dict[str, Value] | None = None
    ) -> tuple[Value, bool]:
        """Evaluate in module instance `mi`; returns the value and whether it failed."""
        travs = expr_traversals(expr)
        ctx = self.evals.scope(mi, travs, extra)
        value, diags = evaluate(expr, ctx)
        failed = self.add_diags(self.located(diags, mi, travs))
        return value, failed

    def located(
        self,
        diags: list[Diagnostic],
        mi: ModuleInstance,
        travs: list[ast.ScopeTraversal],
        address: str | None = None,
    ) -> list[Diagnostic]:
        """Diagnostics from work in module instance `mi` (on the instance `address`, when it is
        one of several), named where the source line alone does not say which instance: inside
        a module (`module.iris`, a module called twice has two) or for a keyed instance
        (`test_object.a[0]`). In a module, a note shows the caller's argument behind each
        `var.X` the diagnostic's subject refers to. Validate checks modules, not instances:
        its diagnostics stay as they are."""
        if not diags or self.settings.allow_unknown_expansion:
            return diags
        if address is None:
            if mi.is_root:
                return diags
            address = str(mi)
        out: list[Diagnostic] = []
        for d in diags:
            if d.subject is None or d.address is not None:
                out.append(d)
                continue
            notes = () if mi.is_root else self._caller_notes(d.subject, mi, travs)
            out.append(replace(d, address=address, notes=d.notes + notes))
        return out

    @staticmethod
    def instance_address(addr: AbsResourceInstance) -> str | None:
        """The address a diagnostic about `addr` names (see `located`): None for a resource of
        the root module with neither count nor for_each, whose line says it all."""
        return None if addr.module.is_root and addr.key is None else str(addr)

    def _caller_notes(
        self, subject: Range, mi: ModuleInstance, travs: list[ast.ScopeTraversal]
    ) -> tuple[Note, ...]:
        names = []
        for t in travs:
            name = _var_name(t)
            if name is not None and name not in names and _within(t.range, subject):
                names.append(name)
        notes: list[Note] = []
        for name in names:
            notes.extend(self._passed_in(mi, name, depth=0))
        return tuple(notes)

    def _passed_in(self, mi: ModuleInstance, name: str, depth: int) -> list[Note]:
        """Where the caller of module instance `mi` sets its variable `name`, and, when that
        caller is itself a module passing on its own variables, where those come from."""
        parent = mi.parent()
        call = self.module(parent.module()).module_calls.get(mi.steps[-1].name)
        attr = call.body.attributes.get(name) if call is not None else None
        if attr is None:
            return []
        notes = [Note(f"var.{name} is given to {mi} by its caller", attr.expr.range)]
        if not parent.is_root and depth < 16:
            for t in expr_traversals(attr.expr):
                outer = _var_name(t)
                if outer is not None:
                    notes.extend(self._passed_in(parent, outer, depth + 1))
        return notes

    def visit(self, node: Node) -> None:
        try:
            self._visit(node)
        except NodeFailed:
            raise
        except Exception as exc:  # noqa: BLE001 - a bug (ours or a provider's) becomes a reported error
            self.add_diags([internal_error(str(node), exc)])
            raise NodeFailed(str(node)) from exc

    def guarded(self, fn: Any, where: str, *args: Any) -> tuple[Value, bool]:
        """Run one instance's work; an unexpected exception fails that instance alone."""
        try:
            return fn(*args)
        except Exception as exc:  # noqa: BLE001 - reported as a diagnostic, not a crash
            self.add_diags([internal_error(where, exc)])
            return V.DYNAMIC_UNKNOWN, True

    def _visit(self, node: Node) -> None:
        if isinstance(node, ResourceNode):
            self.visit_resource(node)
        elif isinstance(node, VarNode):
            self.visit_var(node)
        elif isinstance(node, LocalNode):
            self.visit_local(node)
        elif isinstance(node, OutputNode):
            self.visit_output(node)
        elif isinstance(node, ExpandNode):
            self.visit_expand(node)
        elif isinstance(node, ProviderNode):
            self.visit_provider(node)

    # -- the declarations every operation evaluates alike ------------------------------------------

    def visit_var(self, node: VarNode) -> None:
        from mlform.config.variables import run_validations
        from mlform.lang.convert import ConversionError, convert

        module = self.module(node.module)
        var = module.variables[node.name]
        if node.module.is_root:
            value = self.root_vars.get(node.name, V.unknown(var.type))
            self.evals.module_values(ModuleInstance()).vars[node.name] = value
            return
        failed = False
        for ci in self.instances(node.module):
            parent = ci.parent()
            call_name = ci.steps[-1].name
            call = self.module(parent.module()).module_calls[call_name]
            attr = call.body.attributes.get(node.name)
            if attr is not None:
                exp = self.evals.module_values(parent).calls.get(call_name, Expansion.single())
                value, bad = self.eval_expr(
                    attr.expr, parent, self.evals.expansion_extra(exp, ci.steps[-1].key)
                )
                if bad:
                    failed = True
                    continue
            else:
                value = V.NULL
            if value.is_null and (attr is None or not var.nullable):
                if var.default is not None:
                    value, bad = self.eval_expr(var.default, ci)
                    if bad:
                        failed = True
                        continue
            try:
                value = convert(value, var.type)
            except ConversionError as exc:
                self.add_diags(
                    [
                        error(
                            "Invalid value for input variable",
                            f'The given value is not suitable for module.{call_name}\'s variable "{node.name}": {exc}.',
                            attr.expr.range if attr is not None else call.range,
                        )
                    ]
                )
                failed = True
                continue
            if var.sensitive:
                value = value.mark("sensitive")
            self.evals.module_values(ci).vars[node.name] = value
            if var.validations and value.is_wholly_known():
                if self.add_diags(
                    run_validations(_only_var(module, node.name), {node.name: value})
                ):
                    failed = True
        if failed:
            raise NodeFailed(str(node))

    def visit_local(self, node: LocalNode) -> None:
        local = self.module(node.module).locals[node.name]
        failed = False
        for mi in self.instances(node.module):
            value, bad = self.eval_expr(local.expr, mi)
            failed |= bad
            self.evals.module_values(mi).locals[node.name] = V.DYNAMIC_UNKNOWN if bad else value
        if failed:
            raise NodeFailed(str(node))

    def visit_output(self, node: OutputNode) -> None:
        out = self.module(node.module).outputs[node.name]
        failed = False
        for mi in self.instances(node.module):
            value, bad = self.eval_expr(out.expr, mi)
            if bad:
                failed = True
                continue
            if node.module.is_root and not out.sensitive and value.has_mark_deep("sensitive"):
                self.add_diags(
                    [
                        error(
                            "Output refers to sensitive values",
                            "To reduce the risk of accidentally exporting sensitive data that was intended to be only "
                            "internal, mlform requires that any root module output containing sensitive data be "
                            "explicitly marked as sensitive, to confirm your intent. If you do intend to export this "
                            "data, annotate the output value as sensitive by adding the following argument:\n"
                            "    sensitive = true",
                            out.range,
                        )
                    ]
                )
                failed = True
                continue
            if out.sensitive:
                value = value.mark("sensitive")
            for check in out.preconditions:
                if not self.check_condition(check, mi, {}, "precondition"):
                    failed = True
            self.evals.module_values(mi).outputs[node.name] = value
        if failed:
            raise NodeFailed(str(node))

    def visit_expand(self, node: ExpandNode) -> None:
        parent_path = ModulePath(node.module.names[:-1])
        call_name = node.module.names[-1]
        call = self.module(parent_path).module_calls[call_name]
        children: list[ModuleInstance] = []
        diags: list[Diagnostic] = []
        for pi in self.instances(parent_path):
            travs = [
                t for e in (call.count, call.for_each) if e is not None for t in expr_traversals(e)
            ]
            ctx = self.evals.scope(pi, travs)
            exp = eval_expansion(
                call.count, call.for_each, ctx, diags, self.settings.allow_unknown_expansion
            )
            if exp.mode == "unknown" and self.settings.allow_unknown_expansion:
                # Validate: check the module's contents once, as a single instance.
                exp = (
                    Expansion("single", [None])
                    if call.count is None and call.for_each is None
                    else Expansion(exp.mode, [], {})
                )
                if not exp.keys:
                    exp = Expansion("single", [None])
            self.evals.module_values(pi).calls[call_name] = exp
            for key in exp.keys:
                ci = pi.child(call_name, key)
                self.evals.module_values(ci)
                children.append(ci)
        with self.evals.lock:
            self.evals.instances[node.module] = children
        if self.add_diags(diags):
            raise NodeFailed(str(node))

    def visit_provider(self, node: ProviderNode) -> None:
        module = self.module(node.module)
        block = module.providers.get(node.local_name)
        mi = ModuleInstance() if node.module.is_root else None
        if mi is None:
            instances = self.instances(node.module)
            if len(instances) != 1:
                self.add_diags(
                    [
                        error(
                            "Provider configuration in an expanded module",
                            f"The module {node.module} has count or for_each, so it cannot declare provider configurations. "
                            "Declare the provider in the calling module and pass it in with the providers argument.",
                            block.range if block else None,
                        )
                    ]
                )
                raise NodeFailed(str(node))
            mi = instances[0]
        config: dict[str, Any] = {}
        if block is not None:
            cls = self.providers.provider_class(node.type)
            schema = None
            if cls is not None:
                from mlform.sdk.schema import body_schema

                schema = body_schema(cls.config)
            ctx = self.evals.scope(mi, body_traversals(block.body))
            value, diags = eval_body(block.body, schema, ctx, block.range, node.type)
            if self.add_diags(diags):
                raise NodeFailed(str(node))
            from mlform.engine.bridge import value_to_data

            config = value_to_data(value)
        self.configure_provider(node, config, block.range if block else self._first_use(node))

    def _first_use(self, node: ProviderNode) -> Range | None:
        """Where a provider with no block of its own is first used, so that an error about it
        (not installed, say) points at a line of the configuration."""
        for m in self.module(node.module).walk():
            for res in m.resources.values():
                ref = res.provider_ref
                if (ref.local_name if ref else m.provider_type_for(res)) == node.local_name:
                    return res.range
        return None

    def configure_provider(self, node: ProviderNode, config: dict[str, Any], subject: Any) -> None:
        """Plan and apply configure the provider; validate only checks its configuration."""
        if self.add_diags(self.providers.configure(str(node), node.type, config, subject)):
            raise NodeFailed(str(node))

    # -- conditions ------------------------------------------------------------------------------

    def check_condition(
        self, check: Any, mi: ModuleInstance, extra: dict[str, Value], kind: str
    ) -> bool:
        travs = expr_traversals(check.condition)
        if check.error_message is not None:
            travs.extend(expr_traversals(check.error_message))
        ctx = self.evals.scope(mi, travs, extra)
        result, diags = evaluate(check.condition, ctx)
        if self.add_diags(self.located(diags, mi, travs)):
            return False
        if not result.is_known:
            return True
        r = result.unmark()
        if r.is_null or not isinstance(r.v, bool):
            self.add_diags(
                [
                    error(
                        f"Invalid {kind} result",
                        "A condition must return true or false.",
                        check.condition.range,
                    )
                ]
            )
            return False
        if r.v:
            return True
        message = "(no error message)"
        if check.error_message is not None:
            m, mdiags = evaluate(check.error_message, ctx)
            if not mdiags and m.is_known and isinstance(m.unmark().v, str):
                message = m.unmark().v
                if m.has_mark_deep("sensitive"):
                    # As Terraform: a message built from a secret is not shown at all.
                    message = "(the error message refers to a sensitive value)"
        what = (
            "Resource precondition failed"
            if kind == "precondition"
            else "Resource postcondition failed"
        )
        self.add_diags([error(what, message, check.condition.range)])
        return False

    # -- resources -------------------------------------------------------------------------------

    def visit_resource(self, node: ResourceNode) -> None:
        raise NotImplementedError

    def resource_config(self, node: ResourceNode) -> tuple[Module, ResourceConfig]:
        module = self.module(node.addr.module)
        return module, module.resources[node.addr.resource]

    def kind_for(self, node: ResourceNode, res: ResourceConfig) -> tuple[KindInfo | None, str]:
        pnode = self.cg.resource_provider[node.addr]
        info, diags = self.providers.kind_info(pnode.type, res.type, res.mode, res.range)
        if diags:
            self.add_diags(diags)
        return info, str(pnode)

    def expand_resource(self, mi: ModuleInstance, res: ResourceConfig) -> Expansion:
        travs = [t for e in (res.count, res.for_each) if e is not None for t in expr_traversals(e)]
        ctx = self.evals.scope(mi, travs)
        diags: list[Diagnostic] = []
        exp = eval_expansion(
            res.count, res.for_each, ctx, diags, self.settings.allow_unknown_expansion
        )
        if self.add_diags(self.located(diags, mi, travs)):
            raise NodeFailed(str(res.addr))
        return exp

    def eval_resource_body(
        self,
        mi: ModuleInstance,
        res: ResourceConfig,
        info: KindInfo | None,
        extra: dict[str, Value],
        provider_type: str,
    ) -> tuple[Value, bool]:
        travs = self._body_travs(res)
        ctx = self.evals.scope(mi, travs, extra)
        schema = info.schema.args if info is not None else None
        value, diags = eval_body(res.body, schema, ctx, res.range, provider_type)
        if diags:
            addr = instance_addr(mi, res, _instance_key(extra))
            diags = self.located(diags, mi, travs, self.instance_address(addr))
        failed = self.add_diags(diags)
        return value, failed

    def _body_travs(self, res: ResourceConfig) -> list[ast.ScopeTraversal]:
        travs = self._travs_cache.get(id(res))
        if travs is None:
            travs = self._travs_cache[id(res)] = body_traversals(res.body)
        return travs


def unexpected_errors(result: dag.WalkResult[Any]) -> list[Diagnostic]:
    """An error diagnostic for each node whose visit raised something other than NodeFailed;
    with MLFORM_LOG=debug the detail holds the traceback."""
    import os
    import traceback

    debug = os.environ.get("MLFORM_LOG", "").lower() in ("debug", "trace")
    out = []
    for node, exc in result.failed.items():
        if isinstance(exc, NodeFailed):
            continue
        detail = (
            "This is a bug in mlform or in a provider. Run again with MLFORM_LOG=debug to see "
            "the traceback, and include it when you report the problem."
        )
        if debug:
            detail = "".join(traceback.format_exception(exc)).rstrip()
        out.append(error(f"Unexpected error in {node}: {type(exc).__name__}: {exc}", detail))
    return out


def internal_error(where: str, exc: BaseException) -> Diagnostic:
    """An unexpected exception while working on `where`, as a diagnostic; the traceback is
    shown with MLFORM_LOG=debug."""
    import os
    import traceback

    detail = f"{type(exc).__name__}: {exc}\n\nThis is a bug in mlform or in the provider. "
    if os.environ.get("MLFORM_LOG", "").lower() in ("debug", "trace"):
        detail += "\n" + "".join(traceback.format_exception(exc))
    else:
        detail += "Run again with MLFORM_LOG=debug to see the traceback, and include it when you report the problem."
    return error(f"Internal error while processing {where}", detail)


def _only_var(module: Module, name: str) -> Module:
    """A view of a module with just one variable, for running that variable's validations."""
    view = Module(dir=module.dir, path=module.path)
    view.variables = {name: module.variables[name]}
    return view


def instance_addr(mi: ModuleInstance, res: ResourceConfig, key: Any) -> AbsResourceInstance:
    return AbsResourceInstance(mi, res.addr, key)


def _instance_key(extra: dict[str, Value]) -> Any:
    """The instance key that `Expansion.expansion_extra` put in scope (count.index, each.key)."""
    for name, attr in (("count", "index"), ("each", "key")):
        obj = extra.get(name)
        if obj is not None:
            try:
                key = obj.v[attr].v
            except (AttributeError, KeyError, TypeError):
                return None
            return int(key) if name == "count" else key
    return None


def _var_name(t: ast.ScopeTraversal) -> str | None:
    """`X` for a reference to `var.X`."""
    if t.root == "var" and t.steps and isinstance(t.steps[0], ast.AttrStep):
        return t.steps[0].name
    return None


def _within(inner: Range, outer: Range) -> bool:
    return (
        inner.filename == outer.filename
        and outer.start.byte <= inner.start.byte
        and inner.end.byte <= outer.end.byte
    )
