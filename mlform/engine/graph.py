"""The configuration's dependency graph: which declarations must be evaluated before which.

Nodes are declarations in the configuration tree (not yet instances: `count` and `for_each` are
expanded when a node is visited). The builder is a list of steps, each adding one kind of
node or edge; the walker in `mlform.dag` knows nothing of what the nodes mean.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mlform.addrs import ConfigResource, ModulePath, Resource
from mlform.config.model import Module, ResourceConfig
from mlform.dag import Graph
from mlform.diagnostics import Diagnostic, error
from mlform.engine.refs import Ref, body_traversals, expr_traversals, refs_of_traversals
from mlform.lang import ast


def _prefix(module: ModulePath) -> str:
    return f"{module}." if module.names else ""


# Nodes are hashed again and again by the graph's dictionaries (every edge, every pass that looks
# for cycles), and a dataclass's hash rebuilds a tuple of its fields, which hash their own fields
# in turn. Each node therefore computes its hash once, when it is made.


@dataclass(frozen=True, slots=True)
class VarNode:
    module: ModulePath
    name: str
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash(("var", self.module, self.name)))

    def __hash__(self) -> int:
        return self._hash

    def __str__(self) -> str:
        return f"{_prefix(self.module)}var.{self.name}"


@dataclass(frozen=True, slots=True)
class LocalNode:
    module: ModulePath
    name: str
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash(("local", self.module, self.name)))

    def __hash__(self) -> int:
        return self._hash

    def __str__(self) -> str:
        return f"{_prefix(self.module)}local.{self.name}"


@dataclass(frozen=True, slots=True)
class OutputNode:
    module: ModulePath
    name: str
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash(("output", self.module, self.name)))

    def __hash__(self) -> int:
        return self._hash

    def __str__(self) -> str:
        return f"{_prefix(self.module)}output.{self.name}"


@dataclass(frozen=True, slots=True)
class ExpandNode:
    """A module call: evaluates its count/for_each in every instance of the calling module."""

    module: ModulePath  # the called module's path
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash(("expand", self.module)))

    def __hash__(self) -> int:
        return self._hash

    def __str__(self) -> str:
        return f"{self.module} (expand)"


@dataclass(frozen=True, slots=True)
class ResourceNode:
    addr: ConfigResource
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash(("resource", self.addr)))

    def __hash__(self) -> int:
        return self._hash

    def __str__(self) -> str:
        return str(self.addr)


@dataclass(frozen=True, slots=True)
class ProviderNode:
    module: ModulePath  # where the configuration is declared (root when implied)
    local_name: str  # "local", "aws.east"
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash(("provider", self.module, self.local_name)))

    def __hash__(self) -> int:
        return self._hash

    def __str__(self) -> str:
        type_, _, alias = self.local_name.partition(".")
        base = f'provider["{type_}"]' + (f".{alias}" if alias else "")
        return f"{_prefix(self.module)}{base}"

    @property
    def type(self) -> str:
        return self.local_name.partition(".")[0]

    @property
    def alias(self) -> str | None:
        return self.local_name.partition(".")[2] or None


Node = VarNode | LocalNode | OutputNode | ExpandNode | ResourceNode | ProviderNode


@dataclass
class ConfigGraph:
    graph: Graph[Node]
    modules: dict[ModulePath, Module]
    # Which provider configuration each resource uses.
    resource_provider: dict[ConfigResource, ProviderNode] = field(default_factory=dict)
    # Resources' references resolved, for recording `dependencies` in state.
    resource_deps: dict[ConfigResource, set[ConfigResource]] = field(default_factory=dict)
    # The nearest resources upstream of each resource, also those reached through locals,
    # variables, module outputs and module expansions: what the state records as its
    # `dependencies` (delete order, lineage), as Terraform does.
    resource_deps_all: dict[ConfigResource, set[ConfigResource]] = field(default_factory=dict)
    # The cycles found while building (each reported as a diagnostic).
    cycles: list[list[Node]] = field(default_factory=list)


class GraphBuilder:
    def __init__(self, root: Module):
        self.root = root
        self.modules = {m.path: m for m in root.walk()}
        self.graph: Graph[Node] = Graph()
        self.diags: list[Diagnostic] = []
        self.cg = ConfigGraph(self.graph, self.modules)

    def build(self) -> tuple[ConfigGraph, list[Diagnostic]]:
        # 1. A node for every declaration, so that edges can point at any of them.
        self.add_declarations()
        # 2. Provider configurations each resource uses (inheritance through module calls).
        self.resolve_providers()
        # 2b. Check blocks are no nodes (they are evaluated after the walk), but their data
        # sources' provider configurations are, and their references are checked here.
        from mlform.engine.checks import add_to_graph

        add_to_graph(self)
        # 3. Edges from every expression's references.
        for module in self.modules.values():
            self.add_module_edges(module)
        # 4. Everything inside a called module waits for that call's expansion.
        self.add_expansion_edges()
        self.attach_dependencies()
        # 5. Cycles are reported with their path; the graph cannot be walked with one.
        self.cg.cycles = self.graph.find_cycles()
        for cycle in self.cg.cycles:
            closed = cycle if len(cycle) > 1 and cycle[0] == cycle[-1] else [*cycle, cycle[0]]
            path = " → ".join(str(n) for n in closed)
            self.diags.append(
                error(
                    "Cycle in the configuration",
                    f"These declarations refer to each other in a loop, so none can be evaluated first: {path}. "
                    "Break the loop by removing one of the references.",
                    _node_range(self.modules, cycle[0]),
                )
            )
        return self.cg, self.diags

    def attach_dependencies(self) -> None:
        """Fill `resource_deps_all`: walk upstream from each resource through every node that
        is not a resource (nor a provider configuration), stopping at the resources found."""
        memo: dict[Node, frozenset[ConfigResource]] = {}

        def through(node: Node) -> list[Node]:
            return [
                d
                for d in self.graph.dependencies(node)
                if not isinstance(d, ResourceNode | ProviderNode)
            ]

        def direct(node: Node) -> set[ConfigResource]:
            return {d.addr for d in self.graph.dependencies(node) if isinstance(d, ResourceNode)}

        def upstream(start: Node) -> frozenset[ConfigResource]:
            # Iterative post-order: long chains of locals must not exhaust the call stack.
            stack: list[tuple[Node, bool]] = [(start, False)]
            while stack:
                node, expanded = stack.pop()
                if expanded:
                    found = direct(node)
                    for d in through(node):
                        found |= memo.get(d, frozenset())
                    memo[node] = frozenset(found)
                elif node not in memo:
                    memo[node] = frozenset()  # placeholder: a cycle (reported elsewhere) ends here
                    stack.append((node, True))
                    stack.extend((d, False) for d in through(node) if d not in memo)
            return memo[start]

        for caddr in self.cg.resource_deps:
            node = ResourceNode(caddr)
            found = direct(node)
            for d in through(node):
                found |= upstream(d)
            found.discard(caddr)
            self.cg.resource_deps_all[caddr] = found

    def add_declarations(self) -> None:
        g = self.graph
        for path, m in self.modules.items():
            for name in m.variables:
                g.add_node(VarNode(path, name))
            for name in m.locals:
                g.add_node(LocalNode(path, name))
            for name in m.outputs:
                g.add_node(OutputNode(path, name))
            for res in m.resources:
                g.add_node(ResourceNode(ConfigResource(path, res)))
            for name in m.module_calls:
                if path.child(name) in self.modules:
                    g.add_node(ExpandNode(path.child(name)))
            for local_name in m.providers:
                g.add_node(ProviderNode(path, local_name))

    def resolve_providers(self) -> None:
        for path, m in self.modules.items():
            for res_addr, res in m.resources.items():
                ptype = self.provider_type(m, res)
                alias = res.provider_ref.alias if res.provider_ref else None
                local_name = ptype + (f".{alias}" if alias else "")
                node = self.find_provider(path, local_name, res)
                self.graph.add_node(node)
                caddr = ConfigResource(path, res_addr)
                self.cg.resource_provider[caddr] = node
                self.graph.add_edge(ResourceNode(caddr), node)

    def provider_type(self, module: Module, res: ResourceConfig) -> str:
        if res.provider_ref is not None:
            return res.provider_ref.type
        if res.is_portable:
            # A child module inherits the root's default provider unless it sets its own.
            m: Module | None = module
            path = module.path
            while m is not None:
                if m.settings.default_provider:
                    return m.settings.default_provider
                if path.is_root:
                    break
                path = ModulePath(path.names[:-1])
                m = self.modules.get(path)
            return self.root.default_provider()
        return res.type.split("_", 1)[0]

    def find_provider(self, path: ModulePath, local_name: str, res: ResourceConfig) -> ProviderNode:
        current = path
        name = local_name
        while True:
            m = self.modules[current]
            if name in m.providers:
                return ProviderNode(current, name)
            if current.is_root:
                if "." in name:
                    self.diags.append(
                        error(
                            "Provider configuration not present",
                            f'The resource refers to provider "{name}", but no provider block with that alias is declared. '
                            f'Add provider "{name.partition(".")[0]}" {{ alias = "{name.partition(".")[2]}" }}.',
                            res.provider_ref.range if res.provider_ref else res.range,
                        )
                    )
                return ProviderNode(current, name)
            parent = ModulePath(current.names[:-1])
            call = self.modules[parent].module_calls[current.names[-1]]
            if name in call.providers:
                name = call.providers[name].local_name
            elif "." in name:
                self.diags.append(
                    error(
                        "Provider configuration not passed",
                        f'The module uses provider "{name}", an aliased configuration, which must be passed in the module call\'s providers argument.',
                        call.range,
                    )
                )
                return ProviderNode(ModulePath(), name)
            current = parent

    def ref_nodes(self, path: ModulePath, ref: Ref) -> list[Node]:
        if ref.kind == "var":
            return [VarNode(path, ref.name)]
        if ref.kind == "local":
            return [LocalNode(path, ref.name)]
        if ref.kind == "resource":
            assert ref.resource is not None
            return [ResourceNode(ConfigResource(path, ref.resource))]
        if ref.kind == "module":
            child_path = path.child(ref.name)
            child = self.modules.get(child_path)
            if child is None:
                return []
            nodes: list[Node] = [ExpandNode(child_path)]
            if ref.output is not None:
                nodes.append(OutputNode(child_path, ref.output))
            else:
                nodes.extend(OutputNode(child_path, o) for o in child.outputs)
            return nodes
        return []

    def depends_on_nodes(
        self, path: ModulePath, travs: list[ast.ScopeTraversal], module: Module
    ) -> list[Node]:
        out: list[Node] = []
        for ref, _t in refs_of_traversals(travs, module, self.diags):
            if ref.kind == "module":
                child_path = path.child(ref.name)
                for m in self.modules.values():
                    if m.path.names[: len(child_path.names)] == child_path.names:
                        out.extend(ResourceNode(ConfigResource(m.path, r)) for r in m.resources)
                        out.extend(OutputNode(m.path, o) for o in m.outputs)
                out.append(ExpandNode(child_path)) if child_path in self.modules else None
            elif ref.kind in ("resource",):
                out.extend(self.ref_nodes(path, ref))
            else:
                self.diags.append(
                    error(
                        "Invalid depends_on reference",
                        "depends_on may only name resources, data sources and modules.",
                        _t.range,
                    )
                )
        return out

    def edges_from(
        self,
        node: Node,
        module: Module,
        travs: list[ast.ScopeTraversal],
        self_res: Resource | None = None,
    ) -> set[ConfigResource]:
        path = module.path
        used: set[ConfigResource] = set()
        for ref, t in refs_of_traversals(travs, module, self.diags):
            if ref.kind == "self" and self_res is None:
                self.diags.append(
                    error(
                        'Invalid "self" reference',
                        '"self" may be used only in a resource\'s postconditions.',
                        t.range,
                    )
                )
                continue
            for dep in self.ref_nodes(path, ref):
                if dep == node:
                    if isinstance(node, ResourceNode):
                        self.diags.append(
                            error(
                                "Self-referential block",
                                f"Configuration for {node} may not refer to itself.",
                                t.range,
                            )
                        )
                    else:
                        self.diags.append(
                            error(
                                "Self-referencing declaration", f"{node} refers to itself.", t.range
                            )
                        )
                    continue
                self.graph.add_edge(node, dep)
                if isinstance(dep, ResourceNode):
                    used.add(dep.addr)
        return used

    def add_module_edges(self, m: Module) -> None:
        path = m.path
        node: Node
        for name, local in m.locals.items():
            self.edges_from(LocalNode(path, name), m, expr_traversals(local.expr))
        for name, out in m.outputs.items():
            node = OutputNode(path, name)
            travs = expr_traversals(out.expr)
            for c in out.preconditions:
                travs.extend(expr_traversals(c.condition))
                if c.error_message is not None:
                    travs.extend(expr_traversals(c.error_message))
            self.edges_from(node, m, travs)
            for dep in self.depends_on_nodes(path, out.depends_on, m):
                self.graph.add_edge(node, dep)
        for local_name, pb in m.providers.items():
            self.edges_from(ProviderNode(path, local_name), m, body_traversals(pb.body))
        for res_addr, res in m.resources.items():
            caddr = ConfigResource(path, res_addr)
            node = ResourceNode(caddr)
            travs = body_traversals(res.body)
            for e in (res.count, res.for_each):
                if e is not None:
                    travs.extend(expr_traversals(e))
            for e in res.lifecycle.replace_triggered_by:
                travs.extend(expr_traversals(e))
            cond_travs = []
            for c in (*res.lifecycle.preconditions, *res.lifecycle.postconditions):
                cond_travs.extend(expr_traversals(c.condition))
                if c.error_message is not None:
                    cond_travs.extend(expr_traversals(c.error_message))
            used = self.edges_from(node, m, travs)
            used |= self.edges_from(
                node, m, [t for t in cond_travs if t.root != "self"], self_res=res_addr
            )
            for dep in self.depends_on_nodes(path, res.depends_on, m):
                self.graph.add_edge(node, dep)
                if isinstance(dep, ResourceNode):
                    used.add(dep.addr)
            self.cg.resource_deps[caddr] = used
        for call_name, call in m.module_calls.items():
            child_path = path.child(call_name)
            child = self.modules.get(child_path)
            if child is None:
                continue
            expand = ExpandNode(child_path)
            travs = []
            for e in (call.count, call.for_each):
                if e is not None:
                    travs.extend(expr_traversals(e))
            self.edges_from(expand, m, travs)
            for dep in self.depends_on_nodes(path, call.depends_on, m):
                self.graph.add_edge(expand, dep)
            for arg_name, attr in call.body.attributes.items():
                if arg_name not in child.variables:
                    from mlform.diagnostics import suggestion

                    self.diags.append(
                        error(
                            "Unsupported argument",
                            f'An argument named "{arg_name}" is not expected here: module "{call_name}" declares no variable "{arg_name}".'
                            + suggestion(arg_name, child.variables),
                            attr.name_range,
                        )
                    )
                    continue
                self.edges_from(VarNode(child_path, arg_name), m, expr_traversals(attr.expr))
            for var_name, var in child.variables.items():
                if var.required and var_name not in call.body.attributes:
                    self.diags.append(
                        error(
                            "Missing required argument",
                            f'The argument "{var_name}" is required by module "{call_name}" (its variable has no default), but no definition was found.',
                            call.range,
                        )
                    )

    def add_expansion_edges(self) -> None:
        for node in list(self.graph.nodes()):
            path = getattr(node, "module", None)
            if isinstance(node, ResourceNode):
                path = node.addr.module
            if path is None or path.is_root:
                continue
            if isinstance(node, ExpandNode):
                parent = ModulePath(path.names[:-1])
                if not parent.is_root:
                    self.graph.add_edge(node, ExpandNode(parent))
                continue
            self.graph.add_edge(node, ExpandNode(path))


def build_graph(root: Module) -> tuple[ConfigGraph, list[Diagnostic]]:
    return GraphBuilder(root).build()


def _node_range(modules: dict[ModulePath, Module], node: Node):  # type: ignore[no-untyped-def]
    if isinstance(node, ResourceNode):
        m = modules.get(node.addr.module)
        if m and node.addr.resource in m.resources:
            return m.resources[node.addr.resource].range
    if isinstance(node, LocalNode):
        m = modules.get(node.module)
        if m and node.name in m.locals:
            return m.locals[node.name].range
    if isinstance(node, OutputNode):
        m = modules.get(node.module)
        if m and node.name in m.outputs:
            return m.outputs[node.name].range
    if isinstance(node, VarNode):
        m = modules.get(node.module)
        if m and node.name in m.variables:
            return m.variables[node.name].range
    return None
