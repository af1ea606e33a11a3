"""`mlform fmt`: rewrite configuration files in the canonical style, as `terraform fmt` does.

The flags, the files chosen, the output and the exit codes follow `terraform fmt`: 0 when all
went well, 2 when a file has a syntax error (it is left untouched and the diagnostics are
printed), 3 with `--check` when some file is not formatted.
"""

from __future__ import annotations

import difflib
import os
import sys

import click

from mlform.cli.common import CommandFailed, print_diagnostics
from mlform.diagnostics import Diagnostic, DiagnosticsError, Pos, Range, error, register_source

EXTENSIONS = (".mlf.hcl", ".mlfvars.hcl", ".tf", ".tfvars")


def _ignored(name: str) -> bool:
    # Hidden entries (.mlform, .terraform, .git) and editor backups, as Terraform skips them.
    return (
        name.startswith(".") or name.endswith("~") or (name.startswith("#") and name.endswith("#"))
    )


def _decode(data: bytes, path: str) -> tuple[str | None, list[Diagnostic]]:
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        col = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
        pos = Pos(line, col, exc.start)
        return None, [
            error(
                "Invalid character encoding",
                "All input files must be UTF-8 encoded. Ensure that UTF-8 encoding is selected "
                "in your editor.",
                Range(path, pos, Pos(line, col + 1, exc.start + 1)),
            )
        ]


class _Run:
    def __init__(self, list_: bool, write: bool, diff: bool, recursive: bool):
        self.list = list_
        self.write = write
        self.diff = diff
        self.recursive = recursive
        self.diags: list[Diagnostic] = []
        self.out: list[bytes] = []

    def emit(self, data: bytes) -> None:
        self.out.append(data)

    def file(self, path: str, data: bytes) -> None:
        from mlform.config.fmt import format_source

        text, diags = _decode(data, path)
        if text is None:
            self.diags.extend(diags)
            return
        register_source(path, text)
        try:
            result = format_source(text, path).encode("utf-8")
        except DiagnosticsError as exc:
            self.diags.extend(exc.diagnostics)
            return
        if result != data:
            if self.list:
                self.emit(path.encode() + b"\n")
            if self.write:
                try:
                    with open(path, "wb") as f:
                        f.write(result)
                except OSError:
                    self.diags.append(error(f"Failed to write {path}"))
                    return
            if self.diff:
                self.emit(_unified_diff(data, result, path))
        if not self.list and not self.write and not self.diff:
            self.emit(result)

    def directory(self, path: str) -> None:
        try:
            names = sorted(os.listdir(path))
        except FileNotFoundError:
            self.diags.append(error(f"There is no configuration directory at {path}"))
            return
        except OSError:
            self.diags.append(error(f"Cannot read directory {path}"))
            return
        for name in names:
            if _ignored(name):
                continue
            sub = os.path.join(path, name) if path != "." else name
            if os.path.isdir(sub):
                if self.recursive:
                    self.directory(sub)
                continue
            if name.endswith(EXTENSIONS):
                self.path_file(sub)

    def path_file(self, path: str) -> None:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            self.diags.append(error(f"Failed to read file {path}"))
            return
        self.file(path, data)


def _unified_diff(old: bytes, new: bytes, path: str) -> bytes:
    lines = difflib.unified_diff(
        old.decode("utf-8").splitlines(keepends=True),
        new.decode("utf-8").splitlines(keepends=True),
        fromfile=f"old/{path}",
        tofile=f"new/{path}",
    )
    out = []
    for line in lines:
        if not line.endswith("\n"):
            line += "\n\\ No newline at end of file\n"
        out.append(line)
    return "".join(out).encode("utf-8")


_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


class _FmtCommand(click.Command):
    """Takes Terraform's `-list=false`, `-write=false`, `-check=true` spellings of the flags."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        out = []
        for a in args:
            name, eq, value = a.partition("=")
            if eq and name in ("--list", "--write", "--diff", "--check", "--recursive"):
                if value.lower() in _TRUE:
                    a = name
                elif value.lower() in _FALSE:
                    if name in ("--list", "--write"):
                        a = "--no-" + name[2:]
                    else:
                        continue  # off is the default
            out.append(a)
        return super().parse_args(ctx, out)


@click.command("fmt", cls=_FmtCommand)
@click.option(
    "--list/--no-list", "list_", default=True, help="List files whose formatting changed."
)
@click.option(
    "--write/--no-write",
    default=True,
    help="Write the result back to the files (never with stdin or --check).",
)
@click.option("--diff", is_flag=True, help="Print a unified diff of the changes.")
@click.option(
    "--check",
    is_flag=True,
    help="Change nothing; exit 3 if any file is not formatted, listing those files.",
)
@click.option("--recursive", "-r", is_flag=True, help="Also process files in subdirectories.")
@click.argument("paths", nargs=-1, type=click.Path())
def command(
    list_: bool, write: bool, diff: bool, check: bool, recursive: bool, paths: tuple[str, ...]
) -> None:
    """Rewrite configuration files in the canonical style.

    Formats *.mlf.hcl, *.mlfvars.hcl, *.tf and *.tfvars files exactly as `terraform fmt` does:
    two-space indentation, aligned `=` in runs of arguments, normalized spacing; comments are
    kept. With no PATH it formats the current directory; a directory PATH formats the files in
    it; `-` reads standard input and writes the result to standard output. Files that fail to
    parse are left untouched and reported (exit code 2).

    \b
    Examples:
      mlform fmt                      # format the files in this directory
      mlform fmt --check --recursive  # in CI: exit 3 if anything is not formatted
      mlform fmt --diff main.mlf.hcl
      cat main.tf | mlform fmt -
    """
    stdin = bool(paths) and paths[0] == "-"
    if stdin:
        list_ = write = False
    shown_list = list_
    if check:
        list_, write = True, False
    run = _Run(list_, write, diff, recursive)

    if stdin:
        run.file("<stdin>", sys.stdin.buffer.read())
    else:
        for path in paths or (".",):
            if not os.path.exists(path):
                run.diags.append(error(f"No file or directory at {path}"))
                break
            if os.path.isdir(path):
                run.directory(path)
            elif path.endswith(EXTENSIONS):
                run.path_file(path)
            else:
                run.diags.append(
                    error(
                        f"Only {', '.join(EXTENSIONS)} files can be processed with mlform fmt",
                        f"{path} has none of these extensions.",
                    )
                )

    out = b"".join(run.out)
    failed = any(d.is_error for d in run.diags)
    # With --check the list is held back and, as Terraform does, dropped when a file failed.
    if not check or (shown_list and not failed):
        if out and stdin and not out.endswith(b"\n"):
            out += b"\n"
        sys.stdout.buffer.write(out)
        sys.stdout.flush()
    print_diagnostics(run.diags)
    if failed:
        raise CommandFailed(2)
    if check and out:
        raise CommandFailed(3)
