"""`check` blocks: assertions about the infrastructure as a whole that warn and never stop a run.

    check "endpoint_up" {
      data "test_data" "probe" { input = deployment.api.endpoint }   # at most one, scoped
      assert {
        condition     = data.test_data.probe.output != ""
        error_message = "The endpoint is not up."
      }
    }

As Terraform's (1.5+): a check block may refer to anything in its module; its data source, if
it has one, is visible to the check alone. Checks are evaluated at the end of plan and again at
the end of apply, after everything they depend on. A failing assertion is a warning ("Check
block assertion failed"), and so is a failure to read the scoped data source; neither stops the
run nor changes its exit status. An assertion whose value is not known while planning makes the
check "known after apply": nothing is said then, and it is decided after apply. The results go
to the JSON plan as Terraform's `checks` array (status pass, fail, unknown or error).

Pieces, in the order a run meets them: `mlform.config.checks.decode_check` (the block's shape),
`add_to_graph` (the scoped data sources' provider configurations and the references checked,
a graph builder step), `validate_checks` (`mlform validate`), `evaluate_checks` (plan and
apply) and `CheckOutcome.to_json` (the JSON plan).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from mlform.addrs import AbsResourceInstance, ConfigResource, ModuleInstance, ModulePath, Resource
from mlform.config.model import Check, CheckBlock, Module, ResourceConfig
from mlform.diagnostics import Diagnostic, Severity, error, suggestion, warning
from mlform.engine.refs import body_traversals, classify, expr_traversals
from mlform.lang import ast
from mlform.lang import values as V
from mlform.lang.values import Value

if TYPE_CHECKING:
    from mlform.engine.graph import GraphBuilder
    from mlform.engine.planner import ResourceWalker
    from mlform.engine.validate import ValidateWalker

__all__ = [
    "CheckOutcome",
    "CheckResult",
    "InstanceResult",
    "add_to_graph",
    "check_address",
    "evaluate_checks",
    "validate_checks",
]

PASS, FAIL, UNKNOWN, ERROR = "pass", "fail", "unknown", "error"
# When the instances of a check differ, the worst status is the check's.
_WORST_FIRST = (ERROR, FAIL, UNKNOWN, PASS)


def check_address(mi: ModuleInstance | ModulePath, name: str) -> str:
    """`check.NAME`, `module.m.check.NAME`, `module.m["a"].check.NAME`."""
    prefix = "" if mi.is_root else f"{mi}."
    return f"{prefix}check.{name}"


# -- the graph builder's step -----------------------------------------------------------------------


def add_to_graph(builder: GraphBuilder) -> None:
    """Each scoped data source's provider configuration, added to the graph (so that plan and
    apply configure it) and recorded in `resource_provider`; every reference of a check block
    checked, its own data source visible to it alone. Check blocks are not nodes: they are
    evaluated once the walk is over, when everything they may refer to is done."""
    for path, m in builder.modules.items():
        seen: dict[Resource, ResourceConfig] = dict(m.resources)
        for chk in m.checks.values():
            for res in chk.data:
                if res.addr in seen:
                    prev = seen[res.addr].range
                    builder.diags.append(
                        error(
                            f'Duplicate data "{res.type}" configuration',
                            f'A data resource named "{res.name}" of type "{res.type}" was already '
                            f"declared at {prev.filename}:{prev.start.line},{prev.start.column}. "
                            "A check block's data source shares its module's names; rename one.",
                            res.range,
                        )
                    )
                    continue
                seen[res.addr] = res
                ptype = builder.provider_type(m, res)
                alias = res.provider_ref.alias if res.provider_ref else None
                node = builder.find_provider(path, ptype + (f".{alias}" if alias else ""), res)
                builder.graph.add_node(node)
                builder.cg.resource_provider[ConfigResource(path, res.addr)] = node
            _check_references(chk, m, builder.diags)


def _check_references(chk: CheckBlock, m: Module, diags: list[Diagnostic]) -> None:
    scoped = {r.addr for r in chk.data}
    travs: list[ast.ScopeTraversal] = []
    for res in chk.data:
        travs.extend(body_traversals(res.body))
        travs.extend(res.depends_on)
    for a in chk.asserts:
        travs.extend(expr_traversals(a.condition))
        if a.error_message is not None:
            travs.extend(expr_traversals(a.error_message))
    for t in travs:
        first = t.steps[0].name if t.steps and isinstance(t.steps[0], ast.AttrStep) else None
        if t.root in ("count", "each", "self"):
            diags.append(
                error(
                    f'Reference to "{t.root}" in a check block',
                    f'"{t.root}" has no meaning in a check block, which is evaluated once per '
                    "instance of its module.",
                    t.range,
                )
            )
            continue
        if t.root == "data" and first is not None and len(t.steps) > 1:
            step = t.steps[1]
            if isinstance(step, ast.AttrStep):
                res = Resource("data", first, step.name)
                if res in scoped:
                    continue
                if res not in m.resources:
                    names = [
                        f"data.{r.type}.{r.name}"
                        for r in (*m.resources, *scoped)
                        if r.mode == "data"
                    ]
                    diags.append(
                        error(
                            "Reference to undeclared resource",
                            f'A data resource "{first}" "{step.name}" has not been declared in '
                            f'check "{chk.name}" or in its module.'
                            + suggestion(f"data.{first}.{step.name}", names),
                            t.range,
                        )
                    )
                    continue
        classify(t, m, diags)


def scoped_check_of(module: Module, res: Resource) -> str | None:
    """The name of the check block that declares data source `res`, if one does."""
    for chk in module.checks.values():
        if any(r.addr == res for r in chk.data):
            return chk.name
    return None


# -- validate ---------------------------------------------------------------------------------------


def validate_checks(walker: ValidateWalker) -> None:
    """`mlform validate`: each check's data source against its kind's schema, and its
    assertions evaluated with unknown values (an attribute that does not exist is an error
    here as in plan)."""
    from mlform.engine.body import eval_body
    from mlform.engine.scope import Expansion
    from mlform.lang.eval import evaluate
    from mlform.lang.types import DYNAMIC, Type

    for path, m in walker.cg.modules.items():
        if not m.checks:
            continue
        for mi in walker.instances(path)[:1]:  # validate checks modules, not instances
            for chk in m.checks.values():
                for res in chk.data:
                    pnode = walker.cg.resource_provider.get(ConfigResource(path, res.addr))
                    if pnode is None:
                        continue
                    schema = None
                    itype: Type = DYNAMIC
                    providers = walker.providers
                    if providers is not None and providers.installed(pnode.type):
                        kind, kdiags = providers.kind_schema(
                            pnode.type, res.type, "data", res.range
                        )
                        walker.add_diags(kdiags)
                        if kind is not None:
                            schema = kind.args
                            itype = walker._instance_type(kind, None)
                    ctx = walker.evals.scope(mi, body_traversals(res.body))
                    _, bdiags = eval_body(res.body, schema, ctx, res.range, pnode.type)
                    walker.add_diags(bdiags)
                    walker.evals.expose_resource(
                        mi, res.addr, Expansion.single(), {None: V.unknown(itype)}
                    )
                for a in chk.asserts:
                    for expr in (a.condition, a.error_message):
                        if expr is None:
                            continue
                        ctx = walker.evals.scope(mi, expr_traversals(expr))
                        _, ediags = evaluate(expr, ctx)
                        walker.add_diags(ediags)


# -- plan and apply ---------------------------------------------------------------------------------


@dataclass
class InstanceResult:
    """One check in one instance of its module."""

    module: ModuleInstance
    name: str
    status: str
    problems: list[str] = field(default_factory=list)

    @property
    def address(self) -> str:
        return check_address(self.module, self.name)


@dataclass
class CheckResult:
    """One check block, over every instance of its module."""

    path: ModulePath
    name: str
    instances: list[InstanceResult]
    # The instances were not known (a module whose count or for_each is not known yet).
    expansion_unknown: bool = False

    @property
    def status(self) -> str:
        if self.expansion_unknown:
            return UNKNOWN
        found = {i.status for i in self.instances}
        return next((s for s in _WORST_FIRST if s in found), PASS)


@dataclass
class CheckOutcome:
    results: list[CheckResult] = field(default_factory=list)
    diags: list[Diagnostic] = field(default_factory=list)

    def to_json(self) -> list[dict[str, Any]]:
        """Terraform's `checks` array of a JSON plan."""
        out = []
        for r in self.results:
            addr: dict[str, Any] = {"kind": "check"}
            if not r.path.is_root:
                addr["module"] = str(r.path)
            addr["name"] = r.name
            addr["to_display"] = check_address(r.path, r.name)
            entry: dict[str, Any] = {"address": addr, "status": r.status}
            instances = []
            for i in r.instances:
                iaddr: dict[str, Any] = {}
                if not i.module.is_root:
                    iaddr["module"] = str(i.module)
                iaddr["to_display"] = i.address
                inst: dict[str, Any] = {"address": iaddr, "status": i.status}
                if i.problems:
                    inst["problems"] = [{"message": p} for p in i.problems]
                instances.append(inst)
            if instances:
                entry["instances"] = instances
            out.append(entry)
        return out


