"""Where the runtime reads and writes: locations (a folder of named objects: the output) and
artifact stores (content-addressed trees: code, datasets, models), found by URI scheme.

A `Location` is a folder of named objects: `file:///srv/out` or a plain path (`LocalLocation`),
`https://host/prefix/` (`HttpLocation`: GET and PUT, each object's URL either the base URL
joined with its name, the base's query string kept, as a container-level signature allows, or
a presigned URL of its own from the `urls` map).

A `Store` holds trees by digest behind one small interface: `put_tree`, `get_tree`, `exists`,
`put_file`, `get_file`, `uri`. Its layout, the same in every store:

    blobs/<hex[:2]>/<hex>       each distinct file content once, named by its sha256
    manifests/<hex>.json        a tree: {digest, bytes, single_file, files: [[path, size, sha256]],
                                namespace, source, created_at}; written last, so a manifest that
                                exists names a complete tree
    snapshots/<hex>/ models/<hex>/
                                local stores only: the tree materialized (hard links to blobs,
                                read-only), for reading in place

which is the layout of mlform's local content store (`.mlform/store`), so the local provider can
hand the runtime its own store. `ObjectStore` implements it over any Location (an HTTP one now;
S3, GCS, Blob later); `LocalStore` over a folder, with the materialized trees.

A cloud adds its scheme without touching the runtime's core: a module that calls
`register_backend("s3", open_location=..., open_store=...)` when imported, found by the entry
point group `mlform_runtime.backends` (name: the scheme) or named by the spec (`store.backend`,
`output.backend`: a module path).
"""

from __future__ import annotations

import errno
import hashlib
import importlib
import json
import os
import shutil
import stat as stat_mod
import urllib.error
import urllib.parse
import urllib.request
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlform_runtime.digest import (
    CHUNK,
    DigestError,
    TreeDigest,
    digest_hex,
    digest_tree,
    is_digest,
)
from mlform_runtime.spec import Location as LocationSpec

__all__ = [
    "HttpLocation",
    "LocalLocation",
    "LocalStore",
    "Location",
    "ObjectStore",
    "Store",
    "StoreError",
    "local_path_of",
    "open_location",
    "open_store",
    "read_uri",
    "register_backend",
]

SNAPSHOTS, MODELS = "snapshots", "models"
ENTRY_POINT_GROUP = "mlform_runtime.backends"


class StoreError(Exception):
    """A store or location cannot do what was asked (not found, refused, content mismatch)."""


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# -- locations --------------------------------------------------------------------------------


class Location(ABC):
    """A folder of named objects (names are relative posix paths)."""

    @abstractmethod
    def read_bytes(self, name: str) -> bytes | None:
        """The object's content; None when it does not exist."""

    @abstractmethod
    def write_bytes(self, name: str, data: bytes) -> None:
        """Replace the object with `data` (readers see the old or the new content, whole)."""

    @abstractmethod
    def append_bytes(self, name: str, data: bytes) -> None:
        """Add `data` at the end of the object (created when missing)."""

    @abstractmethod
    def exists(self, name: str) -> bool: ...

    @abstractmethod
    def delete(self, name: str) -> None:
        """Remove the object; no error when it is gone."""

    def put_path(self, name: str, path: Path) -> None:
        """Upload a local file as the object (the default reads it whole)."""
        self.write_bytes(name, Path(path).read_bytes())

    def get_path(self, name: str, dest: Path) -> bool:
        """Download the object to a local file; False when it does not exist."""
        data = self.read_bytes(name)
        if data is None:
            return False
        Path(dest).write_bytes(data)
        return True

    @abstractmethod
    def uri(self, name: str = "") -> str: ...

    def local_dir(self) -> Path | None:
        """The local folder behind this location, when there is one."""
        return None

    def read_json(self, name: str) -> Any:
        """The object decoded as JSON; None when missing or not JSON."""
        data = self.read_bytes(name)
        if data is None:
            return None
        try:
            return json.loads(data)
        except ValueError:
            return None

    def write_json(self, name: str, value: Any) -> None:
        self.write_bytes(name, (json.dumps(value, indent=2, sort_keys=True) + "\n").encode())


