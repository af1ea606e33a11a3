"""The plan → confirm → apply flow that `plan`, `apply` and `destroy` share."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from mlform.cli.common import CommandFailed, print_diagnostics, use_color
from mlform.cli.options import ordered_var_args
from mlform.cli.run_options import echo_err, interrupt_handler, parse_duration, stdin_interactive
from mlform.diagnostics import DiagnosticsError


def build_options(mode: str, kw: dict[str, Any]) -> Any:
    from mlform.engine.operation import parse_addresses, parse_replace
    from mlform.engine.planner import PlanOptions

    return PlanOptions(
        mode=mode,
        refresh=kw.get("refresh", True),
        targets=parse_addresses(list(kw.get("targets", ())), "--target"),
        excludes=parse_addresses(list(kw.get("excludes", ())), "--exclude"),
        replace=parse_replace(list(kw.get("replace", ()))),
        parallelism=kw.get("parallelism", 10),
        detach=kw.get("detach", False),
    )


def render_plan_text(plan: Any, color: bool) -> str:
    from mlform.ui.plan_render import render_plan

    return render_plan(plan, color=color, schemas=plan_schemas(plan))


def plan_schemas(plan: Any) -> dict[str, Any]:
    """Each planned resource type's schema, so that nested blocks are drawn as blocks."""
    from mlform.sdk.plugins import PluginError, load_provider
    from mlform.sdk.schema import resource_body

    out: dict[str, Any] = {}
    for rc in [*plan.changes, *plan.drift]:
        rtype = rc.addr.resource.type
        if rtype in out or '"' not in rc.provider:
            continue
        try:
            cls = load_provider(rc.provider.split('"')[1])
        except PluginError:
            continue
        kind = cls.kinds.get(rtype)
        if kind is not None:
            out[rtype] = resource_body(kind)
    return out


def run_plan(
    mode: str, kw: dict[str, Any], *, out: str | None, as_json: bool, detailed: bool
) -> None:
    """`mlform plan`: plan, show, optionally save. Exit 0, 1, or 2 with --detailed-exitcode."""
    from mlform.engine.operation import Operations
    from mlform.ui.apply_view import ConsoleHooks

    color = use_color(kw.get("no_color", False))
    if out:
        # Before planning: a bad --out path is refused before any provider is asked anything.
        from mlform.plans import PlanFileError, check_plan_target

        try:
            check_plan_target(out)
        except PlanFileError as exc:
            summary, _, detail = str(exc).partition(". ")
            raise DiagnosticsError([_err(summary, detail)]) from None
    ops = Operations(hooks=ConsoleHooks(sys.stderr if as_json else sys.stdout, color))
    options = build_options(mode, kw)
    with interrupt_handler(ops.cancel, echo_err):
        loaded = ops.load(
            ordered_var_args(), interactive=kw.get("allow_input", True) and stdin_interactive()
        )
        with ops.open_session(
            "plan",
            lock=kw.get("use_lock", True),
            lock_timeout=parse_duration(kw.get("lock_timeout", "0s")),
        ) as sess:
            result = ops.plan(loaded, sess.state, options)
    print_diagnostics([d for d in result.diags if not d.is_error], color=color)
    if result.errored:
        print_diagnostics([d for d in result.diags if d.is_error], color=color)
        raise CommandFailed(1)
    plan = result.plan
    if as_json:
        from mlform.ui.json_plan import plan_json

        click.echo(json.dumps(plan_json(plan, plan_configuration(loaded))))
    else:
        click.echo(render_plan_text(plan, color))
    if out:
        from mlform.plans import write_plan

        write_plan(out, plan, loaded.files, ops.encryption(loaded.root).plan)
        if not as_json:
            click.echo(
                f"\nSaved the plan to: {out}\n\nTo perform exactly these actions, run:\n  mlform apply {out}"
            )
    if detailed and plan.has_changes:
        raise CommandFailed(2)


