"""Remembering `mlform validate`'s result while nothing it read has changed.

Validation is a pure function of the files it read (every module's configuration files, the
variables files, the lock file), the command line's variables, `MLFORM_VAR_*`, mlform's version
and the installed providers. The cache entry records each of those with a content hash; a run
that finds them all unchanged prints the recorded result without loading anything else, which
is what makes a warm `mlform validate` cheap.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from mlform import __version__
from mlform.diagnostics import Diagnostic, Pos, Range, Severity

CACHE_FILE = Path(".mlform") / "cache" / "validate.json"
FORMAT = 3  # 3: references to attributes a kind does not have are errors


def _file_hash(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _listing(directory: Path) -> list[str]:
    try:
        return sorted(
            n
            for n in os.listdir(directory)
            if n.endswith((".mlf.hcl", ".mlf.json", ".mlfvars.hcl", ".mlfvars.json"))
        )
    except OSError:
        return []


def base_key(var_args: list[Any]) -> str:
    h = hashlib.sha256()
    h.update(f"{FORMAT}\0{__version__}\0".encode())
    h.update(json.dumps([list(a) if isinstance(a, tuple) else a for a in var_args]).encode())
    for k in sorted(os.environ):
        if k.startswith("MLFORM_VAR_"):
            h.update(f"{k}={os.environ[k]}\0".encode())
    for entry in _provider_distributions():
        h.update(f"{entry}\0".encode())
    return h.hexdigest()


def _provider_distributions() -> list[str]:
    """Each installed distribution that declares mlform providers: its metadata folder's name
    (which holds its version) and its `mlform.providers` entry points.

    This reads the metadata folders on `sys.path` directly: importing `importlib.metadata` (and
    the email parser it brings) costs more than everything else a warm run does."""
    import sys

    out = []
    for base in sys.path:
        try:
            names = os.listdir(base or ".")
        except OSError:
            continue
        for name in names:
            if not name.endswith((".dist-info", ".egg-info")):
                continue
            try:
                with open(os.path.join(base or ".", name, "entry_points.txt"), "rb") as fh:
                    text = fh.read().decode("utf-8", "replace")
            except OSError:
                continue
            section = _section(text, "mlform.providers")
            if section:
                out.append(f"{os.path.join(base, name)}\n{section}")
    return sorted(out)


def _section(ini: str, name: str) -> str:
    """The lines of one `[name]` section of an entry_points.txt, stripped."""
    lines: list[str] = []
    inside = False
    for raw in ini.splitlines():
        line = raw.strip()
        if line.startswith("[") and line.endswith("]"):
            inside = line[1:-1].strip() == name
        elif inside and line and not line.startswith(("#", ";")):
            lines.append(line)
    return "\n".join(lines)


def lookup(workdir: Path, var_args: list[Any]) -> list[Diagnostic] | None:
    """The recorded diagnostics, if everything validation read is unchanged."""
    path = workdir / CACHE_FILE
    try:
        entry = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if entry.get("format") != FORMAT or entry.get("key") != base_key(var_args):
        return None
    for d, names in entry.get("dirs", {}).items():
        if _listing(Path(d)) != names:
            return None
    for f, digest in entry.get("files", {}).items():
        if _file_hash(Path(f)) != digest:
            return None
    return [_diag_from(d) for d in entry.get("diagnostics", [])]


def store(
    workdir: Path, var_args: list[Any], dirs: list[Path], files: list[Path], diags: list[Diagnostic]
) -> None:
    entry = {
        "format": FORMAT,
        "key": base_key(var_args),
        "dirs": {str(d): _listing(d) for d in dirs},
        "files": {str(f): _file_hash(f) for f in files},
        "diagnostics": [_diag_to(d) for d in diags],
    }
    path = workdir / CACHE_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(entry))
        os.replace(tmp, path)
    except OSError:
        pass  # a cache that cannot be written is no error


def _diag_to(d: Diagnostic) -> dict[str, Any]:
    out: dict[str, Any] = {"severity": d.severity.value, "summary": d.summary, "detail": d.detail}
    if d.subject is not None:
        s = d.subject
        out["subject"] = [
            s.filename,
            s.start.line,
            s.start.column,
            s.start.byte,
            s.end.line,
            s.end.column,
            s.end.byte,
        ]
    return out


def _diag_from(d: dict[str, Any]) -> Diagnostic:
    subject = None
    if "subject" in d:
        f, sl, sc, sb, el, ec, eb = d["subject"]
        subject = Range(f, Pos(sl, sc, sb), Pos(el, ec, eb))
    return Diagnostic(Severity(d["severity"]), d["summary"], d["detail"], subject)
