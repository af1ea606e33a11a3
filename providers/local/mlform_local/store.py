"""The local provider's content-addressed store on disk and venv layout, and the helpers that
turn recorded ids back into paths. Nothing outside the local provider reads it directly: `mlform
gc` and `mlform reproduce` go through `mlform_local.artifacts` (`Provider.artifacts`).

Layout under a provider's data dir (`ctx.data_dir`, `.mlform/` by default):

    store/blobs/ab/ab12…            each distinct file content once, named by its sha256, read-only
    store/snapshots/<hex>/…         a dataset or code snapshot: the tree, hard links to blobs
    store/manifests/<hex>.json      what a snapshot holds (TreeDigest manifest, source, created_at)
    store/models/<hex>/…            model artifacts, same scheme (manifests in store/manifests/)
    envs/<env-id>/                  built environments (`mlform-env.json` inside once complete)
    cache/stat.db                   the stat cache of `mlform.kinds.digest`
    refs/<kind>/<ref-id>.json       which resource holds which stored object (see `hold`)

Snapshots are made in a temporary folder and renamed into place, so one that exists is complete.
Files are hard-linked from the blobs where the filesystem allows, else copied; they and their
folders are made read-only so a job cannot change a recorded version by accident. Blobs are copied
from the source, never linked to it, so a later edit of the source cannot reach the store.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import stat as stat_mod
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlform.kinds.common import digest_hex, format_digest, now_iso
from mlform.kinds.digest import FileEntry, TreeDigest, default_threads, digest_tree, read_buffer

ENV_MARKER = "mlform-env.json"
SNAPSHOTS = "snapshots"
MODELS = "models"

ProgressFn = Callable[[float, float | None, str], None]


class StoreError(Exception):
    """The store cannot do what was asked (content changed while copied, disk full)."""


def _read_only(path: Path) -> None:
    mode = path.stat().st_mode
    path.chmod(mode & ~(stat_mod.S_IWUSR | stat_mod.S_IWGRP | stat_mod.S_IWOTH))


def _writable_tree(path: Path) -> None:
    """Give the owner write permission back on a read-only tree, so it can be removed."""
    for dirpath, dirnames, _files in os.walk(path):
        os.chmod(dirpath, os.stat(dirpath).st_mode | stat_mod.S_IWUSR)
        for d in dirnames:
            p = os.path.join(dirpath, d)
            if not os.path.islink(p):
                os.chmod(p, os.stat(p).st_mode | stat_mod.S_IWUSR)


def remove_tree(path: Path) -> None:
    """Remove a folder that may be read-only; no error when it is gone."""
    if not path.exists() and not path.is_symlink():
        return
    if path.is_dir() and not path.is_symlink():
        _writable_tree(path)
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


class Store:
    """The content store under `data_dir/store`."""

    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir)
        self.root = self.data_dir / "store"

    # -- paths

    def blob_path(self, sha256_hex: str) -> Path:
        return self.root / "blobs" / sha256_hex[:2] / sha256_hex

    def snapshot_path(self, digest: str, namespace: str = SNAPSHOTS) -> Path:
        """The folder of the snapshot `sha256:<hex>` (whether or not it exists)."""
        return self.root / namespace / digest_hex(digest)

    def manifest_path(self, digest: str) -> Path:
        return self.root / "manifests" / f"{digest_hex(digest)}.json"

    def has_snapshot(self, digest: str, namespace: str = SNAPSHOTS) -> bool:
        try:
            return (
                self.snapshot_path(digest, namespace).is_dir()
                and self.manifest_path(digest).is_file()
            )
        except ValueError:
            return False

    def manifest(self, digest: str) -> dict[str, Any] | None:
        """What `put_tree` recorded for a snapshot: the TreeDigest manifest plus `source`,
        `created_at`, `namespace`. None when not stored."""
        try:
            return json.loads(self.manifest_path(digest).read_text())
        except (FileNotFoundError, ValueError):
            return None

    def list_snapshots(self, namespace: str = SNAPSHOTS) -> list[dict[str, Any]]:
        """The stored snapshots' manifests, newest first (without their file lists)."""
        out: list[dict[str, Any]] = []
        folder = self.root / namespace
        if not folder.is_dir():
            return out
        for child in folder.iterdir():
            if len(child.name) != 64 or not child.is_dir():
                continue
            m = self.manifest(format_digest(child.name))
            if m is None:
                continue
            m.pop("files", None)
            out.append(m)
        out.sort(key=lambda m: m.get("created_at", ""), reverse=True)
        return out

    def uri(self, digest: str, namespace: str = SNAPSHOTS) -> Path:
        """What a consumer reads: the snapshot folder, or the one file in it when the snapshot
        was taken of a single file."""
        folder = self.snapshot_path(digest, namespace)
        m = self.manifest(digest)
        if m and m.get("single_file") and m.get("files"):
            return folder / m["files"][0][0]
        return folder

    # -- writing

    def put_blob(self, src: Path, expected_hex: str | None = None) -> str:
        """Copy a file's content into the blobs (once per content) and return its sha256 hex. When
        `expected_hex` is given and the blob exists, nothing is read; a copy whose hash differs
        from it (the source changed meanwhile) is discarded with StoreError."""
        if expected_hex is not None and self.blob_path(expected_hex).exists():
            return expected_hex
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        tmp = tmp_dir / f"blob-{uuid.uuid4().hex}"
        h = hashlib.sha256()
        buf, view = read_buffer()
        try:
            with open(src, "rb", buffering=0) as fin, open(tmp, "wb") as fout:
                while n := fin.readinto(buf):
                    h.update(view[:n])
                    fout.write(view[:n])
            actual = h.hexdigest()
            if expected_hex is not None and actual != expected_hex:
                raise StoreError(
                    f"{src} changed while it was being stored (expected sha256 {expected_hex[:12]}…, "
                    f"read {actual[:12]}…)"
                )
            dest = self.blob_path(actual)
            if dest.exists():
                return actual
            dest.parent.mkdir(parents=True, exist_ok=True)
            _read_only(tmp)
            os.replace(tmp, dest)
            return actual
        finally:
            tmp.unlink(missing_ok=True)

    def put_tree(
        self,
        source: Path,
        tree: TreeDigest | None = None,
        *,
        namespace: str = SNAPSHOTS,
        origin: str | None = None,
        progress: ProgressFn | None = None,
        extra: dict[str, Any] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> tuple[TreeDigest, Path]:
        """Store the files of `source` (a folder, or a single file) as the snapshot `tree` (digest
        it first when None) and return the tree and the snapshot's folder. Idempotent: a stored
        snapshot is returned as it is. `origin` (default: `source`) and `extra` go to the manifest.
        When `cancelled()` turns true, stops with StoreError and leaves no snapshot."""
        source = Path(source)
        if tree is None:
            tree = digest_tree(source)
        final = self.snapshot_path(tree.digest, namespace)
        if self.has_snapshot(tree.digest, namespace):
            return tree, final
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.parent / f".tmp-{final.name[:12]}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            total = tree.bytes
            done = 0
            last = 0.0
            lock = threading.Lock()

            def store_one(entry: FileEntry) -> None:
                nonlocal done, last
                if cancelled is not None and cancelled():
                    raise StoreError("storing the snapshot was cancelled")
                src = source if tree.single_file else source / entry.path
                self.put_blob(src, entry.sha256)
                if progress is not None:
                    with lock:
                        done += entry.size
                        if time.monotonic() - last > 0.2:
                            last = time.monotonic()
                            progress(done, total, f"storing {source.name}")

            # Copying and hashing release the GIL: blobs are stored by a few threads at once.
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=default_threads()) as pool:
                list(pool.map(store_one, tree.files))
            for entry in tree.files:
                dest = tmp / entry.path
                dest.parent.mkdir(parents=True, exist_ok=True)
                _link_or_copy(self.blob_path(entry.sha256), dest)
            # Folders read-only too, deepest first (a read-only parent would block its children).
            for dirpath, _dirs, _files in sorted(os.walk(tmp), key=lambda t: -len(t[0])):
                os.chmod(dirpath, 0o555)
            manifest = tree.to_manifest()
            manifest.update(
                {
                    "namespace": namespace,
                    "source": str(origin if origin is not None else source),
                    "created_at": now_iso(),
                    **(extra or {}),
                }
            )
            mpath = self.manifest_path(tree.digest)
            mpath.parent.mkdir(parents=True, exist_ok=True)
            mtmp = mpath.with_name(mpath.name + f".tmp-{uuid.uuid4().hex[:8]}")
            mtmp.write_text(json.dumps(manifest, indent=None, separators=(",", ":")))
            os.replace(mtmp, mpath)
            try:
                os.rename(tmp, final)
            except OSError as e:
                # Another process stored the same snapshot first: theirs is as good as ours.
                if e.errno in (errno.ENOTEMPTY, errno.EEXIST) and final.is_dir():
                    remove_tree(tmp)
                else:
                    raise
        except BaseException:
            remove_tree(tmp)
            raise
        return tree, final

    def remove_snapshot(self, digest: str, namespace: str = SNAPSHOTS) -> None:
        """Remove a snapshot and its manifest (its blobs stay: other snapshots may share them)."""
        remove_tree(self.snapshot_path(digest, namespace))
        self.manifest_path(digest).unlink(missing_ok=True)