def evaluate_checks(walker: ResourceWalker) -> CheckOutcome:
    """Every check block of the configuration, in each instance of its module, once the walk
    of plan (a `Planner`) or of apply (an `Applier`) is over, before its providers close."""
    outcome = CheckOutcome()
    if walker.options.mode == "destroy" or walker.cancel.is_set():
        return outcome
    for path in sorted(walker.cg.modules, key=lambda p: p.names):
        m = walker.cg.modules[path]
        for name in sorted(m.checks):
            chk = m.checks[name]
            result = CheckResult(path, name, [])
            result.expansion_unknown = _expansion_unknown(walker, path)
            for mi in sorted(walker.instances(path), key=lambda i: i.sort_key()):
                try:
                    found = _evaluate_one(walker, m, chk, mi, outcome.diags)
                except Exception as exc:  # noqa: BLE001 - a bug (ours or a provider's) is reported
                    from mlform.engine.walk import internal_error

                    where = check_address(mi, name)
                    outcome.diags.append(_demoted(internal_error(where, exc)))
                    found = InstanceResult(mi, name, ERROR, [f"Internal error: {exc}"])
                result.instances.append(found)
            outcome.results.append(result)
    return outcome


def _expansion_unknown(walker: ResourceWalker, path: ModulePath) -> bool:
    """Whether some module call on the way to `path` has a count or for_each not known yet."""
    for depth in range(len(path.names)):
        parent = ModulePath(path.names[:depth])
        for pi in walker.instances(parent):
            exp = walker.evals.module_values(pi).calls.get(path.names[depth])
            if exp is not None and exp.mode == "unknown":
                return True
    return False


