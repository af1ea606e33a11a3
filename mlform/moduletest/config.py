"""Test files (`*.mlftest.hcl`) as written: runs, variables, providers, mocks and overrides.

The structure mirrors Terraform's `*.tftest.hcl`:

    variables { seed = 7 }                         # for every run of the file
    provider "test" { store = "objects.json" }     # replaces the module's own block
    mock_provider "local" {                        # the local provider, mocked
      mock_resource "training_job" { defaults = { metrics = { acc = 0.9 } } }
    }
    override_resource { target = training_job.a  values = { model = "file:///m" } }
    run "trains" {
      command = apply                              # or plan (default: apply)
      variables { params = { c = 1 } }
      module { source = "./example" }              # another configuration to run
      plan_options { mode = normal  refresh = true  replace = [...]  target = [...] }
      expect_failures = [var.params]
      assert {
        condition     = output.model != ""
        error_message = "No model."
      }
    }

Nothing is evaluated here: expressions stay expressions until the runner knows what they may
refer to (earlier runs' outputs, the run's variables).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mlform.addrs import ModulePath
from mlform.config.decode import Decoder, static_value
from mlform.config.model import Check, Module, ProviderBlock
from mlform.config.syntax import Attribute, Block, Body, File
from mlform.diagnostics import Diagnostic, Range
from mlform.lang import ast

TEST_SUFFIX = ".mlftest.hcl"
TEST_DIR = "tests"

FILE_BLOCKS = (
    "run",
    "variables",
    "provider",
    "mock_provider",
    "override_resource",
    "override_data",
)
RUN_ATTRS = ("command", "expect_failures")
RUN_BLOCKS = (
    "variables",
    "module",
    "assert",
    "plan_options",
    "override_resource",
    "override_data",
)
OVERRIDE_DURING = ("apply", "plan")


@dataclass(slots=True, eq=False)
class Override:
    """`override_resource` / `override_data`: fixed attribute values for one resource or
    instance, whoever provides it; the provider is not called for it."""

    mode: str  # "managed" | "data"
    target: ast.ScopeTraversal
    values: Attribute | None
    override_during: str | None
    range: Range


@dataclass(slots=True, eq=False)
class MockKind:
    """`mock_resource "TYPE"` / `mock_data "TYPE"` in a mock provider."""

    mode: str
    type: str
    defaults: Attribute | None
    override_during: str | None
    range: Range


@dataclass(slots=True, eq=False)
class MockProvider:
    type: str
    alias: str | None
    kinds: list[MockKind]
    overrides: list[Override]
    override_during: str | None
    range: Range

    @property
    def local_name(self) -> str:
        return self.type + (f".{self.alias}" if self.alias else "")


@dataclass(slots=True, eq=False)
class PlanOptions:
    mode: str = "normal"  # "normal" | "refresh-only"
    refresh: bool = True
    replace: list[ast.ScopeTraversal] = field(default_factory=list)
    target: list[ast.ScopeTraversal] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class Run:
    name: str
    command: str  # "apply" | "plan"
    variables: dict[str, Attribute]
    module_source: str | None
    module_range: Range | None
    asserts: list[Check]
    expect_failures: list[ast.ScopeTraversal]
    plan_options: PlanOptions
    overrides: list[Override]
    range: Range


@dataclass(eq=False)
class TestFile:
    path: Path
    display: str  # the name diagnostics and reports use
    variables: dict[str, Attribute] = field(default_factory=dict)
    providers: dict[str, ProviderBlock] = field(default_factory=dict)
    mocks: list[MockProvider] = field(default_factory=list)
    overrides: list[Override] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)


class TestDecoder(Decoder):
    """The configuration decoder's checks (labels, unexpected arguments and blocks with a
    suggestion), applied to the test file's own structure."""

    def __init__(self, test: TestFile):
        super().__init__(Module(dir=test.path.parent, path=ModulePath()))
        self.test = test

    def decode(self, file: File) -> None:
        body = file.body
        for attr in body.attributes.values():
            self.err(
                "Unsupported argument",
                f'An argument named "{attr.name}" is not expected at the top level of a test file. '
                'Arguments belong inside blocks such as run "NAME" or variables.',
                attr.name_range,
            )
        seen_runs: dict[str, Run] = {}
        for block in body.blocks:
            if block.type not in FILE_BLOCKS:
                self.unexpected_block(block, list(FILE_BLOCKS), "in a test file")
                continue
            if block.type == "run":
                run = self.block_run(block)
                if run is None:
                    continue
                if run.name in seen_runs:
                    first = seen_runs[run.name].range
                    self.err(
                        "Duplicate run block",
                        f'A run block named "{run.name}" was already declared at '
                        f"{first.filename}:{first.start.line}. Run blocks must have unique names.",
                        block.def_range,
                    )
                    continue
                seen_runs[run.name] = run
                self.test.runs.append(run)
            elif block.type == "variables":
                if self.check_labels(block, ()):
                    if self.test.variables:
                        self.err(
                            "Duplicate variables block",
                            "A test file takes one file-level variables block.",
                            block.def_range,
                        )
                    self.only(block.body, tuple(block.body.attributes), (), "in a variables block")
                    self.test.variables.update(block.body.attributes)
            elif block.type == "provider":
                self.block_test_provider(block)
            elif block.type == "mock_provider":
                self.block_mock_provider(block)
            else:
                ov = self.block_override(block)
                if ov is not None:
                    self.test.overrides.append(ov)

    # -- blocks --------------------------------------------------------------------------------

    def block_test_provider(self, block: Block) -> None:
        if not self.check_labels(block, ("name",)):
            return
        alias = None
        alias_attr = block.body.attributes.get("alias")
        if alias_attr is not None:
            alias = self.static_string(alias_attr)
        body = Body(
            {k: v for k, v in block.body.attributes.items() if k != "alias"},
            block.body.blocks,
            block.body.range,
            block.body.from_json,
        )
        pb = ProviderBlock(block.labels[0], alias, body, block.def_range)
        if pb.local_name in self.test.providers:
            self.err(
                "Duplicate provider configuration",
                f'A provider "{pb.local_name}" block is already declared in this test file.',
                block.def_range,
            )
            return
        self.test.providers[pb.local_name] = pb

    def block_mock_provider(self, block: Block) -> None:
        if not self.check_labels(block, ("name",)):
            return
        body = block.body
        self.only(
            body,
            ("alias", "override_during", "source"),
            ("mock_resource", "mock_data", "override_resource", "override_data"),
            "in a mock_provider block",
        )
        alias = self.static_string(body.attributes["alias"]) if "alias" in body.attributes else None
        during = self.override_during(body)
        kinds: list[MockKind] = []
        seen: set[tuple[str, str]] = set()
        for b in body.blocks:
            if b.type in ("override_resource", "override_data"):
                continue
            if b.type not in ("mock_resource", "mock_data") or not self.check_labels(b, ("type",)):
                continue
            mode = "data" if b.type == "mock_data" else "managed"
            if (mode, b.labels[0]) in seen:
                self.err(
                    "Duplicate mock block",
                    f'A {b.type} "{b.labels[0]}" block is already declared in this mock provider.',
                    b.def_range,
                )
                continue
            seen.add((mode, b.labels[0]))
            self.only(b.body, ("defaults", "override_during"), (), f"in a {b.type} block")
            kinds.append(
                MockKind(
                    mode,
                    b.labels[0],
                    b.body.attributes.get("defaults"),
                    self.override_during(b.body),
                    b.def_range,
                )
            )
        overrides = [
            ov
            for b in body.blocks
            if b.type in ("override_resource", "override_data")
            for ov in [self.block_override(b)]
            if ov is not None
        ]
        mp = MockProvider(block.labels[0], alias, kinds, overrides, during, block.def_range)
        if any(m.local_name == mp.local_name for m in self.test.mocks):
            self.err(
                "Duplicate mock provider",
                f'A mock_provider "{mp.local_name}" block is already declared in this test file.',
                block.def_range,
            )
            return
        self.test.mocks.append(mp)

    def override_during(self, body: Body) -> str | None:
        attr = body.attributes.get("override_during")
        if attr is None:
            return None
        word = _keyword(attr.expr)
        if word not in OVERRIDE_DURING:
            self.err(
                "Invalid override_during",
                "override_during is apply (computed values are made up when the object is "
                "created, and are unknown in the plan) or plan (they are known in the plan too).",
                attr.expr.range,
            )
            return None
        return word

    def block_override(self, block: Block) -> Override | None:
        if not self.check_labels(block, ()):
            return None
        mode = "data" if block.type == "override_data" else "managed"
        self.only(
            block.body, ("target", "values", "override_during"), (), f"in an {block.type} block"
        )
        target_attr = block.body.attributes.get("target")
        if target_attr is None:
            self.err(
                "Missing required argument",
                f'The argument "target" is required in an {block.type} block: the resource (or '
                'one instance, such as training_job.run["a"]) whose values it fixes.',
                block.def_range,
            )
            return None
        target = target_attr.expr
        if not isinstance(target, ast.ScopeTraversal) or (mode == "data") != (
            target.root == "data"
        ):
            want = "data.TYPE.NAME" if mode == "data" else "TYPE.NAME"
            self.err(
                "Invalid override target",
                f"The target of an {block.type} block is a reference such as {want} (with "
                "module.NAME. in front for a resource inside a module call), without quotes.",
                target.range,
            )
            return None
        return Override(
            mode,
            target,
            block.body.attributes.get("values"),
            self.override_during(block.body),
            block.def_range,
        )

    def block_run(self, block: Block) -> Run | None:
        if not self.check_labels(block, ("name",)):
            return None
        body = block.body
        self.only(body, RUN_ATTRS, RUN_BLOCKS, "in a run block")
        command = "apply"
        if "command" in body.attributes:
            attr = body.attributes["command"]
            word = _keyword(attr.expr)
            if word not in ("apply", "plan"):
                self.err(
                    "Invalid command",
                    "A run block's command is apply (plan and apply, then assert against the "
                    "state) or plan (assert against the plan).",
                    attr.expr.range,
                )
            else:
                command = word
        variables: dict[str, Attribute] = {}
        for vb in body.blocks_of_type("variables"):
            if self.check_labels(vb, ()):
                self.only(vb.body, tuple(vb.body.attributes), (), "in a variables block")
                variables.update(vb.body.attributes)
        source, source_range = None, None
        modules = body.blocks_of_type("module")
        for mb in modules[1:]:
            self.err("Duplicate module block", "A run block takes one module block.", mb.def_range)
        if modules and self.check_labels(modules[0], ()):
            mb = modules[0]
            self.only(mb.body, ("source", "version"), (), "in a run block's module block")
            src = mb.body.attributes.get("source")
            if src is None:
                self.err(
                    "Missing required argument",
                    'The argument "source" is required in a module block: the folder of the '
                    'configuration to run, such as "./example".',
                    mb.def_range,
                )
            else:
                source, source_range = self.static_string(src), src.expr.range
        expect: list[ast.ScopeTraversal] = []
        if "expect_failures" in body.attributes:
            expect = self.traversal_list(body.attributes["expect_failures"])
        options = PlanOptions()
        for pb in body.blocks_of_type("plan_options"):
            if not self.check_labels(pb, ()):
                continue
            self.only(
                pb.body, ("mode", "refresh", "replace", "target"), (), "in a plan_options block"
            )
            if "mode" in pb.body.attributes:
                attr = pb.body.attributes["mode"]
                word = _keyword(attr.expr)
                if word not in ("normal", "refresh-only", "refresh_only"):
                    self.err(
                        "Invalid plan mode",
                        "plan_options.mode is normal or refresh-only.",
                        attr.expr.range,
                    )
                else:
                    options.mode = "refresh_only" if word.startswith("refresh") else "normal"
            if "refresh" in pb.body.attributes:
                options.refresh = self.static_bool(pb.body.attributes["refresh"])
            if "replace" in pb.body.attributes:
                options.replace = self.traversal_list(pb.body.attributes["replace"])
            if "target" in pb.body.attributes:
                options.target = self.traversal_list(pb.body.attributes["target"])
        overrides = [
            ov
            for b in body.blocks
            if b.type in ("override_resource", "override_data")
            for ov in [self.block_override(b)]
            if ov is not None
        ]
        return Run(
            name=block.labels[0],
            command=command,
            variables=variables,
            module_source=source,
            module_range=source_range,
            asserts=self.checks(body, "assert"),
            expect_failures=expect,
            plan_options=options,
            overrides=overrides,
            range=block.def_range,
        )


