"""Every command's `--help` runs, exits 0, and shows at least one example of its use.

The command list comes from the CLI's own table, so a command added later is checked too;
group commands (`state`, `workspace`, `providers`) have their subcommands checked as well.
"""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from mlform.cli.main import COMMANDS, cli


def _help(*args: str) -> str:
    result = CliRunner().invoke(cli, [*args, "--help"], catch_exceptions=False)
    assert result.exit_code == 0, (
        f"mlform {' '.join(args)} --help -> {result.exit_code}\n{result.output}"
    )
    return result.output


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_has_example(name: str) -> None:
    out = _help(name)
    assert out.startswith(f"Usage: cli {name}") or f" {name} " in out.splitlines()[0], out
    # "Example:" or "Examples:" as a section heading, followed by an indented `mlform` line.
    lines = out.splitlines()
    heads = [i for i, line in enumerate(lines) if line.strip() in ("Example:", "Examples:")]
    assert heads, f"mlform {name} --help shows no Example section:\n{out}"
    after = lines[heads[0] + 1 : heads[0] + 8]
    assert any("mlform " in line for line in after), f"the example runs no mlform command:\n{out}"


def _subcommands() -> list[tuple[str, str]]:
    pairs = []
    ctx = click.Context(cli)
    for name in sorted(COMMANDS):
        cmd = cli.get_command(ctx, name)
        if isinstance(cmd, click.Group):
            pairs.extend((name, sub) for sub in cmd.list_commands(ctx))
    return pairs


@pytest.mark.parametrize(("group", "sub"), _subcommands())
def test_subcommand_help_runs(group: str, sub: str) -> None:
    out = _help(group, sub)
    assert "Usage:" in out and sub in out.splitlines()[0]


def test_top_level_help_lists_every_command() -> None:
    out = _help()
    for name in COMMANDS:
        assert f"  {name} " in out, f"{name} missing from mlform --help:\n{out}"


def test_usage_error_is_not_an_internal_error() -> None:
    result = CliRunner().invoke(cli, ["plan", "--no-such-flag"])
    assert result.exit_code == 1  # as Terraform: 2 means "changes present" to --detailed-exitcode
    assert "internal error" not in result.output
    assert "No such option" in result.output


def _example_lines(name: str) -> list[list[str]]:
    """The `mlform NAME ...` commands of NAME's Example section, as argument lists: each line
    is cut at shell pipes and redirections, and leading VAR=value assignments are dropped."""
    import shlex

    out = _help(name).splitlines()
    heads = [i for i, line in enumerate(out) if line.strip() in ("Example:", "Examples:")]
    lines: list[list[str]] = []
    for line in out[heads[0] + 1 :]:
        if not line.strip():
            break
        words = shlex.split(line.split("#", 1)[0], posix=True)
        segments: list[list[str]] = [[]]
        for w in words:
            if w in ("|", ">", ">>", "<", "&&", ";", "2>&1"):
                segments.append([])
            else:
                segments[-1].append(w)
        for cut in segments:
            while cut and "=" in cut[0] and not cut[0].startswith("-"):
                cut = cut[1:]
            if len(cut) >= 2 and cut[0] == "mlform" and cut[1] == name:
                lines.append(cut[1:])
    return lines


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_examples_use_real_options(name: str) -> None:
    """Every option an example uses exists: click parses the whole line before it acts on
    `--help`, so an unknown option or a missing value fails here without running anything."""
    from mlform.cli.main import terraform_style_args

    examples = _example_lines(name)
    assert examples, f"no `mlform {name}` line in the examples of mlform {name} --help"
    for args in examples:
        result = CliRunner().invoke(cli, [*terraform_style_args(args), "--help"])
        assert result.exit_code == 0, f"example `mlform {' '.join(args)}`:\n{result.output}"
