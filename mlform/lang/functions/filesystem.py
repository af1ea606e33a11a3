"""Filesystem functions: abspath, basename, dirname, pathexpand, file, fileexists, fileset,
filebase64, templatefile.

Relative paths in `file*` and `templatefile` are resolved against the module's folder
(`FunctionContext.base_dir`); `abspath` resolves against the current directory, as Terraform's
does. Paths in results use forward slashes.
"""

from __future__ import annotations

import base64
import os
import posixpath
import re
from pathlib import Path

from mlform.lang.functions._core import FunctionContext, FunctionError, Param, register
from mlform.lang.types import BOOL, DYNAMIC, STRING, SetType
from mlform.lang.values import Value, boolean, set_of, string

P = Param("path", STRING)


def resolve(path: str, fctx: FunctionContext) -> Path:
    """A path given to a file function, `~` expanded, relative to the module folder."""
    p = Path(os.path.expanduser(path))
    if not p.is_absolute():
        p = fctx.base_dir / p
    return p


def read_bytes(path: str, fctx: FunctionContext, arg_index: int = 0) -> bytes:
    p = resolve(path, fctx)
    try:
        return p.read_bytes()
    except FileNotFoundError:
        raise FunctionError(
            f"no file exists at {_shown(path)}; this function works only with files that are "
            "distributed as part of the configuration source code, so if this file will be "
            "created by a resource in this configuration you must instead obtain this result "
            "from an attribute of that resource",
            arg_index,
        ) from None
    except IsADirectoryError:
        raise FunctionError(f"{_shown(path)} is a directory, not a file", arg_index) from None
    except OSError as e:
        raise FunctionError(f"failed to read {_shown(path)}: {e.strerror}", arg_index) from None


def _shown(path: str) -> str:
    return f'"{path}"'


def read_text(path: str, fctx: FunctionContext, arg_index: int = 0) -> str:
    raw = read_bytes(path, fctx, arg_index)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise FunctionError(
            f"contents of {_shown(path)} are not valid UTF-8; use the filebase64 function to "
            "obtain the Base64 encoded contents or the other file functions (e.g. filemd5, "
            "filesha256) to obtain file hashing results instead",
            arg_index,
        ) from None


@register(
    "abspath",
    "filesystem",
    [P],
    STRING,
    description="Takes a string containing a filesystem path and converts it to an absolute "
    "path, relative to the current working directory.",
    examples=[('abspath("/a/b/../c")', '"/a/c"')],
)
def _abspath(args: list[Value], fctx: FunctionContext) -> Value:
    return string(os.path.abspath(args[0].v).replace(os.sep, "/"))


@register(
    "dirname",
    "filesystem",
    [P],
    STRING,
    description="Takes a string containing a filesystem path and removes the last portion from it.",
    examples=[
        ('dirname("foo/bar/baz.txt")', '"foo/bar"'),
        ('dirname("baz.txt")', '"."'),
        ('dirname("/")', '"/"'),
    ],
)
def _dirname(args: list[Value], fctx: FunctionContext) -> Value:
    return string(_go_dir(args[0].v))


def _go_clean(p: str) -> str:
    if p == "":
        return "."
    out = posixpath.normpath(p)
    if out.startswith("//"):
        out = "/" + out.lstrip("/")
    return out


def _go_dir(p: str) -> str:
    i = p.rfind("/")
    return _go_clean(p[: i + 1])


@register(
    "basename",
    "filesystem",
    [P],
    STRING,
    description="Takes a string containing a filesystem path and removes all except the last "
    "portion from it.",
    examples=[
        ('basename("foo/bar/baz.txt")', '"baz.txt"'),
        ('basename("foo/bar/")', '"bar"'),
        ('basename("")', '"."'),
    ],
)
def _basename(args: list[Value], fctx: FunctionContext) -> Value:
    p = args[0].v
    if p == "":
        return string(".")
    stripped = p.rstrip("/")
    if stripped == "":
        return string("/")
    return string(stripped.rsplit("/", 1)[-1])


@register(
    "pathexpand",
    "filesystem",
    [P],
    STRING,
    description="Takes a filesystem path that might begin with a `~` segment, and if so it "
    "replaces that segment with the current user's home directory path.",
    examples=[('pathexpand("/etc/resolv.conf")', '"/etc/resolv.conf"')],
)
def _pathexpand(args: list[Value], fctx: FunctionContext) -> Value:
    p = args[0].v
    if p == "~" or p.startswith("~/"):
        return string(os.path.expanduser("~") + p[1:])
    return string(p)