def _keyword(expr: ast.Expr) -> str | None:
    """A bare word (`apply`) or a literal string ("apply")."""
    if isinstance(expr, ast.ScopeTraversal) and not expr.steps:
        return expr.root
    v = static_value(expr)
    if v is not None and isinstance(v.v, str):
        return v.v
    return None


def test_files(workdir: Path, test_dir: str = TEST_DIR) -> list[Path]:
    """The test files of a module: `*.mlftest.hcl` beside its configuration, then in `tests/`,
    each in lexical order."""
    out: list[Path] = []
    for folder in (workdir, workdir / test_dir):
        try:
            names = sorted(p.name for p in folder.iterdir() if p.is_file())
        except (FileNotFoundError, NotADirectoryError):
            continue
        out.extend(folder / n for n in names if n.endswith(TEST_SUFFIX) and not n.startswith("."))
    return out


def load_test_file(path: Path, display: str) -> tuple[TestFile, list[Diagnostic]]:
    """Parse and decode one test file; every mistake in it is a diagnostic."""
    from mlform.config.parser import parse_file
    from mlform.diagnostics import error, register_source

    test = TestFile(path, display)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        from mlform.diagnostics import encoding_error

        return test, [encoding_error(display, path.read_bytes(), exc)]
    except OSError as exc:
        return test, [error("Cannot read test file", f"{display}: {exc.strerror}")]
    register_source(display, text)
    file, diags = parse_file(display, text)
    if any(d.is_error for d in diags):
        return test, diags
    dec = TestDecoder(test)
    dec.decode(file)
    return test, diags + dec.diags