def local_path_of(uri: str) -> Path | None:
    """The path of a `file://` URI or of a plain path; None for any other scheme."""
    parsed = urllib.parse.urlparse(uri)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            return None
        return Path(urllib.parse.unquote(parsed.path))
    if parsed.scheme == "" or (len(parsed.scheme) == 1 and os.name == "nt"):
        return Path(uri).expanduser()
    return None


class LocalLocation(Location):
    """A folder on this machine."""

    def __init__(self, root: Path):
        self.root = Path(root).absolute()

    def _path(self, name: str) -> Path:
        if name.startswith("/") or ".." in name.split("/"):
            raise StoreError(f"object name {name!r} leaves its location")
        return self.root / name if name else self.root

    def read_bytes(self, name: str) -> bytes | None:
        try:
            return self._path(name).read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None

    def write_bytes(self, name: str, data: bytes) -> None:
        path = self._path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:6]}.tmp")
        try:
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    def append_bytes(self, name: str, data: bytes) -> None:
        path = self._path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab") as f:
            f.write(data)

    def exists(self, name: str) -> bool:
        return self._path(name).exists()

    def delete(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)

    def put_path(self, name: str, path: Path) -> None:
        dest = self._path(name)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:6]}.tmp")
        try:
            shutil.copyfile(path, tmp)
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)

    def get_path(self, name: str, dest: Path) -> bool:
        src = self._path(name)
        if not src.is_file():
            return False
        shutil.copyfile(src, dest)
        return True

    def uri(self, name: str = "") -> str:
        return self._path(name).as_uri()

    def local_dir(self) -> Path:
        return self.root