def _evaluate_one(
    walker: ResourceWalker,
    m: Module,
    chk: CheckBlock,
    mi: ModuleInstance,
    diags: list[Diagnostic],
) -> InstanceResult:
    from mlform.lang.eval import evaluate

    result = InstanceResult(mi, chk.name, PASS)
    statuses: set[str] = set()
    address = None if mi.is_root else check_address(mi, chk.name)
    for res in chk.data:
        statuses.add(_read_scoped(walker, m, res, mi, address, diags, result.problems))
    for a in chk.asserts:
        travs = expr_traversals(a.condition)
        if a.error_message is not None:
            travs.extend(expr_traversals(a.error_message))
        ctx = walker.evals.scope(mi, travs)
        value, cdiags = evaluate(a.condition, ctx)
        if any(d.is_error for d in cdiags):
            diags.extend(_at(d, address) for d in cdiags)
            statuses.add(ERROR)
            continue
        if not value.is_known:
            statuses.add(UNKNOWN)  # known after apply: nothing is said yet
            continue
        plain = value.unmark()
        if plain.is_null or not isinstance(plain.v, bool):
            diags.append(
                _at(
                    error(
                        "Invalid check block assertion result",
                        "An assertion's condition must be true or false; this one is "
                        f"{'null' if plain.is_null else 'of type ' + plain.type.friendly()}.",
                        a.condition.range,
                    ),
                    address,
                )
            )
            statuses.add(ERROR)
            continue
        if plain.v:
            continue
        message = _message(a, ctx)
        result.problems.append(message)
        statuses.add(FAIL)
        diags.append(
            _at(warning("Check block assertion failed", message, a.condition.range), address)
        )
    result.status = next((s for s in _WORST_FIRST if s in statuses), PASS)
    return result


