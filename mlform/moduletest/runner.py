"""Running test files: each run plans (and applies) the module, then its assertions are checked.

A test file's runs execute in order and share state: a run that applies leaves its objects for
the next run of the same configuration to plan against, and its outputs for later runs to read
(`run.NAME.OUTPUT`). A run with `module { source = "..." }` runs another configuration (an
example that calls the module) with a state of its own. State lives in a temporary folder,
never beside the module's real state; after the file, everything applied is destroyed, state by
state, in the reverse order the states were first used, and a failed destroy is reported.

Providers are the engine's, with the file's `mock_provider` blocks and overrides substituted
(`mlform.moduletest.mock`), so the engine plans and applies a test exactly as any other run.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlform.addrs import ModuleInstance, Resource
from mlform.config.model import Check, Module
from mlform.diagnostics import Diagnostic, DiagnosticsError, Range, error, suggestion, warning
from mlform.engine.operation import Loaded, Operations, PlanResult
from mlform.engine.scope import EvalState
from mlform.lang import ast
from mlform.lang import values as V
from mlform.lang.eval import EvalContext, evaluate
from mlform.lang.values import Value
from mlform.moduletest.config import Override, Run, TestFile, load_test_file, test_files
from mlform.moduletest.mock import (
    Fixed,
    MockSpec,
    Substitutions,
    TestProviders,
    check_values,
    kind_attr_types,
    parse_override_target,
)

PASS, FAIL, ERROR, SKIP = "pass", "fail", "error", "skip"


@dataclass
class RunResult:
    name: str
    status: str
    diags: list[Diagnostic] = field(default_factory=list)
    seconds: float = 0.0
    # What the run planned, for --verbose.
    plan: Any = None

    @property
    def failure_message(self) -> str:
        """One line for a report: the first failure's summary, with its file:line."""
        for d in self.diags:
            if d.is_error:
                where = (
                    f" ({d.subject.filename}:{d.subject.start.line})"
                    if d.subject is not None
                    else ""
                )
                return f"{d.summary}{where}"
        return ""


@dataclass
class FileResult:
    display: str
    status: str = PASS
    runs: list[RunResult] = field(default_factory=list)
    # Mistakes in the file itself, and a failed clean-up.
    diags: list[Diagnostic] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class SuiteResult:
    files: list[FileResult] = field(default_factory=list)

    def count(self, *statuses: str) -> int:
        return sum(1 for f in self.files for r in f.runs if r.status in statuses)

    @property
    def passed(self) -> int:
        return self.count(PASS)

    @property
    def failed(self) -> int:
        return self.count(FAIL, ERROR)

    @property
    def skipped(self) -> int:
        return self.count(SKIP)

    @property
    def ok(self) -> bool:
        return all(f.status == PASS for f in self.files) and self.failed == 0

    def summary(self) -> str:
        head = "Success!" if self.ok else "Failure!"
        text = f"{head} {self.passed} passed, {self.failed} failed"
        if self.skipped:
            text += f", {self.skipped} skipped"
        text += "."
        broken = sum(1 for f in self.files if any(d.is_error for d in f.diags))
        if broken:
            text += f" {broken} test file(s) could not be read or cleaned up after (see above)."
        return text


class Reporter:
    """What the command hears while the tests run. The default hears nothing."""

    def file_started(self, test: FileResult) -> None:
        pass

    def run_done(self, test: FileResult, run: RunResult) -> None:
        pass

    def tearing_down(self, test: FileResult) -> None:
        pass

    def file_done(self, test: FileResult) -> None:
        pass


# -- the engine, pointed at a temporary state and the test's providers ----------------------------