class HttpLocation(Location):
    """Objects behind HTTP(S) URLs: GET reads, PUT writes, 404 is absent. Each object's URL is
    `urls[name]` when given (a presigned URL), else the base URL joined with the name, with the
    base's query string (a signature that covers a prefix) kept."""

    def __init__(self, base: str, urls: Mapping[str, str] | None = None, timeout: float = 60.0):
        self.base = base
        self.urls = dict(urls or {})
        self.timeout = timeout
        # What this process appended to each object: HTTP has no append, so the whole object
        # is written again each time.
        self._appended: dict[str, bytearray] = {}

    def url(self, name: str) -> str:
        if name in self.urls:
            return self.urls[name]
        parts = urllib.parse.urlsplit(self.base)
        path = parts.path if parts.path.endswith("/") else parts.path + "/"
        path += urllib.parse.quote(name)
        return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))

    def _request(
        self,
        method: str,
        name: str,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        req = urllib.request.Request(self.url(name), data=data, method=method)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                return resp.status, resp.read()
        except urllib.error.HTTPError as e:
            body = e.read()
            if e.code == 404:
                return 404, body
            raise StoreError(
                f"{method} {_redact(self.url(name))} answered HTTP {e.code}: "
                f"{body[:200].decode('utf-8', 'replace').strip()}"
            ) from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise StoreError(f"{method} {_redact(self.url(name))} failed: {reason}") from None

    def read_bytes(self, name: str) -> bytes | None:
        status, body = self._request("GET", name)
        return None if status == 404 else body

    def write_bytes(self, name: str, data: bytes) -> None:
        self._request("PUT", name, data, {"Content-Type": "application/octet-stream"})

    def append_bytes(self, name: str, data: bytes) -> None:
        buf = self._appended.get(name)
        if buf is None:
            buf = self._appended[name] = bytearray(self.read_bytes(name) or b"")
        buf += data
        self.write_bytes(name, bytes(buf))

    def exists(self, name: str) -> bool:
        try:
            status, _ = self._request("HEAD", name)
        except StoreError:
            # A URL presigned for GET refuses HEAD: ask for its first byte instead.
            status, _ = self._request("GET", name, headers={"Range": "bytes=0-0"})
        return status != 404

    def delete(self, name: str) -> None:
        self._request("DELETE", name)

    def uri(self, name: str = "") -> str:
        return _redact(self.url(name)) if name else _redact(self.base)


def _redact(url: str) -> str:
    """A URL without its query string (a signature must not reach logs or records)."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


# -- stores -----------------------------------------------------------------------------------


class Store(ABC):
    """Trees and files by digest (see the module docstring)."""

    @abstractmethod
    def put_tree(
        self, source: Path, *, namespace: str = SNAPSHOTS, origin: str | None = None
    ) -> TreeDigest:
        """Store the files of `source` (a folder or one file); return the tree (its `digest`
        names it). Idempotent. What is stored is what was read: the tree is digested from the
        stored copy."""

    @abstractmethod
    def get_tree(self, digest: str, dest: Path) -> Path:
        """Copy the tree `digest` to the new folder `dest`, verified against its digest; return
        what a consumer reads (`dest`, or the one file in it for a single-file tree)."""

    @abstractmethod
    def manifest(self, digest: str) -> dict[str, Any] | None: ...

    def exists(self, digest: str) -> bool:
        return self.manifest(digest) is not None

    @abstractmethod
    def put_file(self, path: Path) -> str:
        """Store one file's content; return `sha256:<hex>` of it."""

    @abstractmethod
    def get_file(self, digest: str, dest: Path) -> None: ...

    @abstractmethod
    def uri(self, digest: str) -> str:
        """Where the tree `digest` is, for records."""

    def tree_path(self, digest: str) -> Path | None:
        """The tree readable in place on this machine (read-only), when the store can give it;
        for a single-file tree, the file."""
        return None


def _manifest_key(digest: str) -> str:
    return f"manifests/{digest_hex(digest)}.json"


def _blob_key(hexdigest: str) -> str:
    return f"blobs/{hexdigest[:2]}/{hexdigest}"


def _check_digest(digest: str) -> None:
    if not is_digest(digest):
        raise StoreError(f"not a sha256 digest: {digest!r} (expected sha256: and 64 hex digits)")


def _read_manifest(raw: Any, digest: str, where: str) -> TreeDigest:
    if not isinstance(raw, dict):
        raise StoreError(f"the manifest of {digest} in {where} is not a JSON object")
    try:
        tree = TreeDigest.from_manifest(raw)
    except ValueError as e:
        raise StoreError(f"the manifest of {digest} in {where} is corrupt: {e}") from None
    if tree.digest != digest:
        raise StoreError(f"the manifest stored as {digest} in {where} describes {tree.digest}")
    return tree


def _consumer_path(tree: TreeDigest, folder: Path) -> Path:
    if tree.single_file and tree.files:
        return folder / tree.files[0].path
    return folder


def _manifest_doc(tree: TreeDigest, namespace: str, origin: str | None) -> dict[str, Any]:
    doc = tree.to_manifest()
    doc.update({"namespace": namespace, "source": origin or "", "created_at": now_iso()})
    return doc


class ObjectStore(Store):
    """The store's layout over any Location: blobs and manifests (no materialized trees)."""

    def __init__(self, location: Location):
        self.location = location

    def manifest(self, digest: str) -> dict[str, Any] | None:
        _check_digest(digest)
        raw = self.location.read_json(_manifest_key(digest))
        return raw if isinstance(raw, dict) else None

    def exists(self, digest: str) -> bool:
        _check_digest(digest)
        return self.location.exists(_manifest_key(digest))

    def put_tree(
        self, source: Path, *, namespace: str = SNAPSHOTS, origin: str | None = None
    ) -> TreeDigest:
        source = Path(source)
        tree = digest_tree(source)
        if self.exists(tree.digest):
            return tree
        for entry in tree.files:
            key = _blob_key(entry.sha256)
            if not self.location.exists(key):
                src = source if tree.single_file else source / entry.path
                if hash_of(src) != entry.sha256:
                    raise StoreError(f"{src} changed while it was being stored")
                self.location.put_path(key, src)
        doc = _manifest_doc(tree, namespace, origin or str(source))
        self.location.write_json(_manifest_key(tree.digest), doc)
        return tree

    def get_tree(self, digest: str, dest: Path) -> Path:
        _check_digest(digest)
        raw = self.location.read_json(_manifest_key(digest))
        if raw is None:
            raise StoreError(f"{digest} is not in the store {self.location.uri()}")
        tree = _read_manifest(raw, digest, self.location.uri())
        dest = Path(dest)
        dest.mkdir(parents=True, exist_ok=True)
        for entry in tree.files:
            target = dest / entry.path
            target.parent.mkdir(parents=True, exist_ok=True)
            if not self.location.get_path(_blob_key(entry.sha256), target):
                raise StoreError(f"{digest}: the blob of {entry.path} is missing from the store")
            if hash_of(target) != entry.sha256:
                raise StoreError(f"{digest}: {entry.path} does not match its digest after download")
        return _consumer_path(tree, dest)

    def put_file(self, path: Path) -> str:
        hexdigest = hash_of(path)
        key = _blob_key(hexdigest)
        if not self.location.exists(key):
            self.location.put_path(key, Path(path))
        return "sha256:" + hexdigest

    def get_file(self, digest: str, dest: Path) -> None:
        hexdigest = digest_hex(digest)
        if not self.location.get_path(_blob_key(hexdigest), dest):
            raise StoreError(f"file {digest} is not in the store {self.location.uri()}")
        if hash_of(dest) != hexdigest:
            raise StoreError(f"file {digest} does not match its digest after download")

    def uri(self, digest: str) -> str:
        return self.location.uri(_manifest_key(digest))


def hash_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _read_only(path: Path) -> None:
    mode = path.stat().st_mode
    path.chmod(mode & ~(stat_mod.S_IWUSR | stat_mod.S_IWGRP | stat_mod.S_IWOTH))


def remove_tree(path: Path) -> None:
    """Remove a folder that may be read-only; no error when it is gone."""
    path = Path(path)
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
        return
    if not path.exists():
        return
    for dirpath, _dirs, _files in os.walk(path):
        try:
            os.chmod(dirpath, os.stat(dirpath).st_mode | stat_mod.S_IWUSR)
        except OSError:
            pass
    shutil.rmtree(path, ignore_errors=True)


def copy_tree(src: Path, dest: Path) -> None:
    """A writable copy of a (possibly read-only) tree."""
    shutil.copytree(src, dest, symlinks=False, copy_function=shutil.copyfile, dirs_exist_ok=True)


class LocalStore(ObjectStore):
    """The store in a folder on this machine, with trees materialized for reading in place
    (`snapshots/<hex>/`, `models/<hex>/`: hard links to the blobs, read-only)."""

    def __init__(self, root: Path):
        self.root = Path(root).absolute()
        super().__init__(LocalLocation(self.root))

    def _folder(self, digest: str, namespace: str) -> Path:
        return self.root / namespace / digest_hex(digest)

    def tree_path(self, digest: str) -> Path | None:
        raw = self.manifest(digest)
        if raw is None:
            return None
        for namespace in (raw.get("namespace") or SNAPSHOTS, SNAPSHOTS, MODELS):
            folder = self._folder(digest, str(namespace))
            if folder.is_dir():
                tree = _read_manifest(raw, digest, str(self.root))
                return _consumer_path(tree, folder)
        return None

    def put_tree(
        self, source: Path, *, namespace: str = SNAPSHOTS, origin: str | None = None
    ) -> TreeDigest:
        source = Path(source)
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        staging = tmp_dir / f"put-{uuid.uuid4().hex}"
        try:
            # Copy first, digest the copy: what is stored is exactly what was read.
            if source.is_dir():
                shutil.copytree(source, staging / "t", copy_function=shutil.copyfile)
                copied = staging / "t"
            elif source.is_file():
                (staging).mkdir()
                copied = staging / source.name
                shutil.copyfile(source, copied)
            else:
                raise StoreError(f"{source} does not exist")
            tree = digest_tree(copied)
            final = self._folder(tree.digest, namespace)
            if self.exists(tree.digest) and final.is_dir():
                return tree
            for entry in tree.files:
                blob = self.root / _blob_key(entry.sha256)
                if not blob.exists():
                    blob.parent.mkdir(parents=True, exist_ok=True)
                    src = copied if tree.single_file else copied / entry.path
                    tmp = blob.with_name(f".{blob.name}.{uuid.uuid4().hex[:6]}.tmp")
                    shutil.copyfile(src, tmp)
                    _read_only(tmp)
                    os.replace(tmp, blob)
            folder_tmp = staging / "tree"
            for entry in tree.files:
                dest = folder_tmp / entry.path
                dest.parent.mkdir(parents=True, exist_ok=True)
                _link_or_copy(self.root / _blob_key(entry.sha256), dest)
            folder_tmp.mkdir(parents=True, exist_ok=True)
            for dirpath, _dirs, _files in sorted(os.walk(folder_tmp), key=lambda t: -len(t[0])):
                os.chmod(dirpath, 0o555)
            # The manifest is written before the folder's rename, as mlform's store does: a
            # tree counts as stored when both exist.
            if not self.exists(tree.digest):
                self.location.write_json(
                    _manifest_key(tree.digest),
                    _manifest_doc(tree, namespace, origin or str(source)),
                )
            final.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.rename(folder_tmp, final)
            except OSError as e:
                if not (e.errno in (errno.ENOTEMPTY, errno.EEXIST) and final.is_dir()):
                    raise
            return tree
        except DigestError as e:
            raise StoreError(str(e)) from e
        finally:
            remove_tree(staging)

    def get_tree(self, digest: str, dest: Path) -> Path:
        here = self.tree_path(digest)
        if here is None:
            return super().get_tree(digest, dest)
        raw = self.manifest(digest)
        assert raw is not None
        tree = _read_manifest(raw, digest, str(self.root))
        folder = here.parent if tree.single_file else here
        Path(dest).mkdir(parents=True, exist_ok=True)
        copy_tree(folder, Path(dest))
        return _consumer_path(tree, Path(dest))

    def uri(self, digest: str) -> str:
        raw = self.manifest(digest) or {}
        return self._folder(digest, str(raw.get("namespace") or SNAPSHOTS)).as_uri()


def _link_or_copy(blob: Path, dest: Path) -> None:
    try:
        os.link(blob, dest)
    except OSError:
        shutil.copyfile(blob, dest)
        _read_only(dest)


# -- the registry -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Backend:
    """How a URI scheme is reached: either function may be None when the scheme offers only
    the other."""

    open_location: Callable[[str, Mapping[str, str]], Location] | None = None
    open_store: Callable[[str, Mapping[str, str]], Store] | None = None


def _open_file_location(uri: str, urls: Mapping[str, str]) -> Location:
    path = local_path_of(uri)
    assert path is not None
    return LocalLocation(path)


def _open_file_store(uri: str, urls: Mapping[str, str]) -> Store:
    path = local_path_of(uri)
    assert path is not None
    return LocalStore(path)


def _open_http_location(uri: str, urls: Mapping[str, str]) -> Location:
    return HttpLocation(uri, urls)


def _open_http_store(uri: str, urls: Mapping[str, str]) -> Store:
    return ObjectStore(HttpLocation(uri, urls))


_BACKENDS: dict[str, Backend] = {
    "file": Backend(_open_file_location, _open_file_store),
    "http": Backend(_open_http_location, _open_http_store),
    "https": Backend(_open_http_location, _open_http_store),
}


def register_backend(
    scheme: str,
    *,
    open_location: Callable[[str, Mapping[str, str]], Location] | None = None,
    open_store: Callable[[str, Mapping[str, str]], Store] | None = None,
) -> None:
    """Make `scheme://` URIs usable as output locations and/or artifact stores. Each function
    takes (uri, urls: presigned URLs by object name)."""
    if open_location is None and open_store is None:
        raise ValueError("register_backend needs open_location or open_store")
    _BACKENDS[scheme.lower()] = Backend(open_location, open_store)


def _scheme(uri: str) -> str:
    if local_path_of(uri) is not None:
        return "file"
    return urllib.parse.urlparse(uri).scheme.lower()


def _backend(uri: str, module: str | None) -> Backend:
    scheme = _scheme(uri)
    if module:
        try:
            mod = importlib.import_module(module)
        except ImportError as e:
            raise StoreError(f"cannot import the store backend module {module!r}: {e}") from e
        if scheme not in _BACKENDS:
            ol, os_ = getattr(mod, "open_location", None), getattr(mod, "open_store", None)
            if ol is not None or os_ is not None:
                _BACKENDS[scheme] = Backend(ol, os_)
    if scheme not in _BACKENDS:
        from importlib.metadata import entry_points

        for ep in entry_points(group=ENTRY_POINT_GROUP, name=scheme):
            try:
                loaded = ep.load()
            except Exception as e:  # noqa: BLE001 - a broken plugin is reported, not raised
                raise StoreError(f"the {scheme}:// backend ({ep.value}) failed to load: {e}") from e
            if scheme not in _BACKENDS and (
                hasattr(loaded, "open_location") or hasattr(loaded, "open_store")
            ):
                _BACKENDS[scheme] = Backend(
                    getattr(loaded, "open_location", None), getattr(loaded, "open_store", None)
                )
            break
    if scheme not in _BACKENDS:
        known = ", ".join(f"{s}://" for s in sorted(_BACKENDS))
        raise StoreError(
            f"no backend for {scheme}:// URIs (this runtime knows {known} and plain paths). "
            f"Install the package that provides it (entry point group {ENTRY_POINT_GROUP!r}), "
            "or name its module in the spec's `backend` field."
        )
    return _BACKENDS[scheme]


def open_location(spec: LocationSpec | str) -> Location:
    """The Location a spec's `output` (or any URI) names."""
    if isinstance(spec, str):
        spec = LocationSpec(uri=spec)
    backend = _backend(spec.uri, spec.backend)
    if backend.open_location is None:
        raise StoreError(f"{spec.uri}: its scheme cannot be used as an output location")
    return backend.open_location(spec.uri, spec.urls)


def open_store(spec: LocationSpec | str) -> Store:
    """The Store a spec's `store` (or any URI) names."""
    if isinstance(spec, str):
        spec = LocationSpec(uri=spec)
    backend = _backend(spec.uri, spec.backend)
    if backend.open_store is None:
        raise StoreError(f"{spec.uri}: its scheme cannot be used as an artifact store")
    return backend.open_store(spec.uri, spec.urls)


def read_uri(uri: str) -> bytes:
    """The content of one object named by a full URI (a spec): a path, file://, http(s)://
    (the URL itself, presigned or not), or any registered scheme (its parent as a location)."""
    path = local_path_of(uri)
    if path is not None:
        try:
            return path.read_bytes()
        except OSError as e:
            raise StoreError(f"cannot read {path}: {e.strerror}") from e
    scheme = _scheme(uri)
    if scheme in ("http", "https"):
        loc = HttpLocation(uri, {"": uri})
        data = loc.read_bytes("")
    else:
        parent, _, name = uri.rpartition("/")
        data = open_location(parent).read_bytes(name)
    if data is None:
        raise StoreError(f"{_redact(uri)} does not exist")
    return data