def run_apply(mode: str, kw: dict[str, Any], *, plan_file: str | None, auto_approve: bool) -> None:
    """`mlform apply` / `mlform destroy`: plan (or read a saved plan), confirm, apply, save state."""
    from mlform.engine.operation import Operations, result_from_saved
    from mlform.ui.apply_view import ConsoleHooks

    color = use_color(kw.get("no_color", False))
    ops = Operations(hooks=ConsoleHooks(sys.stdout, color))
    interactive = stdin_interactive()
    lock_timeout = parse_duration(kw.get("lock_timeout", "0s"))
    with interrupt_handler(ops.cancel, echo_err, ops.second_interrupt):
        if plan_file:
            from mlform.plans import stale_reasons

            saved = _read_saved_plan(plan_file, ops)
            loaded = ops.load([], interactive=False, allow_missing=True)
            loaded.root_vars = _vars_from_plan(saved.plan, loaded)
            options = build_options(
                saved.plan.mode,
                {
                    "targets": saved.plan.targets,
                    "excludes": saved.plan.excludes,
                    "replace": saved.plan.force_replace,
                    "parallelism": kw.get("parallelism", 10),
                    "detach": kw.get("detach", False),
                },
            )
            with ops.open_session(
                _operation(mode), lock=kw.get("use_lock", True), lock_timeout=lock_timeout
            ) as sess:
                from mlform.plans import config_digest

                reasons = stale_reasons(
                    saved, sess.state.serial, sess.state.lineage, config_digest(loaded.files)
                )
                if reasons:
                    raise DiagnosticsError(
                        [
                            _err(
                                "Saved plan is stale",
                                "The plan cannot be applied because "
                                + "; ".join(reasons)
                                + ". Run mlform plan again to make a new one.",
                            )
                        ]
                    )
                _recheck_guardrails(loaded, saved.plan)
                result = result_from_saved(saved.plan)
                _apply_and_commit(ops, loaded, sess, result, options, mode, color)
            return
        options = build_options(mode, kw)
        loaded = ops.load(
            ordered_var_args(), interactive=kw.get("allow_input", True) and interactive
        )
        with ops.open_session(
            _operation(mode), lock=kw.get("use_lock", True), lock_timeout=lock_timeout
        ) as sess:
            _say_recovered(sess)
            result = ops.plan(loaded, sess.state, options)
            print_diagnostics([d for d in result.diags if not d.is_error], color=color)
            if result.errored:
                print_diagnostics([d for d in result.diags if d.is_error], color=color)
                raise CommandFailed(1)
            click.echo(render_plan_text(result.plan, color))
            if (
                not result.plan.has_changes
                and not result.adopted
                and not result.refreshed
                and not result.moved
            ):
                # Nothing to do; outputs may still need recording on the first run.
                if _outputs_changed(result.plan):
                    ops.apply(loaded, sess, result, options)
                    sess.commit(_meta(mode, result.plan))
                return
            # Waiting for jobs submitted earlier and recording their outputs changes nothing
            # outside mlform: no confirmation is asked for that alone.
            only_collecting = not result.plan.resource_changes() and not _outputs_changed(
                result.plan
            )
            if not auto_approve and not only_collecting:
                if not interactive:
                    raise DiagnosticsError(
                        [
                            _err(
                                "No confirmation",
                                "mlform will not ask for confirmation when MLFORM_IN_AUTOMATION is set or input is "
                                "not a terminal. Review the plan and pass --auto-approve, or apply a saved plan "
                                "(mlform plan --out plan.mlplan; mlform apply plan.mlplan).",
                            )
                        ]
                    )
                if not _confirm(mode):
                    click.echo(
                        "\nApply cancelled." if mode != "destroy" else "\nDestroy cancelled."
                    )
                    raise CommandFailed(1)
            _apply_and_commit(ops, loaded, sess, result, options, mode, color)