def _message(a: Check, ctx: Any) -> str:
    from mlform.lang.eval import evaluate

    if a.error_message is None:
        return "(no error message)"
    m, mdiags = evaluate(a.error_message, ctx)
    if mdiags or not m.is_known or not isinstance(m.unmark().v, str):
        return "(the error message could not be evaluated)"
    if m.has_mark_deep("sensitive"):
        # As Terraform: a message built from a secret is not shown at all.
        return "(the error message refers to a sensitive value)"
    return str(m.unmark().v)


def _read_scoped(
    walker: ResourceWalker,
    m: Module,
    res: ResourceConfig,
    mi: ModuleInstance,
    address: str | None,
    diags: list[Diagnostic],
    problems: list[str],
) -> str:
    """Read a check's data source in module instance `mi` and make its value what the check's
    expressions see (unknown when it cannot be read now). Its problems are warnings. The
    status it gives the check: pass (read), unknown (its arguments or provider are not known
    yet) or error (reported, and its summary added to `problems`)."""
    from mlform.engine.body import eval_body
    from mlform.engine.bridge import data_has_unknown, sensitive_paths, value_to_data
    from mlform.engine.retry import call_with_retries
    from mlform.engine.scope import Expansion
    from mlform.sdk import ProviderError

    addr = AbsResourceInstance(mi, res.addr, None)

    def expose(value: Value) -> None:
        walker.evals.expose_resource(mi, res.addr, Expansion.single(), {None: value})

    def problem(summary: str, detail: str, found: list[Diagnostic] | None = None) -> str:
        items = found if found is not None else [error(summary, detail, res.range)]
        diags.extend(_at(_demoted(d), address) for d in items)
        problems.extend(d.summary for d in items if d.is_error)
        expose(V.DYNAMIC_UNKNOWN)
        return ERROR

    pkey_node = walker.cg.resource_provider.get(ConfigResource(mi.module(), res.addr))
    if pkey_node is None:
        return problem(f"No provider for {addr}", "Its provider configuration was not found.")
    pkey = str(pkey_node)
    info, kdiags = walker.providers.kind_info(pkey_node.type, res.type, "data", res.range)
    if info is None:
        return problem("", "", kdiags)
    from mlform.sdk.schema import instance_type

    unknown = V.unknown(instance_type(info.kind_cls))
    travs = body_traversals(res.body)
    value, bdiags = eval_body(
        res.body, info.schema.args, walker.evals.scope(mi, travs), res.range, info.provider_type
    )
    if any(d.is_error for d in bdiags):
        return problem("", "", bdiags)
    desired = value_to_data(value)
    provider = walker.providers.instance(pkey)
    if data_has_unknown(desired) or (provider is None and pkey in walker.deferred):
        expose(unknown)  # read after apply, once its arguments are known
        return UNKNOWN
    if provider is None:
        return problem(
            f"Failed to read {addr}: provider {pkey} is not configured",
            "Its provider configuration could not be configured (see the errors above).",
        )
    kind = provider.kind(res.type)
    ctx = walker.make_ctx(addr, m.dir)
    try:
        read = call_with_retries(lambda: kind.read_data(desired, ctx), walker.cancel, kind.provider)
    except ProviderError as exc:
        return problem(f"Failed to read {addr}: {exc.summary}", exc.detail)
    expose(walker.data_value({**desired, **read}, sensitive_paths(value), info))
    return PASS


def _demoted(d: Diagnostic) -> Diagnostic:
    """A check's data source failing is a warning, never an error: checks never stop a run."""
    return replace(d, severity=Severity.WARNING) if d.is_error else d


def _at(d: Diagnostic, address: str | None) -> Diagnostic:
    """Name the check's instance when its line alone does not say which (inside a module)."""
    if address is None or d.address is not None or d.subject is None:
        return d
    return replace(d, address=address)