def _link_or_copy(blob: Path, dest: Path) -> None:
    try:
        os.link(blob, dest)
    except OSError:
        shutil.copyfile(blob, dest)
        _read_only(dest)


# -- id → path helpers (the conventions providers and their kinds rely on) -----------------------


def dataset_snapshot_path(data_dir: Path, dataset_id: str) -> Path:
    """The snapshot folder of the dataset whose id (= digest) is `sha256:<hex>`."""
    return Store(data_dir).snapshot_path(dataset_id)


def dataset_uri(data_dir: Path, dataset_id: str) -> Path:
    """What a job should read for a dataset id: the snapshot folder, or the file itself when the
    dataset's source was a single file."""
    return Store(data_dir).uri(dataset_id)


def dataset_exists(data_dir: Path, dataset_id: str) -> bool:
    return Store(data_dir).has_snapshot(dataset_id)


def model_path(data_dir: Path, model_digest: str) -> Path:
    """The folder of stored model artifacts `sha256:<hex>` (see `store_model`)."""
    return Store(data_dir).snapshot_path(model_digest, MODELS)


def store_model(
    data_dir: Path,
    output_dir: Path,
    *,
    origin: str | None = None,
    extra: dict[str, Any] | None = None,
) -> tuple[TreeDigest, Path]:
    """Store a job's output folder as model artifacts; returns the tree (its `digest` is the
    model digest) and the read-only folder in the store."""
    return Store(data_dir).put_tree(Path(output_dir), namespace=MODELS, origin=origin, extra=extra)