class _TestOperations(Operations):
    def __init__(self, workdir: Path, scratch: Path):
        from mlform.engine.walk import Hooks

        super().__init__(workdir, workspace="default", hooks=Hooks())
        self.data_dir = scratch / ".mlform"
        self.scratch = scratch
        self.subs = Substitutions()
        self.evals: EvalState | None = None

    def backend(self) -> Any:
        from mlform.state.backends.local import LocalBackend

        return LocalBackend({}, self.scratch)

    def walker(
        self,
        cls: Any,
        loaded: Loaded,
        prior: Any,
        options: Any,
        providers: Any = None,
        **extra: Any,
    ) -> Any:
        from mlform.engine.configure import ConfigureWalker

        if providers is None:
            providers = TestProviders(self.workdir, self.data_dir, self.subs)
        w = super().walker(cls, loaded, prior, options, providers, **extra)
        if not isinstance(w, ConfigureWalker):
            self.evals = w.evals
        return w

    def load_with(self, raw: dict[str, Any], test: TestFile) -> Loaded:
        """`Operations.load`, with the variables the test gives and its provider blocks in
        place of the module's."""
        from mlform.config.variables import resolve
        from mlform.engine.graph import build_graph
        from mlform.engine.init import check_lock
        from mlform.engine.validate import sort_diagnostics

        root = self.load_root()
        root.providers.update(test.providers)
        diags: list[Diagnostic] = list(check_lock(self.workdir, root))
        root_vars, rd = resolve(root, raw, allow_missing=False, prompt=None)
        diags.extend(rd)
        if any(d.is_error for d in diags):
            raise DiagnosticsError(sort_diagnostics(diags))
        cg, gd = build_graph(root)
        diags.extend(gd)
        if any(d.is_error for d in diags):
            raise DiagnosticsError(sort_diagnostics(diags))
        return Loaded(root, cg, root_vars, {}, diags)


@dataclass
class _StateSlot:
    """One configuration's state within a test file: the main module's, or a run's `module`."""

    ops: _TestOperations
    loaded: Loaded | None = None


