"""Filesystem functions: abspath, basename, dirname, pathexpand, file, fileexists, fileset,
filebase64, templatefile.

Relative paths in `file*`, `fileset` and `templatefile` are resolved against the working
directory, the root module's folder (`FunctionContext.base_dir`), in every module, as Terraform
does: a module names its own files with `"${path.module}/name"`. `abspath` resolves against the
current directory, as Terraform's does. Paths in results use forward slashes.
"""

from __future__ import annotations

import base64
import os
import posixpath
import re
from contextvars import ContextVar
from pathlib import Path

from mlform.lang.functions._core import FunctionContext, FunctionError, Param, register
from mlform.lang.types import BOOL, DYNAMIC, STRING, SetType
from mlform.lang.values import SENSITIVE, Value, boolean, set_of, string

P = Param("path", STRING)
# File functions see the marks of their path, to keep a sensitive path out of error messages.
MP = Param("path", STRING, allow_marked=True)


def resolve(path: str, fctx: FunctionContext) -> Path:
    """A path given to a file function, `~` expanded, relative to the working directory (the
    root module's folder)."""
    if path.startswith("~") and not (path == "~" or path.startswith("~/")):
        raise FunctionError("failed to expand ~: cannot expand user-specific home dir")
    p = Path(os.path.expanduser(path))
    if not p.is_absolute():
        p = fctx.base_dir / p
    return Path(os.path.normpath(p))


def display_path(full: Path | str) -> str:
    """A resolved path as messages show it: relative to the current folder when inside it."""
    rel = os.path.relpath(full)
    return str(full) if rel.startswith("..") else rel


def shown(path: str, fctx: FunctionContext, marks: frozenset[str]) -> str:
    """The path as an error message shows it: resolved (relative to the current folder when
    inside it) and quoted, or hidden when it is sensitive."""
    if SENSITIVE in marks:
        return "(sensitive value)"
    try:
        full = str(resolve(path, fctx))
    except FunctionError:
        full = path
    rel = os.path.relpath(full)
    from mlform.lang.render import go_quote

    return go_quote(full if rel.startswith("..") else rel)


def path_arg(v: Value) -> tuple[str, frozenset[str]]:
    """A path parameter that allows marks: its text and the marks to put on the result."""
    return v.v, v.unmark_deep()[1]


def read_bytes(
    path: str, fctx: FunctionContext, arg_index: int = 0, marks: frozenset[str] = frozenset()
) -> bytes:
    p = resolve(path, fctx)
    try:
        return p.read_bytes()
    except FileNotFoundError:
        raise FunctionError(
            f"no file exists at {shown(path, fctx, marks)}; this function works only with files "
            "that are distributed as part of the configuration source code, so if this file "
            "will be created by a resource in this configuration you must instead obtain this "
            "result from an attribute of that resource",
            arg_index,
        ) from None
    except IsADirectoryError:
        raise FunctionError(f"read {shown(path, fctx, marks)}: is a directory", arg_index) from None
    except OSError as e:
        raise FunctionError(
            f"failed to read {shown(path, fctx, marks)}: {e.strerror}", arg_index
        ) from None


def read_text(path: str, fctx: FunctionContext, marks: frozenset[str] = frozenset()) -> str:
    raw = read_bytes(path, fctx, 0, marks)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise FunctionError(
            f"contents of {shown(path, fctx, marks)} are not valid UTF-8; use the filebase64 "
            "function to obtain the Base64 encoded contents or the other file functions (e.g. "
            "filemd5, filesha256) to obtain file hashing results instead"
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
    [MP],
    STRING,
    description="Reads the contents of a file at the given path (relative to the working "
    "directory; `path.module` names the module's folder) and returns them as a string.",
    examples=[('file("${path.module}/hello.txt")', '"Hello World"')],
    notes=["The file must exist when the configuration is evaluated and be valid UTF-8."],
)
def _file(args: list[Value], fctx: FunctionContext) -> Value:
    path, marks = path_arg(args[0])
    return string(read_text(path, fctx, marks)).with_marks(marks)


@register(
    "filebase64",
    "filesystem",
    [MP],
    STRING,
    description="Reads the contents of a file at the given path and returns them as a "
    "Base64-encoded string.",
    examples=[('filebase64("${path.module}/hello.txt")', '"SGVsbG8gV29ybGQ="')],
)
def _filebase64(args: list[Value], fctx: FunctionContext) -> Value:
    path, marks = path_arg(args[0])
    data = read_bytes(path, fctx, 0, marks)
    return string(base64.b64encode(data).decode("ascii")).with_marks(marks)


@register(
    "fileexists",
    "filesystem",
    [MP],
    BOOL,
    description="Determines whether a file exists at a given path.",
    examples=[('fileexists("${path.module}/hello.txt")', "true")],
    notes=["A path that exists but is not a regular file (a folder) is an error."],
)
def _fileexists(args: list[Value], fctx: FunctionContext) -> Value:
    import stat

    path, marks = path_arg(args[0])
    p = resolve(path, fctx)
    try:
        st = p.stat()
    except FileNotFoundError:
        return boolean(False).with_marks(marks)
    except OSError:
        raise FunctionError(f"failed to stat {shown(path, fctx, marks)}") from None
    if stat.S_ISREG(st.st_mode):
        return boolean(True).with_marks(marks)
    name = shown(path, fctx, marks)
    if stat.S_ISDIR(st.st_mode):
        what = "is a directory, not a file"
    elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        what = "is a device node, not a regular file"
    elif stat.S_ISFIFO(st.st_mode):
        what = "is a named pipe, not a regular file"
    elif stat.S_ISSOCK(st.st_mode):
        what = "is a unix domain socket, not a regular file"
    else:
        what = "is not a regular file"
    raise FunctionError(f"{name} {what}", 0)


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
    [MP, Param("vars", DYNAMIC)],
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

    if _IN_TEMPLATEFILE.get():
        raise FunctionError("cannot recursively call templatefile from inside templatefile call")
    path, marks = path_arg(args[0])
    text = read_text(path, fctx, marks)
    token = _IN_TEMPLATEFILE.set(True)
    try:
        return render_template(text, path, args[1], 1, fctx).with_marks(marks)
    finally:
        _IN_TEMPLATEFILE.reset(token)


# Set while a templatefile template renders: a template may not include itself.
_IN_TEMPLATEFILE: ContextVar[bool] = ContextVar("_IN_TEMPLATEFILE", default=False)