def _recheck_guardrails(loaded: Any, plan: Any) -> None:
    """A saved plan is checked against the guardrails again before anything is applied: it
    may come from an older mlform, or have been edited since it was written."""
    from mlform.engine.guardrails import check_plan

    broken = [d for d in check_plan(loaded.root, loaded.cg.modules, plan) if d.is_error]
    if broken:
        raise DiagnosticsError(broken)


def _say_recovered(sess: Any) -> None:
    """What replaying a crashed run's journal did, in one line (not one line per entry: an
    interrupted apply of thousands of objects would print thousands)."""
    if not sess.recovered:
        return
    ops = [rec.op for rec in sess.recovered]
    parts = [f"{ops.count('put')} objects recorded"]
    if ops.count("remove"):
        parts.append(f"{ops.count('remove')} removed")
    pending = len(sess.state.pending)
    if pending:
        parts.append(f"{pending} creates whose answer was lost, to be looked up by their tokens")
    click.echo(
        "Recovered from an interrupted run (its journal was replayed): " + ", ".join(parts) + "."
    )


def _apply_and_commit(
    ops: Any, loaded: Any, sess: Any, result: Any, options: Any, mode: str, color: bool
) -> None:
    diags: list[Any] = []
    try:
        diags = ops.apply(loaded, sess, result, options)
    finally:
        # Whatever happened, what was done is made the next serial.
        meta = _meta(mode, result.plan)
        if ops.cancel.is_set():
            meta["interrupted"] = True
        sess.commit(meta)
    errors = [d for d in diags if d.is_error]
    print_diagnostics([d for d in diags if not d.is_error], color=color)
    # What the providers confirmed, not what the plan meant to do.
    summary = ops.applied_summary(result.plan)
    if errors:
        print_diagnostics(errors, color=color)
        raise CommandFailed(1)
    if ops.cancelled_jobs:
        names = ", ".join(str(a) for a in ops.cancelled_jobs)
        click.echo(
            f"\nCancelled {names}: recorded as failed (tainted); the next apply runs it again."
        )
        raise CommandFailed(1)
    if ops.detached:
        # --detach, or the first Ctrl-C while waiting: the jobs run on; this is no failure.
        click.echo(
            f"\nApply detached! Resources: {summary.add} added, {summary.change} changed, "
            f"{summary.destroy} destroyed."
        )
        for addr in ops.detached:
            click.echo(f"{addr} is running; run mlform apply to collect it.")
        waiting = ops.waiting_on_jobs(result)
        if waiting:
            click.echo("Not applied yet, waiting for it: " + ", ".join(waiting) + ".")
        _print_outputs(sess.state, color)
        return
    if ops.cancel.is_set():
        click.echo(
            "\nStopped early after an interrupt; the state records everything that was done."
        )
        raise CommandFailed(1)
    if mode == "destroy":
        click.echo(f"\nDestroy complete! Resources: {summary.destroy} destroyed.")
    else:
        click.echo(
            f"\nApply complete! Resources: {summary.add} added, {summary.change} changed, {summary.destroy} destroyed."
        )
    _print_outputs(sess.state, color)


def _print_outputs(state: Any, color: bool) -> None:
    if not state.outputs:
        return
    from mlform.cli.output_render import render_output_value

    click.echo("\nOutputs:\n")
    for name in sorted(state.outputs):
        rec = state.outputs[name]
        shown = "<sensitive>" if rec.sensitive else render_output_value(rec.value, rec.type)
        click.echo(f"{name} = {shown}")


def _outputs_changed(plan: Any) -> bool:
    from mlform.plans import Action

    return any(o.action is not Action.NOOP for o in plan.output_changes)


def _vars_from_plan(plan: Any, loaded: Any) -> dict[str, Any]:
    from mlform.engine.bridge import data_to_value

    out = {}
    for name, var in loaded.root.variables.items():
        if name in plan.variables:
            v = data_to_value(plan.variables[name], var.type)
            out[name] = v.mark("sensitive") if var.sensitive else v
    return out


