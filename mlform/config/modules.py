"""Module sources: local paths, and git sources fetched by `mlform init` into `.mlform/modules/`.

Git sources are written as Terraform's: `git::https://example.com/repo.git//sub/dir?ref=v1.2`,
`git::file:///srv/modules.git?ref=main`, `github.com/org/repo//sub?ref=v1`, or
`git@github.com:org/repo.git`. Registry sources (`host/namespace/name/provider` with
`version`) are in `mlform.config.registry`. The manifest `.mlform/modules/modules.json` records,
for each module call path, the source (and a registry module's version) and the folder it was
fetched into, so that later runs load it
without the network and notice when the source in the configuration changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from mlform.addrs import ModulePath

MODULES_DIR = Path(".mlform") / "modules"


def is_local_source(source: str) -> bool:
    return source.startswith(("./", "../", "/")) or source in (".", "..")


@dataclass(frozen=True)
class GitSource:
    url: str  # what `git clone` takes
    ref: str | None
    subdir: str

    @staticmethod
    def parse(source: str) -> GitSource:
        raw = source
        if raw.startswith("git::"):
            raw = raw[len("git::") :]
        elif raw.startswith("github.com/"):
            raw = "https://" + raw
        elif raw.startswith("git@"):
            pass
        else:
            raise ValueError(
                f'"{source}" is not a module source mlform can fetch: use a local path ("./modules/x") '
                'a git source ("git::https://host/repo.git//dir?ref=v1", "github.com/org/repo?ref=v1") '
                'or a registry module ("registry.example.com/org/name/provider" with version).'
            )
        # Split off ?query and //subdir (after the scheme's //).
        query = ""
        if "?" in raw:
            raw, query = raw.split("?", 1)
        scheme_end = raw.find("://")
        search_from = scheme_end + 3 if scheme_end >= 0 else 0
        sub = ""
        idx = raw.find("//", search_from)
        if idx >= 0:
            raw, sub = raw[:idx], raw[idx + 2 :]
        params = parse_qs(query)
        ref = params.pop("ref", [None])[0]
        if params:
            parts = urlsplit(raw)
            raw = urlunsplit(parts._replace(query=urlencode(params, doseq=True)))
        return GitSource(raw, ref, sub.strip("/"))


@dataclass(frozen=True)
class ManifestEntry:
    key: str
    source: str
    rel_dir: str
    version: str | None = None  # the version chosen, for a registry source

    def dir(self, root: Path) -> Path:
        return root / self.rel_dir


class ModuleManifest:
    def __init__(self, entries: dict[str, ManifestEntry]):
        self.entries = entries

    @staticmethod
    def path(root: Path) -> Path:
        return root / MODULES_DIR / "modules.json"

    @classmethod
    def load(cls, root: Path) -> ModuleManifest:
        try:
            data = json.loads(cls.path(root).read_text())
        except (OSError, ValueError):
            return cls({})
        entries = {}
        for e in data.get("modules", []):
            entries[e["key"]] = ManifestEntry(e["key"], e["source"], e["dir"], e.get("version"))
        return cls(entries)

    def get(self, path: ModulePath) -> ManifestEntry | None:
        return self.entries.get(".".join(path.names))

    def save(self, root: Path) -> None:
        p = self.path(root)
        p.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "modules": [
                {"key": e.key, "source": e.source, "dir": e.rel_dir}
                | ({"version": e.version} if e.version else {})
                for e in sorted(self.entries.values(), key=lambda e: e.key)
            ]
        }
        tmp = p.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        os.replace(tmp, p)


class ModuleFetchError(Exception):
    pass


def fetch_git(source: str, root: Path, key: str, log=lambda line: None) -> ManifestEntry:
    """Clone a git source at its ref into `.mlform/modules/<key>-<hash>/` and return its entry."""
    gs = GitSource.parse(source)
    if shutil.which("git") is None:
        raise ModuleFetchError(
            "git is not installed: it is needed to fetch module sources from git."
        )
    digest = hashlib.sha256(source.encode()).hexdigest()[:12]
    target = root / MODULES_DIR / f"{key}-{digest}"
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        clone_dir = Path(tmp) / "repo"
        cmd = ["git", "clone", "--quiet"]
        if gs.ref is None:
            cmd += ["--depth", "1"]
        cmd += [gs.url, str(clone_dir)]
        log(f"- fetching {source}")
        r = subprocess.run(
            cmd, capture_output=True, text=True, env={**os.environ, "GIT_TERMINAL_PROMPT": "0"}
        )
        if r.returncode != 0:
            raise ModuleFetchError(f"git clone of {gs.url} failed: {r.stderr.strip()}")
        if gs.ref:
            r = subprocess.run(
                ["git", "-C", str(clone_dir), "checkout", "--quiet", gs.ref],
                capture_output=True,
                text=True,
            )
            if r.returncode != 0:
                raise ModuleFetchError(
                    f'git ref "{gs.ref}" not found in {gs.url}: {r.stderr.strip()}'
                )
        src_dir = clone_dir / gs.subdir if gs.subdir else clone_dir
        if not src_dir.is_dir():
            raise ModuleFetchError(f'the folder "{gs.subdir}" does not exist in {gs.url}')
        shutil.copytree(src_dir, target, ignore=shutil.ignore_patterns(".git"))
    return ManifestEntry(key, source, str(target.relative_to(root)))


def version_matches(entry: ManifestEntry, constraint: str | None) -> bool:
    """Whether a fetched module still meets its call's `version` constraint (always, for a
    source without versions or a call without a constraint)."""
    from mlform.versions import ConstraintError, satisfies

    if not constraint or entry.version is None:
        return True
    try:
        return satisfies(entry.version, constraint)
    except ConstraintError:
        return False
