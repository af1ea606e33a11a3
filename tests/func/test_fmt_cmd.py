"""`mlform fmt` end to end: files chosen, output, exit codes, as `terraform fmt` behaves."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

UGLY = 'resource "a" "b" {\nx=1\n  long_name   =  "${var.v}"\n}\n'
PRETTY = 'resource "a" "b" {\n  x         = 1\n  long_name = var.v\n}\n'


def mlform(cwd: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "mlform.cli.main", "fmt", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        check=False,
    )


def tree(tmp_path: Path) -> None:
    (tmp_path / "main.mlf.hcl").write_text(UGLY)
    (tmp_path / "ok.tf").write_text(PRETTY)
    (tmp_path / "vars.mlfvars.hcl").write_text("seed=1\n")
    (tmp_path / "notes.txt").write_text("x=1\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "child.tfvars").write_text("a=1\n")
    (tmp_path / ".mlform").mkdir()
    (tmp_path / ".mlform" / "cached.mlf.hcl").write_text("a=1\n")
    (tmp_path / "sub" / ".terraform").mkdir()
    (tmp_path / "sub" / ".terraform" / "m.tf").write_text("a=1\n")


def test_formats_current_directory_and_lists_changed_files(tmp_path: Path) -> None:
    tree(tmp_path)
    proc = mlform(tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode().splitlines() == ["main.mlf.hcl", "vars.mlfvars.hcl"]
    assert (tmp_path / "main.mlf.hcl").read_text() == PRETTY
    assert (tmp_path / "vars.mlfvars.hcl").read_text() == "seed = 1\n"
    assert (tmp_path / "notes.txt").read_text() == "x=1\n"
    assert (tmp_path / "sub" / "child.tfvars").read_text() == "a=1\n"  # not recursive
    # a second run has nothing left to do
    again = mlform(tmp_path)
    assert again.returncode == 0 and again.stdout == b""


def test_recursive_skips_hidden_folders(tmp_path: Path) -> None:
    tree(tmp_path)
    proc = mlform(tmp_path, "--recursive")
    assert proc.returncode == 0
    assert "sub/child.tfvars" in proc.stdout.decode().splitlines()
    assert (tmp_path / "sub" / "child.tfvars").read_text() == "a = 1\n"
    assert (tmp_path / ".mlform" / "cached.mlf.hcl").read_text() == "a=1\n"
    assert (tmp_path / "sub" / ".terraform" / "m.tf").read_text() == "a=1\n"


def test_check_exits_3_lists_and_changes_nothing(tmp_path: Path) -> None:
    tree(tmp_path)
    proc = mlform(tmp_path, "--check")
    assert proc.returncode == 3
    assert proc.stdout.decode().splitlines() == ["main.mlf.hcl", "vars.mlfvars.hcl"]
    assert (tmp_path / "main.mlf.hcl").read_text() == UGLY
    ok = mlform(tmp_path, "--check", "ok.tf")
    assert ok.returncode == 0 and ok.stdout == b""


def test_diff(tmp_path: Path) -> None:
    tree(tmp_path)
    proc = mlform(tmp_path, "--diff", "--no-write", "--no-list", "main.mlf.hcl")
    assert proc.returncode == 0
    out = proc.stdout.decode()
    assert out.startswith("--- old/main.mlf.hcl\n+++ new/main.mlf.hcl\n@@ ")
    assert "-x=1\n" in out and "+  x         = 1\n" in out
    assert (tmp_path / "main.mlf.hcl").read_text() == UGLY


def test_stdin_to_stdout(tmp_path: Path) -> None:
    proc = mlform(tmp_path, "-", stdin=UGLY.encode())
    assert proc.returncode == 0
    assert proc.stdout.decode() == PRETTY
    # like terraform, standard output always ends with a newline
    proc = mlform(tmp_path, "-", stdin=b"a=1")
    assert proc.stdout == b"a = 1\n"


def test_no_write_no_list_prints_result(tmp_path: Path) -> None:
    (tmp_path / "x.tf").write_text(UGLY)
    proc = mlform(tmp_path, "--no-write", "--no-list", "x.tf")
    assert proc.returncode == 0 and proc.stdout.decode() == PRETTY
    assert (tmp_path / "x.tf").read_text() == UGLY


def test_crlf_and_missing_newline_kept(tmp_path: Path) -> None:
    (tmp_path / "w.tf").write_bytes(b"a=1\r\nbb = 2")
    proc = mlform(tmp_path, "w.tf")
    assert proc.returncode == 0
    assert (tmp_path / "w.tf").read_bytes() == b"a  = 1\r\nbb = 2"


def test_syntax_error_exit_2_file_untouched(tmp_path: Path) -> None:
    bad = 'resource "a" "b" {\n  x = "unterminated\n}\n'
    (tmp_path / "bad.tf").write_text(bad)
    (tmp_path / "good.tf").write_text("a=1\n")
    proc = mlform(tmp_path)
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert "Error: " in err and "on bad.tf line 2, column" in err
    assert (tmp_path / "bad.tf").read_text() == bad
    assert (tmp_path / "good.tf").read_text() == "a = 1\n"  # the other files are still formatted
    (tmp_path / "good.tf").write_text("a=1\n")
    check = mlform(tmp_path, "--check")
    assert check.returncode == 2 and check.stdout == b""  # the held-back list is dropped


def test_missing_path_and_wrong_extension(tmp_path: Path) -> None:
    proc = mlform(tmp_path, "nope.tf")
    assert proc.returncode == 2 and "No file or directory at nope.tf" in proc.stderr.decode()
    (tmp_path / "notes.txt").write_text("x=1\n")
    proc = mlform(tmp_path, "notes.txt")
    assert proc.returncode == 2 and "can be processed with mlform fmt" in proc.stderr.decode()


def test_invalid_utf8_is_a_diagnostic(tmp_path: Path) -> None:
    (tmp_path / "enc.tf").write_bytes(b'a = "\xff"\n')
    proc = mlform(tmp_path, "enc.tf")
    assert proc.returncode == 2
    assert "Invalid character encoding" in proc.stderr.decode()
    assert "Traceback" not in proc.stderr.decode()


def test_help_has_an_example(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mlform.cli.main", "fmt", "--help"], capture_output=True, check=False
    )
    assert proc.returncode == 0
    assert b"mlform fmt --check --recursive" in proc.stdout
