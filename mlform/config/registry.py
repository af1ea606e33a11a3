"""Module sources from a module registry, with Terraform's registry protocol.

A registry source is `HOST/NAMESPACE/NAME/PROVIDER` (optionally `//sub/dir`), with a `version`
constraint beside it in the module block:

    module "vpc" {
      source  = "registry.example.com/acme/train-and-serve/local"
      version = "~> 1.2"
    }

`mlform init` fetches it in four steps:

1. service discovery: `GET https://HOST/.well-known/mlform.json`, and on a 404
   `GET https://HOST/.well-known/terraform.json` (so that any Terraform module registry serves
   mlform too, and a host can serve mlform's modules apart from its Terraform ones); the
   document's `modules.v1` is the base URL of the modules API, relative to the document;
2. the versions: `GET BASE/NAMESPACE/NAME/PROVIDER/versions`; the newest version that the
   constraint allows is chosen (pre-releases only when the constraint names one);
3. the download: `GET BASE/NAMESPACE/NAME/PROVIDER/VERSION/download` answers 204 with the
   `X-Terraform-Get` header (or 200 with `{"location": ...}`): a git source (`git::https://...`,
   fetched as `mlform init` fetches any git source) or an https archive (`.tar.gz`, `.tgz`,
   `.zip`, or `?archive=tar.gz|zip`), either with an optional `//sub/dir`;
4. the module's files go into `.mlform/modules/`, recorded in the manifest with the version.

Credentials: `MLFORM_TOKEN_<host>` (the host name with `.` as `_` and `-` as `__`, as Terraform's
`TF_TOKEN_...`) is sent as `Authorization: Bearer ...` to the registry host, and to an archive
on that same host.

Registries are reached over https. Plain http is used only for a loopback host (`localhost`,
`127.0.0.1`, `::1`) when `MLFORM_REGISTRY_ALLOW_HTTP_LOOPBACK=1` is set, for tests and for a
registry run on one's own machine.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit, urlunsplit

__all__ = [
    "RegistrySource",
    "RegistryError",
    "is_registry_source",
    "fetch_registry",
    "choose_version",
    "token_variable",
]

TIMEOUT_S = 30.0
LOOPBACK = {"localhost", "127.0.0.1", "::1", "[::1]"}
HTTP_SETTING = "MLFORM_REGISTRY_ALLOW_HTTP_LOOPBACK"
_PART = re.compile(r"^[0-9A-Za-z](?:[0-9A-Za-z_.-]{0,62}[0-9A-Za-z])?$")
_HOST = re.compile(r"^(?:[0-9A-Za-z.-]+|\[[0-9a-fA-F:]+\])(?::\d+)?$")


class RegistryError(Exception):
    """A registry source that cannot be fetched: what went wrong and what to do."""


@dataclass(frozen=True)
class RegistrySource:
    host: str  # with its port, if any
    namespace: str
    name: str
    provider: str
    subdir: str = ""

    @staticmethod
    def parse(source: str) -> RegistrySource | None:
        """The registry address of `source`, or None when it is not one (a local path, a git
        or URL source, or a three-part address without a host)."""
        if (
            source.startswith(("./", "../", "/", "git@", "github.com/", "bitbucket.org/"))
            or "::" in source
            or "://" in source
        ):
            return None
        addr, _, sub = source.partition("//")
        parts = addr.split("/")
        if len(parts) != 4:
            return None
        host, namespace, name, provider = parts
        if not _HOST.match(host) or not ("." in host or ":" in host or host == "localhost"):
            return None
        if not all(_PART.match(p) for p in (namespace, name, provider)):
            return None
        return RegistrySource(host.lower(), namespace, name, provider, sub.strip("/"))

    @property
    def hostname(self) -> str:
        host = self.host
        if host.startswith("["):
            return host[: host.index("]") + 1]
        return host.rsplit(":", 1)[0] if ":" in host else host

    @property
    def module(self) -> str:
        return f"{self.namespace}/{self.name}/{self.provider}"

    def __str__(self) -> str:
        return f"{self.host}/{self.module}" + (f"//{self.subdir}" if self.subdir else "")


def is_registry_source(source: str) -> bool:
    return RegistrySource.parse(source) is not None


def token_variable(hostname: str) -> str:
    """`MLFORM_TOKEN_registry_example_com` for `registry.example.com` (`-` as `__`)."""
    return "MLFORM_TOKEN_" + hostname.strip("[]").replace("-", "__").replace(".", "_").replace(
        ":", "_"
    )


# -- versions -------------------------------------------------------------------------------------


def _key(version: str) -> tuple[tuple[int, ...], int, str]:
    core, _, pre = version.lstrip("v").partition("-")
    core = core.split("+", 1)[0]
    nums = tuple(int(p) for p in core.split(".") if p.isdigit())
    # A release sorts after its pre-releases.
    return nums, 0 if pre else 1, pre


def choose_version(versions: list[str], constraint: str | None) -> str | None:
    """The newest of `versions` that `constraint` allows (any, when None); pre-releases only
    when the constraint names a pre-release. ConstraintError on a constraint that cannot be
    read."""
    from mlform.versions import parse_constraints, satisfies

    wants_pre = bool(constraint and "-" in constraint)
    if constraint:
        parse_constraints(constraint)  # a bad constraint is an error even with no versions
    ok = []
    for v in versions:
        if not re.match(r"^v?\d+(\.\d+)*([-+][0-9A-Za-z.-]+)?$", v):
            continue
        if "-" in v and not wants_pre:
            continue
        if constraint and not satisfies(v, constraint):
            continue
        ok.append(v)
    return max(ok, key=_key) if ok else None


# -- HTTP -----------------------------------------------------------------------------------------


class _Client:
    def __init__(self, src: RegistrySource):
        self.src = src
        loopback = src.hostname in LOOPBACK
        self.scheme = "http" if loopback and os.environ.get(HTTP_SETTING) == "1" else "https"
        self.token = os.environ.get(token_variable(src.hostname)) or None

    def base(self) -> str:
        return f"{self.scheme}://{self.src.host}"

    def get(self, url: str) -> tuple[int, dict[str, str], bytes]:
        """GET `url`: status, headers (lower-case names), body. Error statuses are returned, not
        raised; a host that cannot be reached is a RegistryError."""
        parts = urlsplit(url)
        if parts.scheme == "http" and not (
            parts.hostname in LOOPBACK and os.environ.get(HTTP_SETTING) == "1"
        ):
            raise RegistryError(
                f"{url} is plain http: mlform fetches modules over https only (http only for a "
                f"loopback host with {HTTP_SETTING}=1)."
            )
        headers = {"Accept": "application/json", "User-Agent": "mlform"}
        if self.token and (parts.netloc.lower() == self.src.host):
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(url, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
                return (
                    resp.status,
                    {k.lower(): v for k, v in resp.headers.items()},
                    resp.read(),
                )
        except urllib.error.HTTPError as exc:
            return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RegistryError(
                f"cannot reach the module registry at {self.src.host} ({url}): {reason}. "
                "Check the host name and your network, then run mlform init again."
            ) from None

    def json(self, url: str, what: str) -> Any:
        status, _, body = self.get(url)
        if status != 200:
            raise RegistryError(self._status_text(status, url, what))
        try:
            return json.loads(body)
        except ValueError:
            raise RegistryError(f"{url} did not answer JSON ({what}).") from None

    def _status_text(self, status: int, url: str, what: str) -> str:
        if status in (401, 403):
            hint = (
                f"the token in {token_variable(self.src.hostname)} was refused"
                if self.token
                else f"set {token_variable(self.src.hostname)} to a token for {self.src.hostname}"
            )
            return f"the registry {self.src.host} refused access to {what} (HTTP {status}): {hint}."
        return f"the registry {self.src.host} answered HTTP {status} for {what} ({url})."


def _modules_base(client: _Client) -> str:
    base = client.base()
    for name in ("mlform.json", "terraform.json"):
        url = f"{base}/.well-known/{name}"
        status, _, body = client.get(url)
        if status == 404:
            continue
        if status != 200:
            raise RegistryError(client._status_text(status, url, "its service discovery"))
        try:
            doc = json.loads(body)
        except ValueError:
            raise RegistryError(f"{url} is not a JSON service discovery document.") from None
        modules = doc.get("modules.v1") if isinstance(doc, dict) else None
        if not isinstance(modules, str):
            raise RegistryError(
                f"{client.src.host} is not a module registry: {url} names no modules.v1 service."
            )
        joined = urljoin(url, modules)
        return joined if joined.endswith("/") else joined + "/"
    raise RegistryError(
        f"{client.src.host} is not a module registry: neither /.well-known/mlform.json nor "
        "/.well-known/terraform.json exists there."
    )


def _versions(client: _Client, base: str) -> list[str]:
    src = client.src
    url = f"{base}{src.module}/versions"
    status, _, body = client.get(url)
    if status == 404:
        raise RegistryError(
            f'the registry {src.host} has no module "{src.module}". Check the namespace, name '
            "and provider in the source."
        )
    if status != 200:
        raise RegistryError(client._status_text(status, url, f"the versions of {src.module}"))
    try:
        doc = json.loads(body)
        return [str(v["version"]) for m in doc.get("modules", []) for v in m.get("versions", [])]
    except (ValueError, TypeError, KeyError, AttributeError):
        raise RegistryError(f"{url} did not answer a list of module versions.") from None


def _location(client: _Client, base: str, version: str) -> str:
    url = f"{base}{client.src.module}/{version}/download"
    status, headers, body = client.get(url)
    location = headers.get("x-terraform-get")
    if location is None and status == 200:
        try:
            location = json.loads(body).get("location")
        except (ValueError, AttributeError):
            location = None
    if status not in (200, 204):
        raise RegistryError(
            client._status_text(status, url, f"the download of {client.src.module} {version}")
        )
    if not location:
        raise RegistryError(
            f"{url} named no source to download (no X-Terraform-Get header or location)."
        )
    # A relative location is relative to the download URL (as go-getter reads it).
    if "::" not in location and not location.startswith(("git@", "github.com/")):
        location = urljoin(url, location)
    return location


# -- fetching -------------------------------------------------------------------------------------


def _split_subdir(url: str) -> tuple[str, str]:
    """`https://h/x.tar.gz//sub?q` -> (`https://h/x.tar.gz?q`, `sub`)."""
    query = ""
    if "?" in url:
        url, query = url.split("?", 1)
    start = url.find("://") + 3 if "://" in url else 0
    idx = url.find("//", start)
    sub = ""
    if idx >= 0:
        url, sub = url[:idx], url[idx + 2 :]
    return (url + ("?" + query if query else "")), sub.strip("/")


def _archive_kind(url: str) -> tuple[str | None, str]:
    """The archive type of an URL (`tar.gz` or `zip`) and the URL without `archive=`."""
    parts = urlsplit(url)
    params = parse_qs(parts.query)
    kind = params.pop("archive", [None])[0]
    clean = urlunsplit(parts._replace(query=urlencode(params, doseq=True)))
    path = parts.path.lower()
    if kind is None:
        if path.endswith((".tar.gz", ".tgz")):
            kind = "tar.gz"
        elif path.endswith(".zip"):
            kind = "zip"
    elif kind == "tgz":
        kind = "tar.gz"
    return kind, clean


def _safe_member(name: str) -> bool:
    p = PurePosixPath(name)
    return not p.is_absolute() and ".." not in p.parts


def _extract(data: bytes, kind: str, into: Path, url: str) -> None:
    try:
        if kind == "zip":
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                for info in zf.infolist():
                    if not _safe_member(info.filename):
                        raise RegistryError(
                            f"the archive {url} holds an unsafe path: {info.filename}"
                        )
                zf.extractall(into)
        else:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tf:
                members = []
                for m in tf.getmembers():
                    if not _safe_member(m.name) or not (m.isfile() or m.isdir()):
                        raise RegistryError(
                            f"the archive {url} holds an unsafe entry (a link, a device, or a "
                            f"path outside it): {m.name}"
                        )
                    members.append(m)
                tf.extractall(into, members=members)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
        raise RegistryError(f"the archive {url} cannot be read as {kind}: {exc}") from None


def fetch_registry(
    source: str,
    constraint: str | None,
    root: Path,
    key: str,
    log: Callable[[str], None] = lambda line: None,
) -> tuple[str, str]:
    """Fetch a registry source into `.mlform/modules/<key>-<hash>/`: (the folder relative to
    `root`, the version chosen). RegistryError with what went wrong."""
    from mlform.config.modules import MODULES_DIR, ModuleFetchError, fetch_git
    from mlform.versions import ConstraintError

    src = RegistrySource.parse(source)
    if src is None:
        raise RegistryError(f'"{source}" is not a registry source (HOST/NAMESPACE/NAME/PROVIDER).')
    client = _Client(src)
    base = _modules_base(client)
    versions = _versions(client, base)
    try:
        version = choose_version(versions, constraint)
    except ConstraintError as exc:
        raise RegistryError(str(exc)) from None
    if version is None:
        shown = ", ".join(sorted(versions, key=_key)[-8:]) or "none"
        raise RegistryError(
            f'no version of {src.module} on {src.host} matches "{constraint}" (available: '
            f"{shown}). Change the version constraint."
            if constraint
            else f"{src.module} on {src.host} has no released version (available: {shown})."
        )
    log(f"- fetching {src} {version}")
    location = _location(client, base, version)
    digest = hashlib.sha256(f"{source}@{version}".encode()).hexdigest()[:12]
    target = root / MODULES_DIR / f"{key}-{digest}"
    is_git = location.startswith(("git::", "git@", "github.com/")) or urlsplit(
        location
    ).path.endswith(".git")
    target.parent.mkdir(parents=True, exist_ok=True)
    if is_git:
        git_source = (
            location
            if "::" in location or location.startswith(("git@", "github.com/"))
            else "git::" + location
        )
        try:
            entry = fetch_git(git_source, root, f"{key}-{digest}-git", log)
        except (ModuleFetchError, ValueError) as exc:
            raise RegistryError(f"{src.module} {version} comes from {location}: {exc}") from None
        scratch = entry.dir(root)
        fetched = scratch
    else:
        url, sub_in_url = _split_subdir(location)
        kind, clean = _archive_kind(url)
        if kind is None:
            raise RegistryError(
                f"{src.module} {version} comes from {location}, which is neither a git source "
                "nor an archive mlform can read (.tar.gz, .tgz, .zip, or ?archive=tar.gz|zip)."
            )
        status, _, data = client.get(clean)
        if status != 200:
            raise RegistryError(
                client._status_text(status, clean, f"the archive of {src.module} {version}")
            )
        scratch = Path(tempfile.mkdtemp(dir=target.parent, prefix=".fetch-"))
        _extract(data, kind, scratch, clean)
        fetched = scratch / sub_in_url if sub_in_url else scratch
    try:
        # The source's own //subdir, inside what was fetched.
        module_dir = fetched / src.subdir if src.subdir else fetched
        if not module_dir.is_dir():
            raise RegistryError(
                f'{src.module} {version} ({location}) has no folder "{module_dir.relative_to(scratch)}".'
            )
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(module_dir, target, ignore=shutil.ignore_patterns(".git"))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return str(target.relative_to(root)), version