def store_code(
    data_dir: Path,
    code_dir: Path,
    *,
    exclude: tuple[str, ...] | list[str] = (),
    cache: Any = None,
) -> tuple[TreeDigest, Path]:
    """Snapshot a code folder (leaving out `DEFAULT_CODE_EXCLUDES` and `exclude`); returns the
    tree (its `digest` is the code digest) and the read-only snapshot folder."""
    tree = digest_tree(Path(code_dir), exclude=[*DEFAULT_CODE_EXCLUDES, *exclude], cache=cache)
    return Store(data_dir).put_tree(Path(code_dir), tree)


# What a code snapshot leaves out: version control and caches, not part of the program.
DEFAULT_CODE_EXCLUDES: tuple[str, ...] = (
    ".git/",
    ".hg/",
    ".svn/",
    "__pycache__/",
    "*.pyc",
    ".mlform/",
    ".venv/",
    ".ipynb_checkpoints/",
    ".DS_Store",
)


def envs_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "envs"


def environment_path(data_dir: Path, env_id: str) -> Path:
    """The folder of the built environment `env-<hex>` (whether or not it is built)."""
    if not env_id.startswith("env-") or "/" in env_id or env_id in ("env-", "env-."):
        raise ValueError(f"not an environment id: {env_id!r} (expected env-<hex>)")
    return envs_dir(data_dir) / env_id


def environment_info(data_dir: Path, env_id: str) -> dict[str, Any] | None:
    """The record of a built environment (`id`, `request`, `lock`, `digest`, `python_version`,
    `python`, `env`, `created_at`); None when it is not built."""
    try:
        return json.loads((environment_path(data_dir, env_id) / ENV_MARKER).read_text())
    except (FileNotFoundError, ValueError):
        return None


def environment_python(data_dir: Path, env_id: str) -> Path:
    """The Python interpreter of a built environment (`<env>/bin/python`)."""
    root = environment_path(data_dir, env_id)
    if os.name == "nt":
        return root / "Scripts" / "python.exe"
    return root / "bin" / "python"


def environment_bin(data_dir: Path, env_id: str) -> Path:
    """The folder of an environment's executables, to put first on PATH."""
    return environment_python(data_dir, env_id).parent