def _confirm(mode: str) -> bool:
    if mode == "destroy":
        click.echo(
            "\nDo you really want to destroy all resources?\n  mlform will destroy all your managed infrastructure, as shown above.\n  There is no undo. Only 'yes' will be accepted to confirm.\n"
        )
    else:
        click.echo(
            "\nDo you want to perform these actions?\n  mlform will perform the actions described above.\n  Only 'yes' will be accepted to approve.\n"
        )
    answer = click.prompt("  Enter a value", default="", show_default=False)
    return answer.strip() == "yes"


def _meta(mode: str, plan: Any) -> dict[str, Any]:
    s = plan.summary()
    summary = f"+{s.add} ~{s.change} -{s.destroy}"
    if mode != "destroy":
        # Name what a reader of `mlform history` looks for: which models were (re)trained and
        # which servers now serve something new.
        verbs = {
            "training_job": ("trained", "retrained"),
            "deployment": ("deployed", "redeployed"),
        }
        named = []
        for rc in plan.resource_changes():
            pair = verbs.get(rc.addr.resource.type)
            if pair is None or rc.action.value in ("delete", "read", "no-op", "noop"):
                continue
            named.append(f"{pair[0] if rc.before is None else pair[1]} {rc.addr}")
        if named:
            summary += "; " + ", ".join(named)
    return {"operation": _operation(mode), "summary": summary}


def _operation(mode: str) -> str:
    return {"normal": "apply", "destroy": "destroy", "refresh_only": "refresh"}.get(mode, mode)


def _read_saved_plan(path: str, ops: Any = None) -> Any:
    """A saved plan, or a diagnostic when the file is missing, damaged or not a plan."""
    from mlform.engine.operation import Operations
    from mlform.plans import PlanFileError, _is_sealed_plan, read_plan

    try:
        encryption = (ops or Operations()).encryption().plan
    except DiagnosticsError:
        if _is_sealed_plan(Path(path)):
            raise
        encryption = None  # a plain plan shown beside a broken configuration
    try:
        return read_plan(path, encryption)
    except PlanFileError as exc:
        summary, _, detail = str(exc).partition(". ")
        raise DiagnosticsError([_err(summary, detail)]) from None


def _err(summary: str, detail: str) -> Any:
    from mlform.diagnostics import error

    return error(summary, detail)


__all__ = ["run_plan", "run_apply", "Path"]


def show_plan_file(path: str, as_json: bool, color: bool) -> None:
    """`mlform show PLANFILE`: a saved plan, as text or as Terraform's JSON plan."""
    saved = _read_saved_plan(path)
    if as_json:
        from mlform.ui.json_plan import plan_json

        click.echo(json.dumps(plan_json(saved.plan, saved_configuration(saved.config_files))))
    else:
        click.echo(render_plan_text(saved.plan, color))


def plan_configuration(loaded: Any) -> dict[str, Any]:
    """The JSON plan's `configuration` object for a loaded configuration."""
    from mlform.ui.json_config import configuration_json

    provider_of = {}
    for caddr, pnode in loaded.cg.resource_provider.items():
        prefix = f"{'.'.join(pnode.module.names)}:" if pnode.module.names else ""
        provider_of[str(caddr)] = prefix + pnode.local_name
    return configuration_json(loaded.root, provider_of)


def saved_configuration(files: dict[str, bytes]) -> dict[str, Any] | None:
    """The configuration a saved plan was made from, as the JSON plan shows it."""
    import tempfile

    from mlform.config.loader import load_config
    from mlform.ui.json_config import configuration_json

    with tempfile.TemporaryDirectory() as tmp:
        for name, data in files.items():
            target = Path(tmp) / name
            if not target.resolve().is_relative_to(Path(tmp).resolve()):
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        root, diags = load_config(Path(tmp), use_cache=False)
        if any(d.is_error for d in diags):
            return None
        return configuration_json(root)