class TestRunner:
    """`mlform test`: run every test file of the module in `workdir`."""

    def __init__(
        self,
        workdir: Path,
        var_args: list[tuple[str, str]] | None = None,
        filters: list[str] | None = None,
        test_dir: str = "tests",
        reporter: Reporter | None = None,
        verbose: bool = False,
    ):
        self.workdir = Path(workdir)
        self.var_args = list(var_args or [])
        self.filters = list(filters or [])
        self.test_dir = test_dir
        self.reporter = reporter or Reporter()
        self.verbose = verbose

    def files(self) -> tuple[list[tuple[Path, str]], list[Diagnostic]]:
        found = test_files(self.workdir, self.test_dir)
        pairs = [(p, _display(p, self.workdir)) for p in found]
        if not self.filters:
            return pairs, []
        diags = []
        chosen = []
        names = [d for _, d in pairs]
        for f in self.filters:
            want = f.replace("\\", "/").removeprefix("./")
            match = [pd for pd in pairs if pd[1] == want or pd[0].name == want]
            if not match:
                diags.append(
                    error(
                        "No such test file",
                        f"--filter {f} names no test file of this module.{suggestion(want, names)}"
                        + (f" Test files: {', '.join(names)}." if names else ""),
                    )
                )
            chosen.extend(pd for pd in match if pd not in chosen)
        return chosen, diags

    def run(self) -> tuple[SuiteResult, list[Diagnostic]]:
        pairs, diags = self.files()
        suite = SuiteResult()
        if diags:
            return suite, diags
        for path, display in pairs:
            suite.files.append(self.run_file(path, display))
        return suite, []

    # -- one file --------------------------------------------------------------------------------

    def run_file(self, path: Path, display: str) -> FileResult:
        started = time.monotonic()
        result = FileResult(display)
        self.reporter.file_started(result)
        test, diags = load_test_file(path, display)
        result.diags.extend(diags)
        if any(d.is_error for d in diags):
            result.status = ERROR
            result.runs = [RunResult(r.name, SKIP) for r in test.runs]
            self.reporter.file_done(result)
            return result
        with tempfile.TemporaryDirectory(prefix="mlform-test-") as tmp:
            slots: dict[str, _StateSlot] = {}
            outputs: dict[str, Value] = {}
            skip_rest = False
            for run in test.runs:
                if skip_rest:
                    rr = RunResult(run.name, SKIP)
                else:
                    t0 = time.monotonic()
                    rr = self.run_one(test, run, slots, outputs, Path(tmp))
                    rr.seconds = time.monotonic() - t0
                    skip_rest = rr.status == ERROR
                result.runs.append(rr)
                self.reporter.run_done(result, rr)
            self.reporter.tearing_down(result)
            result.diags.extend(self.clean_up(slots))
        if any(d.is_error for d in result.diags):
            result.status = ERROR
        elif any(r.status in (FAIL, ERROR) for r in result.runs):
            result.status = FAIL
        result.seconds = time.monotonic() - started
        self.reporter.file_done(result)
        return result

    def _slot(
        self, test: TestFile, run: Run, slots: dict[str, _StateSlot], tmp: Path
    ) -> tuple[_StateSlot | None, list[Diagnostic]]:
        key = run.module_source or ""
        slot = slots.get(key)
        if slot is not None:
            return slot, []
        if run.module_source is None:
            config_dir = self.workdir
        else:
            from mlform.config.modules import is_local_source

            if not is_local_source(run.module_source):
                return None, [
                    error(
                        "Unsupported module source",
                        f'A run block\'s module is a local folder ("./example", "../other"); '
                        f'"{run.module_source}" is not.',
                        run.module_range,
                    )
                ]
            # As a module call's source: relative to the module under test.
            config_dir = (self.workdir / run.module_source).resolve()
            if not config_dir.is_dir():
                return None, [
                    error(
                        "Module not found",
                        f'The folder "{run.module_source}" does not exist (looked in {config_dir}).',
                        run.module_range,
                    )
                ]
        scratch = tmp / f"state-{len(slots)}"
        scratch.mkdir()
        slot = slots[key] = _StateSlot(_TestOperations(config_dir, scratch))
        return slot, []

    def run_one(
        self,
        test: TestFile,
        run: Run,
        slots: dict[str, _StateSlot],
        outputs: dict[str, Value],
        tmp: Path,
    ) -> RunResult:
        from mlform.engine.validate import sort_diagnostics

        rr = RunResult(run.name, PASS)
        slot, sdiags = self._slot(test, run, slots, tmp)
        if slot is None:
            rr.status, rr.diags = ERROR, sdiags
            return rr
        ops = slot.ops
        try:
            root = ops.load_root()
        except DiagnosticsError as exc:
            rr.status, rr.diags = ERROR, exc.diagnostics
            return rr
        # What the run refers to must exist before anything runs.
        problems = self.check_references(test, run, root, outputs)
        subs, sub_diags = self.substitutions(test, run)
        problems.extend(sub_diags)
        test_vars, vdiags = self.variables(test, run, outputs)
        problems.extend(vdiags)
        if any(d.is_error for d in problems):
            rr.status, rr.diags = ERROR, problems
            return rr
        ops.subs = subs
        raw = self.raw_values(root, ops.workdir, test_vars, test, run)
        errors: list[Diagnostic] = []
        warnings = [d for d in problems if not d.is_error]
        evals: EvalState | None = None
        ops.evals = None
        try:
            loaded = ops.load_with(raw, test)
            slot.loaded = loaded
            warnings.extend(d for d in loaded.diags if not d.is_error)
            result, op_diags = self.operate(ops, loaded, run)
            rr.plan = result.plan if result is not None else None
            errors.extend(d for d in op_diags if d.is_error)
            warnings.extend(d for d in op_diags if not d.is_error)
            evals = ops.evals
        except DiagnosticsError as exc:
            errors.extend(d for d in exc.diagnostics if d.is_error)
            warnings.extend(d for d in exc.diagnostics if not d.is_error)
        errors, missing = self.expected_failures(run, root, errors)
        failures: list[Diagnostic] = list(missing)
        if not errors and not run.expect_failures and evals is not None:
            var_values = self.scope_vars(root, loaded.root_vars, test_vars)
            run_out = V.object_of(
                {
                    n: evals.module_values(ModuleInstance()).outputs.get(n, V.DYNAMIC_UNKNOWN)
                    for n in root.outputs
                }
            )
            outputs[run.name] = run_out
            for check in run.asserts:
                failures.extend(self.check_assert(check, run, evals, var_values, run_out, outputs))
        elif not errors and evals is not None:
            outputs[run.name] = V.object_of(
                {
                    n: evals.module_values(ModuleInstance()).outputs.get(n, V.DYNAMIC_UNKNOWN)
                    for n in root.outputs
                }
            )
        rr.diags = sort_diagnostics(warnings) + sort_diagnostics(errors) + failures
        if errors:
            rr.status = ERROR
        elif failures:
            rr.status = FAIL
        return rr

    def operate(
        self, ops: _TestOperations, loaded: Loaded, run: Run
    ) -> tuple[PlanResult | None, list[Diagnostic]]:
        """Plan, and for `command = apply` apply and record the state."""
        from mlform.engine.planner import PlanOptions as EnginePlanOptions

        options = EnginePlanOptions(
            mode=run.plan_options.mode,
            refresh=run.plan_options.refresh,
            targets=_addresses(run.plan_options.target),
            replace=_addresses(run.plan_options.replace, instances=True),
        )
        command = run.command
        with ops.open_session("apply" if command == "apply" else "plan") as sess:
            result = ops.plan(loaded, sess.state, options)
            diags = list(result.diags)
            if result.errored or command == "plan":
                return result, diags
            try:
                diags.extend(ops.apply(loaded, sess, result, options))
            finally:
                sess.commit({"operation": "test", "run": run.name})
        return result, diags

    # -- variables -------------------------------------------------------------------------------

    def _test_ctx(self, outputs: dict[str, Value], var: dict[str, Value]) -> EvalContext:
        from mlform.lang.functions import FunctionContext

        def missing(t: ast.ScopeTraversal) -> Diagnostic:
            if t.root == "run":
                return error(
                    "Reference to unavailable run block",
                    "Only the outputs of runs that came before, in the same file, can be "
                    f"referred to here.{_known_runs(outputs)}",
                    t.range,
                )
            return error(
                "Invalid reference",
                f'"{t.root}" is not available here: a test file\'s variables can refer to '
                "var.NAME and run.NAME.OUTPUT.",
                t.range,
            )

        roots: dict[str, Value] = {"var": V.object_of(var)}
        if outputs:
            roots["run"] = V.object_of(outputs)
        return EvalContext(
            roots, FunctionContext(base_dir=self.workdir.resolve()), on_missing=missing
        )

    def variables(
        self, test: TestFile, run: Run, outputs: dict[str, Value]
    ) -> tuple[dict[str, tuple[Value, Range]], list[Diagnostic]]:
        """The file's and the run's variables, evaluated: the run's win."""
        out: dict[str, tuple[Value, Range]] = {}
        diags: list[Diagnostic] = []
        for layer in (test.variables, run.variables):
            ctx = self._test_ctx(outputs, {n: v for n, (v, _) in out.items()})
            for name, attr in layer.items():
                value, d = evaluate(attr.expr, ctx)
                diags.extend(d)
                if not any(x.is_error for x in d):
                    out[name] = (value, attr.expr.range)
        return out, diags

    def raw_values(
        self,
        root: Module,
        config_dir: Path,
        test_vars: dict[str, tuple[Value, Range]],
        test: TestFile,
        run: Run,
    ) -> dict[str, Any]:
        """The raw values `resolve` takes: the command line's and the variable files', then
        the test's (which win). Values for variables the module does not declare are for the
        test's own expressions only."""
        from mlform.config.variables import RawValue, collect

        raw, _ = collect(config_dir, self.var_args)
        raw = {n: rv for n, rv in raw.items() if n in root.variables}
        for name, (value, rng) in test_vars.items():
            if name in root.variables:
                raw[name] = RawValue(name, "file", expr=ast.Literal(value, rng), range=rng)
        return raw

    def scope_vars(
        self, root: Module, resolved: dict[str, Value], test_vars: dict[str, tuple[Value, Range]]
    ) -> dict[str, Value]:
        out = {n: v for n, (v, _) in test_vars.items()}
        out.update(resolved)
        return out

    # -- substitutions ---------------------------------------------------------------------------

    def substitutions(self, test: TestFile, run: Run) -> tuple[Substitutions, list[Diagnostic]]:
        from mlform.sdk.plugins import PluginError, load_provider

        subs = Substitutions()
        diags: list[Diagnostic] = []
        for mp in test.mocks:
            try:
                real = load_provider(mp.type)
            except PluginError as exc:
                diags.append(error("Provider not available", str(exc), mp.range))
                continue
            spec = MockSpec(provider_during=mp.override_during or "apply")
            for mk in mp.kinds:
                kcls = real.kinds.get(mk.type)
                if kcls is None or bool(getattr(kcls, "is_data", False)) != (mk.mode == "data"):
                    from mlform.engine.schema_cache import invalid_kind

                    pairs = [(k, bool(getattr(c, "is_data", False))) for k, c in real.kinds.items()]
                    diags.append(invalid_kind(mp.type, mk.type, mk.mode, pairs, mk.range))
                    continue
                key = (mk.mode, mk.type)
                if mk.override_during:
                    spec.during[key] = mk.override_during
                if mk.defaults is not None:
                    values, d = self._static_values(
                        mk.defaults, kind_attr_types(kcls), f'The defaults of mock "{mk.type}"'
                    )
                    diags.extend(d)
                    spec.defaults[key] = values
            subs.mocks[(mp.type, mp.alias)] = spec
            for ov in mp.overrides:
                self._add_override(subs, ov, mp.override_during, diags)
        for ov in [*test.overrides, *run.overrides]:
            self._add_override(subs, ov, None, diags)
        # A run's own overrides are the most specific: they come first.
        subs.overrides.reverse()
        return subs, diags

    def _static_values(
        self, attr: Any, types: dict[str, Any], what: str
    ) -> tuple[dict[str, Any], list[Diagnostic]]:
        value, d = evaluate(attr.expr, self._test_ctx({}, {}))
        if any(x.is_error for x in d):
            return {}, d
        return check_values(value, types, what, attr.expr.range)

    def _add_override(
        self, subs: Substitutions, ov: Override, during: str | None, diags: list[Diagnostic]
    ) -> None:
        from mlform.sdk.plugins import PluginError, load_provider

        text = ast.traversal_text(ov.target)
        target, d = parse_override_target(text, ov.target.range)
        diags.extend(d)
        if target is None:
            return
        rtype = target.resource.type
        values: dict[str, Any] = {}
        if ov.values is not None:
            types: dict[str, Any] | None = None
            ptype = rtype.split("_", 1)[0]
            for candidate in (*{m for m, _ in subs.mocks}, "local", ptype):
                try:
                    cls = load_provider(candidate)
                except PluginError:
                    continue
                kcls = cls.kinds.get(rtype)
                if kcls is not None:
                    types = kind_attr_types(kcls)
                    break
            if types is None:
                diags.append(
                    error(
                        "Invalid override target",
                        f'No installed provider has the resource type "{rtype}".',
                        ov.target.range,
                    )
                )
                return
            values, d = self._static_values(ov.values, types, f"The override of {text}")
            diags.extend(d)
        subs.overrides.append(
            Fixed(target, ov.mode, values, ov.override_during or during or "apply")
        )

    # -- references, assertions, expected failures ---------------------------------------------

    def check_references(
        self, test: TestFile, run: Run, root: Module, outputs: dict[str, Value]
    ) -> list[Diagnostic]:
        diags: list[Diagnostic] = []
        for check in run.asserts:
            exprs = [check.condition] + ([check.error_message] if check.error_message else [])
            for e in exprs:
                for t in ast.traversals(e):
                    d = _reference_problem(t, root, outputs, test, run)
                    if d is not None:
                        diags.append(d)
        return diags

    def check_assert(
        self,
        check: Check,
        run: Run,
        evals: EvalState,
        var_values: dict[str, Value],
        run_out: Value,
        outputs: dict[str, Value],
    ) -> list[Diagnostic]:
        travs = list(ast.traversals(check.condition))
        if check.error_message is not None:
            travs.extend(ast.traversals(check.error_message))
        extra: dict[str, Value] = {"var": V.object_of(var_values), "output": run_out}
        if outputs:
            extra["run"] = V.object_of(outputs)
        ctx = evals.scope(ModuleInstance(), travs, extra)
        result, diags = evaluate(check.condition, ctx)
        if any(d.is_error for d in diags):
            return diags
        where = _values_in(check.condition, ctx)
        if not result.is_wholly_known():
            return [
                error(
                    "Unknown condition value",
                    f'The condition of this assertion in run "{run.name}" depends on values '
                    "that are known only after apply. Use command = apply, or assert on "
                    "what the plan knows." + where,
                    check.condition.range,
                )
            ]
        r = result.unmark()
        if r.is_null or not isinstance(r.v, bool):
            return [
                error(
                    "Invalid condition result",
                    "An assertion's condition must return true or false." + where,
                    check.condition.range,
                )
            ]
        if r.v:
            return []
        message = "(no error message)"
        if check.error_message is not None:
            m, md = evaluate(check.error_message, ctx)
            if not any(d.is_error for d in md) and m.is_known and isinstance(m.unmark().v, str):
                message = m.unmark().v
                if m.has_mark_deep("sensitive"):
                    message = "(the error message refers to a sensitive value)"
        return [error("Test assertion failed", message + where, check.condition.range)]

    def expected_failures(
        self, run: Run, root: Module, errors: list[Diagnostic]
    ) -> tuple[list[Diagnostic], list[Diagnostic]]:
        """The errors no `expect_failures` entry accounts for, and a diagnostic for each entry
        whose object did not fail."""
        if not run.expect_failures:
            return errors, []
        remaining = list(errors)
        missing: list[Diagnostic] = []
        for t in run.expect_failures:
            text = ast.traversal_text(t)
            checks = _checks_of(root, t)
            if checks is None:
                missing.append(
                    error(
                        "Invalid expect_failures reference",
                        f"{text} is not a checkable object of the module: expect_failures names "
                        "input variables (var.NAME), outputs (output.NAME) and resources "
                        "(TYPE.NAME, data.TYPE.NAME) with validation, precondition or "
                        "postcondition blocks.",
                        t.range,
                    )
                )
                continue
            hit = [
                d
                for d in remaining
                if d.subject is not None
                and any(_inside(d.subject, c.condition.range) for c in checks)
            ]
            if not hit:
                missing.append(
                    error(
                        "Missing expected failure",
                        f'The checkable object, {text}, was expected to report an error in run "{run.name}" but did not.',
                        t.range,
                    )
                )
            remaining = [d for d in remaining if d not in hit]
        return remaining, missing

    # -- clean-up --------------------------------------------------------------------------------

    def clean_up(self, slots: dict[str, _StateSlot]) -> list[Diagnostic]:
        """Destroy what every state holds, the last state first used first."""
        from mlform.engine.planner import PlanOptions as EnginePlanOptions

        diags: list[Diagnostic] = []
        for key, slot in reversed(list(slots.items())):
            if slot.loaded is None:
                continue
            ops = slot.ops
            what = f'the configuration in "{key}"' if key else "the module"
            try:
                with ops.open_session("destroy") as sess:
                    if not list(sess.state.all_instances()):
                        continue
                    options = EnginePlanOptions(mode="destroy")
                    result = ops.plan(slot.loaded, sess.state, options)
                    errs = [d for d in result.diags if d.is_error]
                    if not errs:
                        try:
                            errs = [
                                d
                                for d in ops.apply(slot.loaded, sess, result, options)
                                if d.is_error
                            ]
                        finally:
                            sess.commit({"operation": "test-destroy"})
                    left = sorted(str(a) for a, _r, _i in sess.state.all_instances())
            except DiagnosticsError as exc:
                errs, left = [d for d in exc.diagnostics if d.is_error], ["(unknown)"]
            if errs or left:
                diags.extend(errs)
                diags.append(
                    error(
                        "Failed to clean up after the tests",
                        f"Destroying what the tests created with {what} failed; these objects "
                        f"may still exist: {', '.join(left) or '(none recorded)'}. Remove them by "
                        "hand (their provider's console or CLI).",
                    )
                )
        return diags