@register(
    "file",
    "filesystem",
    [P],
    STRING,
    description="Reads the contents of a file at the given path (relative to the module "
    "folder) and returns them as a string.",
    examples=[('file("${path.module}/hello.txt")', '"Hello World"')],
    notes=["The file must exist when the configuration is evaluated and be valid UTF-8."],
)
def _file(args: list[Value], fctx: FunctionContext) -> Value:
    return string(read_text(args[0].v, fctx))


@register(
    "filebase64",
    "filesystem",
    [P],
    STRING,
    description="Reads the contents of a file at the given path and returns them as a "
    "Base64-encoded string.",
    examples=[('filebase64("${path.module}/hello.txt")', '"SGVsbG8gV29ybGQ="')],
)
def _filebase64(args: list[Value], fctx: FunctionContext) -> Value:
    return string(base64.b64encode(read_bytes(args[0].v, fctx)).decode("ascii"))


@register(
    "fileexists",
    "filesystem",
    [P],
    BOOL,
    description="Determines whether a file exists at a given path.",
    examples=[('fileexists("${path.module}/hello.txt")', "true")],
    notes=["A path that exists but is not a regular file (a folder) is an error."],
)
def _fileexists(args: list[Value], fctx: FunctionContext) -> Value:
    p = resolve(args[0].v, fctx)
    try:
        st = p.stat()
    except FileNotFoundError:
        return boolean(False)
    except OSError as e:
        raise FunctionError(f"failed to stat {_shown(args[0].v)}: {e.strerror}", 0) from None
    import stat

    if not stat.S_ISREG(st.st_mode):
        raise FunctionError(
            f"{args[0].v} is not a regular file, but {stat.filemode(st.st_mode)!r}".replace(
                "'", '"'
            ),
            0,
        )
    return boolean(True)


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A doublestar glob as a regex over slash-separated relative paths."""
    out: list[str] = []
    i = 0
    n = len(pattern)
    while i < n:
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:[^/]*/)*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                raise FunctionError(
                    f'failed to glob pattern "{pattern}": syntax error in pattern', 1
                )
            body = pattern[i + 1 : end]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append("[" + body + "]")
            i = end + 1
        elif c == "{":
            end = pattern.find("}", i + 1)
            if end < 0:
                out.append(re.escape(c))
                i += 1
                continue
            alts = pattern[i + 1 : end].split(",")
            out.append("(?:" + "|".join(re.escape(a) for a in alts) + ")")
            i = end + 1
        elif c == "\\" and i + 1 < n:
            out.append(re.escape(pattern[i + 1]))
            i += 2
        else:
            out.append(re.escape(c))
            i += 1
    return re.compile("".join(out) + r"\Z")


@register(
    "fileset",
    "filesystem",
    [P, Param("pattern", STRING)],
    SetType(STRING),
    description="Enumerates a set of regular file names given a path and pattern. The path is "
    "automatically removed from the resulting set of file names.",
    examples=[
        ('fileset(path.module, "files/*.txt")', 'toset(["files/a.txt", "files/b.txt"])'),
        (
            'fileset("${path.module}/files", "**")',
            'toset(["a.txt", "b.txt", "sub/c.txt", "sub/d.md"])',
        ),
    ],
    notes=["Patterns: `*`, `**` (any depth), `?`, `[class]`, `{alt,ernatives}`."],
)
def _fileset(args: list[Value], fctx: FunctionContext) -> Value:
    base = resolve(args[0].v, fctx)
    rx = _glob_regex(args[1].v)
    found: list[Value] = []
    if base.is_dir():
        for root, dirs, files in os.walk(base):
            dirs.sort()
            for name in files:
                full = Path(root) / name
                rel = full.relative_to(base).as_posix()
                if rx.match(rel) and full.is_file():
                    found.append(string(rel))
    return set_of(STRING, found)


@register(
    "templatefile",
    "filesystem",
    [P, Param("vars", DYNAMIC)],
    DYNAMIC,
    description="Reads the file at the given path and renders its content as a template using "
    "a supplied set of template variables.",
    examples=[
        (
            'templatefile("${path.module}/backends.tftpl", { port = 8080, ip_addrs = '
            '["10.0.0.1", "10.0.0.2"] })',
            '"backend 10.0.0.1:8080\\nbackend 10.0.0.2:8080\\n"',
        )
    ],
    notes=["`vars` must be a map or object; the template sees only those variables."],
)
def _templatefile(args: list[Value], fctx: FunctionContext) -> Value:
    from mlform.lang.functions.strings import render_template

    text = read_text(args[0].v, fctx)
    return render_template(text, args[0].v, args[1], 1, fctx)
