"""The configuration model: what a module's files declare, typed, unevaluated, with source ranges.

`mlform.config.decode` builds it from parsed files; the engine evaluates it. Expressions stay
expressions here: nothing is evaluated until the engine knows the values they refer to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mlform.addrs import ModulePath, Resource

if TYPE_CHECKING:
    from mlform.config.syntax import Block, Body, File
    from mlform.diagnostics import Range
    from mlform.lang.ast import Expr, ScopeTraversal
    from mlform.lang.types import Type

# The portable ML kinds: the same block runs on any provider that implements it.
PORTABLE_KINDS = ("dataset", "environment", "cluster", "training_job", "deployment")
DEFAULT_PROVIDER = "local"


@dataclass(slots=True, eq=False)
class Check:
    """A `validation`, `precondition` or `postcondition` block."""

    condition: Expr
    error_message: Expr | None
    range: Range


@dataclass(slots=True, eq=False)
class Variable:
    name: str
    type: Type
    default: Expr | None
    description: str
    sensitive: bool
    nullable: bool
    validations: list[Check]
    range: Range
    # Whether a `type` argument was given; without one the default's own type is kept.
    type_given: bool = False

    @property
    def required(self) -> bool:
        return self.default is None


@dataclass(slots=True, eq=False)
class Local:
    name: str
    expr: Expr
    range: Range


@dataclass(slots=True, eq=False)
class Output:
    name: str
    expr: Expr
    description: str
    sensitive: bool
    depends_on: list[ScopeTraversal]
    preconditions: list[Check]
    range: Range


@dataclass(slots=True, eq=False)
class ProviderRef:
    """`provider = aws.east` in a resource, or one entry of a module call's `providers`."""

    type: str
    alias: str | None
    range: Range

    @property
    def local_name(self) -> str:
        return self.type + (f".{self.alias}" if self.alias else "")


@dataclass(slots=True, eq=False)
class Lifecycle:
    create_before_destroy: bool = False
    prevent_destroy: bool = False
    # Attribute paths (each a list of names/keys), or None for `ignore_changes = all`.
    ignore_changes: list[list[str | int]] | None = field(default_factory=list)
    ignore_all: bool = False
    replace_triggered_by: list[Expr] = field(default_factory=list)
    preconditions: list[Check] = field(default_factory=list)
    postconditions: list[Check] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class ResourceConfig:
    mode: str  # "managed" | "data"
    type: str
    name: str
    # The block's body with meta-arguments (count, for_each, depends_on, provider, lifecycle)
    # taken out: what the provider's schema decodes.
    body: Body
    count: Expr | None
    for_each: Expr | None
    depends_on: list[ScopeTraversal]
    provider_ref: ProviderRef | None
    lifecycle: Lifecycle
    range: Range  # the block header
    block: Block

    @property
    def addr(self) -> Resource:
        return Resource("data" if self.mode == "data" else "managed", self.type, self.name)

    @property
    def is_portable(self) -> bool:
        return self.type in PORTABLE_KINDS


@dataclass(slots=True, eq=False)
class ModuleCall:
    name: str
    source: str
    source_range: Range
    version: str | None
    # The module's input variables as attributes; meta-arguments removed.
    body: Body
    count: Expr | None
    for_each: Expr | None
    depends_on: list[ScopeTraversal]
    providers: dict[str, ProviderRef]  # child's local name -> parent's provider
    range: Range


@dataclass(slots=True, eq=False)
class ProviderBlock:
    type: str
    alias: str | None
    body: Body
    range: Range

    @property
    def local_name(self) -> str:
        return self.type + (f".{self.alias}" if self.alias else "")


@dataclass(slots=True, eq=False)
class ProviderRequirement:
    name: str
    source: str
    version: str | None
    range: Range


@dataclass(slots=True, eq=False)
class BackendConfig:
    type: str
    body: Body
    range: Range


@dataclass(slots=True, eq=False)
class Settings:
    """The `mlform { ... }` block (a `terraform { ... }` block in `.tf` files is read the same)."""

    required_version: str | None = None
    required_version_range: Range | None = None
    required_providers: dict[str, ProviderRequirement] = field(default_factory=dict)
    backend: BackendConfig | None = None
    default_provider: str | None = None
    # The `encryption` block as written (checked when decoded; mlform.state.encryption reads it).
    encryption: Block | None = None
    # The `guardrails` block as written (checked when decoded; mlform.engine.guardrails reads it).
    guardrails: Block | None = None


@dataclass(slots=True, eq=False)
class Moved:
    from_: ScopeTraversal
    to: ScopeTraversal
    range: Range


@dataclass(slots=True, eq=False)
class Removed:
    """A `removed` block: the object at `from_` leaves the configuration; `destroy = false` in
    its lifecycle forgets it (the state lets go, the object stays) instead of destroying it."""

    from_: ScopeTraversal
    destroy: bool
    range: Range


@dataclass(slots=True, eq=False)
class Import:
    """An `import` block: adopt the existing object `id` at the address `to`."""

    to: ScopeTraversal
    id: Expr
    provider_ref: ProviderRef | None
    range: Range


@dataclass(slots=True, eq=False)
class CheckBlock:
    """A `check` block: assertions that warn (never stop a run) when they fail, with at most
    one data source of its own, read only for them (`mlform.engine.checks`)."""

    name: str
    data: list[ResourceConfig]
    asserts: list[Check]
    range: Range


@dataclass(eq=False)
class Module:
    """One module: the files of one folder, decoded, with its child modules loaded."""

    dir: Path
    path: ModulePath
    files: list[File] = field(default_factory=list)
    settings: Settings = field(default_factory=Settings)
    variables: dict[str, Variable] = field(default_factory=dict)
    locals: dict[str, Local] = field(default_factory=dict)
    outputs: dict[str, Output] = field(default_factory=dict)
    resources: dict[Resource, ResourceConfig] = field(default_factory=dict)
    module_calls: dict[str, ModuleCall] = field(default_factory=dict)
    providers: dict[str, ProviderBlock] = field(default_factory=dict)  # by local name
    moved: list[Moved] = field(default_factory=list)
    removed: list[Removed] = field(default_factory=list)
    imports: list[Import] = field(default_factory=list)
    checks: dict[str, CheckBlock] = field(default_factory=dict)
    children: dict[str, Module] = field(default_factory=dict)

    def walk(self) -> list[Module]:
        """This module and all its descendants, parents first."""
        out = [self]
        for child in self.children.values():
            out.extend(child.walk())
        return out

    def provider_type_for(self, res: ResourceConfig) -> str:
        """The provider type a resource belongs to: its `provider` argument, else the portable
        kinds' default provider, else the resource type's prefix (`aws_s3_bucket` -> `aws`)."""
        if res.provider_ref is not None:
            return res.provider_ref.type
        if res.is_portable:
            return self.default_provider()
        return res.type.split("_", 1)[0]

    def default_provider(self) -> str:
        if self.settings.default_provider:
            return self.settings.default_provider
        configured = {p.type for p in self.providers.values()}
        portable_capable = configured - {"test"}
        if len(portable_capable) == 1:
            return next(iter(portable_capable))
        return DEFAULT_PROVIDER