# -- helpers ---------------------------------------------------------------------------------------


def _display(path: Path, workdir: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        try:
            return str(path.resolve().relative_to(workdir.resolve()))
        except ValueError:
            return str(path)


def _addresses(travs: list[ast.ScopeTraversal], instances: bool = False) -> list[Any]:
    from mlform.addrs import AddressError, parse_instance, parse_target

    out = []
    diags = []
    for t in travs:
        text = ast.traversal_text(t)
        try:
            out.append(parse_instance(text) if instances else parse_target(text))
        except AddressError as exc:
            diags.append(error("Invalid address", str(exc), t.range))
    if diags:
        raise DiagnosticsError(diags)
    return out


def _known_runs(outputs: dict[str, Value]) -> str:
    if not outputs:
        return " No run has completed yet."
    return " Runs so far: " + ", ".join(outputs) + "."


def _inside(inner: Range, outer: Range) -> bool:
    return (
        inner.filename == outer.filename
        and inner.start.byte >= outer.start.byte
        and inner.end.byte <= outer.end.byte
    )


def _checks_of(root: Module, t: ast.ScopeTraversal) -> list[Check] | None:
    names = [s.name for s in t.steps if isinstance(s, ast.AttrStep)]
    if t.root == "var" and names and names[0] in root.variables:
        return root.variables[names[0]].validations
    if t.root == "output" and names and names[0] in root.outputs:
        return root.outputs[names[0]].preconditions
    if t.root == "data" and len(names) >= 2:
        res = root.resources.get(Resource("data", names[0], names[1]))
    elif names:
        res = root.resources.get(Resource("managed", t.root, names[0]))
    else:
        res = None
    if res is None:
        return None
    return res.lifecycle.preconditions + res.lifecycle.postconditions


def _reference_problem(
    t: ast.ScopeTraversal, root: Module, outputs: dict[str, Value], test: TestFile, run: Run
) -> Diagnostic | None:
    """Why a reference in an assertion names nothing, or None."""
    first = t.steps[0].name if t.steps and isinstance(t.steps[0], ast.AttrStep) else None
    later = [r.name for r in test.runs]
    if t.root in ("path", "mlform", "terraform", "count", "each", "self"):
        return None
    if t.root == "run":
        if first in outputs:
            return None
        if first in later:
            return error(
                "Reference to unavailable run block",
                f'run.{first} has not run yet when run "{run.name}" is checked: a run can refer '
                f"only to the runs before it.{_known_runs(outputs)}",
                t.range,
            )
        return error(
            "Reference to undeclared run block",
            f'There is no run block named "{first}" in this file.{suggestion(first or "", later)}',
            t.range,
        )
    table: dict[str, tuple[str, list[str]]] = {
        "var": ("input variable", [*root.variables, *test.variables, *run.variables]),
        "local": ("local value", list(root.locals)),
        "output": ("output value", list(root.outputs)),
        "module": ("module call", list(root.module_calls)),
    }
    if t.root in table:
        what, names = table[t.root]
        if first is not None and first not in names:
            return error(
                f"Reference to undeclared {what}",
                f'The module does not declare an {what} named "{first}".{suggestion(first, names)}',
                t.range,
            )
        return None
    if t.root == "data":
        second = (
            t.steps[1].name if len(t.steps) > 1 and isinstance(t.steps[1], ast.AttrStep) else None
        )
        if first is None or second is None:
            return None
        if Resource("data", first, second) not in root.resources:
            names = [f"data.{r.type}.{r.name}" for r in root.resources if r.mode == "data"]
            return error(
                "Reference to undeclared data source",
                f'The module declares no data "{first}" "{second}".{suggestion(f"data.{first}.{second}", names)}',
                t.range,
            )
        return None
    if first is None:
        roots = ["var", "local", "output", "run", "module", "data"] + sorted(
            {r.type for r in root.resources}
        )
        return error(
            "Invalid reference",
            f'"{t.root}" is not something an assertion can refer to.{suggestion(t.root, roots)}',
            t.range,
        )
    if Resource("managed", t.root, first) not in root.resources:
        names = [f"{r.type}.{r.name}" for r in root.resources if r.mode == "managed"]
        return error(
            "Reference to undeclared resource",
            f'The module declares no resource "{t.root}" "{first}".{suggestion(f"{t.root}.{first}", names)}',
            t.range,
        )
    return None


MAX_VALUE_TEXT = 400


def _values_in(cond: ast.Expr, ctx: EvalContext) -> str:
    """The values of the references in a condition, one per line, as Terraform shows them
    under a failed assertion."""
    from mlform.lang.render import render_hcl

    seen: list[str] = []
    lines: list[str] = []
    for t in ast.traversals(cond):
        text = ast.traversal_text(t)
        if text in seen:
            continue
        seen.append(text)
        value, d = evaluate(t, ctx)
        if any(x.is_error for x in d):
            continue
        if value.has_mark_deep("sensitive"):
            shown = "(sensitive value)"
        elif not value.is_wholly_known():
            shown = "(known after apply)" if not value.is_known else _render(value, render_hcl)
        else:
            shown = _render(value, render_hcl)
        lines.append(f"  {text} is {shown}")
    if not lines:
        return ""
    return "\n\nValues in the condition:\n" + "\n".join(lines)


def _render(value: Value, render_hcl: Callable[[Value], str]) -> str:
    try:
        text = render_hcl(value.unmark_deep()[0])
    except Exception:  # noqa: BLE001 - a value that cannot be drawn is still a failure to report
        text = repr(value)
    text = text.replace("\n", "\n    ")
    if len(text) > MAX_VALUE_TEXT:
        text = text[:MAX_VALUE_TEXT] + "…"
    return text


__all__ = ["FileResult", "Reporter", "RunResult", "SuiteResult", "TestRunner", "warning"]