def environment_env(data_dir: Path, env_id: str) -> dict[str, str]:
    """The variables the environment's `env` argument sets for processes run in it ({} when not
    built)."""
    info = environment_info(data_dir, env_id)
    return dict((info or {}).get("env") or {})


def environment_lock_digest(data_dir: Path, env_id: str) -> str | None:
    """The lock digest of a built environment, None when not built (yet)."""
    info = environment_info(data_dir, env_id)
    return None if info is None else info.get("digest")


# -- references: which resource holds which stored object ---------------------------------------
#
# Snapshots and built environments are shared and outlive the resources that made them (lineage
# points at them). What a resource owns is a reference: `refs/<kind>/<ref-id>.json`, written on
# create and update, removed on delete. `read` reports a resource gone when its reference is, and
# `find_by_token` finds a create whose answer was lost by the reference named after its token.


def ref_id_for(token: str | None) -> str:
    """The reference id of a create: derived from its idempotency token when there is one (so a
    retried create finds the same reference), else random."""
    if token:
        return hashlib.sha256(token.encode()).hexdigest()[:32]
    return uuid.uuid4().hex


def ref_path(data_dir: Path, kind: str, ref_id: str) -> Path:
    if not ref_id or "/" in ref_id or ref_id.startswith("."):
        raise ValueError(f"not a reference id: {ref_id!r}")
    return Path(data_dir) / "refs" / kind / f"{ref_id}.json"


def write_ref(data_dir: Path, kind: str, ref_id: str, record: dict[str, Any]) -> None:
    """Write (atomically) the record of the resource holding `ref_id`: plain data, typically
    `id`, `args`, `attrs`, `lineage`, `address`."""
    path = ref_path(data_dir, kind, ref_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp-{uuid.uuid4().hex[:8]}")
    tmp.write_text(json.dumps({**record, "updated_at": now_iso()}, default=str))
    os.replace(tmp, path)


def read_ref(data_dir: Path, kind: str, ref_id: str) -> dict[str, Any] | None:
    try:
        return json.loads(ref_path(data_dir, kind, ref_id).read_text())
    except (FileNotFoundError, ValueError):
        return None


def remove_ref(data_dir: Path, kind: str, ref_id: str) -> None:
    try:
        ref_path(data_dir, kind, ref_id).unlink(missing_ok=True)
    except ValueError:
        pass


def refs_to(data_dir: Path, kind: str, target_id: str) -> list[dict[str, Any]]:
    """The records of every live reference of `kind` to the object `target_id`."""
    folder = Path(data_dir) / "refs" / kind
    out = []
    if folder.is_dir():
        for p in folder.glob("*.json"):
            try:
                rec = json.loads(p.read_text())
            except (OSError, ValueError):
                continue
            if rec.get("id") == target_id:
                out.append(rec)
    return out


def hold(data_dir: Path, kind: str, state: Any, *, address: str, token: str | None = None) -> Any:
    """Record that the resource `state` (a ResourceState) holds its object: write its reference
    (reusing `state.private["ref"]` when set, else one derived from `token`) and return the state
    with `private["ref"]` set."""
    ref = state.private.get("ref") or ref_id_for(token)
    state.private = {**state.private, "ref": ref}
    write_ref(
        data_dir,
        kind,
        ref,
        {
            "id": state.id,
            "args": state.args,
            "attrs": state.attrs,
            "lineage": state.lineage,
            "private": state.private,
            "address": address,
        },
    )
    return state


def is_held(data_dir: Path, kind: str, state: Any) -> bool:
    """False when the state's reference was removed (the resource was deleted); True when it
    exists or the state predates references."""
    ref = (state.private or {}).get("ref")
    return ref is None or read_ref(data_dir, kind, ref) is not None


def release(data_dir: Path, kind: str, state: Any) -> None:
    """Remove the state's reference (idempotent)."""
    ref = (state.private or {}).get("ref")
    if ref:
        remove_ref(data_dir, kind, ref)


def held_by_token(data_dir: Path, kind: str, token: str) -> Any:
    """The ResourceState recorded by the create that used `token`, or None."""
    from mlform.sdk import ResourceState

    rec = read_ref(data_dir, kind, ref_id_for(token))
    if rec is None:
        return None
    return ResourceState(
        id=rec["id"],
        args=rec.get("args") or {},
        attrs=rec.get("attrs") or {},
        lineage=rec.get("lineage"),
        private=rec.get("private") or {},
    )
