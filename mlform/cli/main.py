"""The `mlform` command. Subcommands load lazily so that `mlform version` starts fast."""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Iterator
from typing import Any

import click

# name -> (module, one-line help). Each module defines a click command named `command`.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("mlform.cli.init_cmd", "Prepare a working directory: providers, modules, backend."),
    "validate": ("mlform.cli.validate_cmd", "Check the configuration without touching providers."),
    "fmt": ("mlform.cli.fmt_cmd", "Rewrite configuration files in the canonical style."),
    "console": ("mlform.cli.console_cmd", "Evaluate expressions against the configuration."),
    "plan": ("mlform.cli.plan_cmd", "Show what apply would change, and why."),
    "apply": ("mlform.cli.apply_cmd", "Make the infrastructure match the configuration."),
    "destroy": ("mlform.cli.destroy_cmd", "Destroy everything the state records."),
    "show": ("mlform.cli.show_cmd", "Show the state or a saved plan."),
    "output": ("mlform.cli.output_cmd", "Show output values from the state."),
    "state": ("mlform.cli.state_cmd", "Inspect and edit the state."),
    "import": ("mlform.cli.import_cmd", "Adopt an existing object into the state."),
    "graph": ("mlform.cli.graph_cmd", "Draw the dependency graph."),
    "test": ("mlform.cli.test_cmd", "Run a module's *.mlftest.hcl tests."),
    "workspace": ("mlform.cli.workspace_cmd", "Manage workspaces."),
    "force-unlock": ("mlform.cli.force_unlock_cmd", "Release a stale state lock."),
    "providers": ("mlform.cli.providers_cmd", "List installed providers and their schemas."),
    "taint": ("mlform.cli.taint_cmd", "Mark an instance for replacement."),
    "untaint": ("mlform.cli.taint_cmd:untaint", "Clear a taint mark."),
    "logs": ("mlform.cli.logs_cmd", "Show a training job's or deployment's log."),
    "cancel": ("mlform.cli.cancel_cmd", "Stop a running job and record it failed."),
    "history": ("mlform.cli.history_cmd", "List every state serial: when, who, what changed."),
    "lineage": (
        "mlform.cli.lineage_cmd",
        "Show what produced a model, or what consumed a dataset.",
    ),
    "metrics": ("mlform.cli.metrics_cmd", "Show a training job's metrics across serials."),
    "offers": ("mlform.cli.offers_cmd", "List machines that fit a request, cheapest first."),
    "diff": ("mlform.cli.diff_cmd", "Compare two state serials."),
    "reproduce": ("mlform.cli.reproduce_cmd", "Re-run a recorded training job and compare."),
    "gc": ("mlform.cli.gc_cmd", "Remove snapshots and environments no kept serial needs."),
    "ci": ("mlform.cli.ci_cmd", "Post a plan on the pull request, and other CI helpers."),
    "version": ("mlform.cli.version_cmd", "Print the mlform version."),
}


# Terraform exits 1 on a usage error; click's 2 would read as "changes present" to a script
# that runs `mlform plan --detailed-exitcode`.
click.exceptions.UsageError.exit_code = 1


# What a shell reports for a program killed by SIGPIPE (128 + 13), as `mlform state list | head -1`
# ends Terraform and every Unix tool; Python ignores the signal, so it is said here.
BROKEN_PIPE_EXIT = 141


def _reader_gone(fd: int) -> bool:
    """Whether `fd` is a pipe whose reading end is closed."""
    import select

    try:
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        return any(ev & select.POLLERR for _, ev in poller.poll(0))
    except (OSError, ValueError, AttributeError):
        return False


@contextlib.contextmanager
def closed_pipe_ends_quietly() -> Iterator[None]:
    """`mlform graph | head -1`: once the reader of the output has gone, stop without a word.
    A broken pipe that is not the output's (a connection to a provider) is left to the error
    handling around it."""
    try:
        yield
    except BrokenPipeError:
        exit_if_output_closed()
        raise


