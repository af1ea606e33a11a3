"""`mlform test`"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from mlform.cli.common import CommandFailed, print_diagnostics, use_color
from mlform.cli.options import ordered_var_args, var_options


@click.command("test")
@click.option(
    "--filter",
    "filters",
    multiple=True,
    metavar="FILE",
    help="Run only this test file (its path, or its name). Repeatable.",
)
@click.option(
    "--test-directory",
    default="tests",
    show_default=True,
    metavar="DIR",
    help="The folder, inside the module, that holds test files besides the module's own.",
)
@click.option("--junit-xml", "junit", metavar="PATH", help="Also write the results as JUnit XML.")
@click.option("--verbose", is_flag=True, help="Print the plan of every run.")
@click.option("--no-color", is_flag=True, help="Print without colors.")
@var_options
def command(
    filters: tuple[str, ...], test_directory: str, junit: str | None, verbose: bool, no_color: bool
) -> None:
    """Run the module's tests: the *.mlftest.hcl files beside its configuration and in tests/.

    Each file's run blocks plan (command = plan) or apply (command = apply, the default) the
    module in order, against a temporary state, and check their assert blocks; everything
    applied is destroyed when the file is done. mock_provider blocks stand in for real
    providers, so a module is tested without training anything. Exit status 1 when a run fails.

    \b
    Examples:
      mlform test
      mlform test --filter tests/defaults.mlftest.hcl --junit-xml results.xml

    \b
    A test file (tests/defaults.mlftest.hcl; see docs/testing-modules.md):
      mock_provider "local" {
        mock_resource "training_job" {
          defaults = { model = "file:///mock", metrics = { acc = 0.9 } }
        }
      }
      run "trains" {
        variables { seed = 7 }
        assert {
          condition     = output.accuracy > 0.5
          error_message = "The accuracy output does not read the job's metrics."
        }
      }
    """
    from mlform.moduletest.junit import write_junit
    from mlform.moduletest.runner import TestRunner

    color = use_color(no_color)
    reporter = _Printer(color, verbose)
    runner = TestRunner(
        Path("."),
        var_args=ordered_var_args(),
        filters=list(filters),
        test_dir=test_directory,
        reporter=reporter,
        verbose=verbose,
    )
    suite, diags = runner.run()
    if diags:
        print_diagnostics(diags, color=color)
        raise CommandFailed(1)
    if not suite.files:
        click.echo(
            f"No test files found: mlform test runs *.mlftest.hcl files in this folder and in "
            f"{test_directory}/. See docs/testing-modules.md."
        )
    if junit:
        write_junit(junit, suite)
    if suite.files:
        click.echo(("\n" if not verbose else "") + _tint(suite.summary(), suite.ok, color))
    if not suite.ok:
        raise CommandFailed(1)


def _tint(text: str, ok: bool, color: bool) -> str:
    if not color:
        return text
    return ("\x1b[1;32m" if ok else "\x1b[1;31m") + text + "\x1b[0m"


class _Printer:
    """Progress as Terraform's `terraform test` prints it."""

    def __init__(self, color: bool, verbose: bool):
        self.color = color
        self.verbose = verbose

    def file_started(self, test: Any) -> None:
        click.echo(f"{test.display}... in progress")

    def run_done(self, test: Any, run: Any) -> None:
        click.echo(
            f'  run "{run.name}"... {_tint(run.status, run.status in ("pass", "skip"), self.color)}'
        )
        if self.verbose and run.plan is not None:
            from mlform.cli.flows import render_plan_text

            click.echo("\n" + render_plan_text(run.plan, self.color))
        if run.diags:
            print_diagnostics(run.diags, color=self.color)

    def tearing_down(self, test: Any) -> None:
        click.echo(f"{test.display}... tearing down")

    def file_done(self, test: Any) -> None:
        if test.diags:
            print_diagnostics(test.diags, color=self.color)
        click.echo(f"{test.display}... {_tint(test.status, test.status == 'pass', self.color)}")