def exit_if_output_closed() -> None:
    """After a BrokenPipeError: exit quietly if the output's reader has gone (`handle_errors`
    asks this too, for the commands that report their own errors); otherwise return."""
    gone = [fd for fd in (1, 2) if _reader_gone(fd)]
    if not gone:
        return
    # Nothing more can be said there; and Python's flush of what is still buffered, at exit,
    # would fail again and print a warning.
    devnull = os.open(os.devnull, os.O_WRONLY)
    for fd in gone:
        os.dup2(devnull, fd)
    os.close(devnull)
    sys.exit(BROKEN_PIPE_EXIT)


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(n for n, (mod, _) in COMMANDS.items() if _module_exists(mod))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        target = entry[0]
        mod_name, _, attr = target.partition(":")
        try:
            module = importlib.import_module(mod_name)
        except ModuleNotFoundError as exc:
            if exc.name == mod_name:
                return None
            raise
        cmd: click.Command = getattr(module, attr or "command")
        _accept_no_color(cmd)
        return cmd

    def invoke(self, ctx: click.Context) -> Any:
        # Errors become exit codes here, not only in main(), so that an embedding caller (a
        # test's CliRunner, another program) sees the same codes as the shell does.
        from mlform.cli.common import handle_errors

        with handle_errors(), closed_pipe_ends_quietly():
            return super().invoke(ctx)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Listing help without importing every command module keeps `--help` fast.
        rows = [(n, COMMANDS[n][1]) for n in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _no_color_callback(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    from mlform.cli.common import NO_COLOR_META

    if value:
        ctx.meta[NO_COLOR_META] = True


def _accept_no_color(cmd: click.Command) -> None:
    """Give every command (and subcommand) a `--no-color` flag, as Terraform's commands accept
    `-no-color`, so that scripts can pass it to any of them; commands that declare their own
    keep it."""
    if getattr(cmd, "_mlform_no_color", False):
        return
    cmd._mlform_no_color = True  # type: ignore[attr-defined]
    if not any("--no-color" in p.opts for p in cmd.params):
        cmd.params.append(
            click.Option(
                ["--no-color"],
                is_flag=True,
                expose_value=False,
                callback=_no_color_callback,
                help="Print without colors.",
            )
        )
    if isinstance(cmd, click.Group):
        for sub in cmd.commands.values():
            _accept_no_color(sub)


def _module_exists(mod: str) -> bool:
    mod_name = mod.partition(":")[0]
    base = os.path.dirname(__file__)
    leaf = mod_name.rsplit(".", 1)[-1]
    return os.path.exists(os.path.join(base, leaf + ".py"))


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-C",
    "--chdir",
    type=click.Path(exists=True, file_okay=False),
    help="Switch to this directory before doing anything else.",
)
@click.version_option(package_name="mlform", message="mlform v%(version)s")
def cli(chdir: str | None) -> None:
    """mlform: declare datasets, environments, clusters, training jobs and deployments in HCL;
    plan what changes and why; apply; keep the lineage of every model.

    \b
    Typical loop:
      mlform init
      mlform plan
      mlform apply
    """
    if chdir:
        os.chdir(chdir)


def terraform_style_args(args: list[str]) -> list[str]:
    """Accept Terraform's single-dash long options (`-var x=1`, `-auto-approve`) as well."""
    out: list[str] = []
    for a in args:
        if a == "--":
            out.extend(args[len(out) :])
            break
        if (
            len(a) > 2
            and a[0] == "-"
            and a[1].isalpha()
            and a[1] != "-"
            and (a[2].isalpha() or a[2] in "-=")
            and "=" not in a[:3]
        ):
            a = "-" + a
        out.append(a)
    return out


def main(argv: list[str] | None = None) -> Any:
    from mlform.cli.common import handle_errors

    args = terraform_style_args(argv if argv is not None else sys.argv[1:])
    with handle_errors(), closed_pipe_ends_quietly():
        return cli.main(args=args, prog_name="mlform")


if __name__ == "__main__":
    main()
