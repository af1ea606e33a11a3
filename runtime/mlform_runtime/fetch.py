"""Inputs brought to the worker: trees from the artifact store (or a path on the worker),
verified by digest.

Read-only inputs (datasets, the model a server serves) are read in place when the store is a
folder on this machine, else fetched once per worker into `<cache>/trees/<hex>/` (downloaded
into a temporary folder, verified, renamed), so a second run of the same data downloads
nothing. Code is copied into the run's work folder, where the command may write.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path

from mlform_runtime.digest import DigestError, TreeDigest, digest_hex, digest_tree
from mlform_runtime.spec import Artifact
from mlform_runtime.stores import Store, StoreError, copy_tree, local_path_of, remove_tree

__all__ = ["FetchError", "fetch_readonly", "fetch_writable"]


class FetchError(Exception):
    """An input cannot be brought to the worker; the message names it."""


def _local_source(what: str, art: Artifact) -> tuple[Path, TreeDigest | None]:
    """The path an artifact's `uri` names on this worker, checked against its digest."""
    assert art.uri is not None
    path = local_path_of(art.uri)
    if path is None:
        raise FetchError(
            f"{what}: {art.uri} is not a path on this worker, and "
            + ("the store does not hold its digest" if art.digest else "no digest is given")
            + ": put remote trees in the artifact store and give their digest"
        )
    if not path.exists():
        raise FetchError(f"{what}: {path} does not exist on this worker")
    tree = None
    if art.digest is not None:
        try:
            tree = digest_tree(path)
        except DigestError as e:
            raise FetchError(f"{what}: {e}") from e
        if tree.digest != art.digest:
            raise FetchError(
                f"{what}: {path} holds {tree.digest}, not {art.digest}: it changed since the "
                "spec was written"
            )
    return path, tree


def fetch_readonly(
    what: str, art: Artifact, store: Store | None, cache: Path, log: Callable[[str], None]
) -> Path:
    """What a consumer reads for `art` (a folder, or the file of a single-file tree)."""
    if art.digest is not None and store is not None:
        try:
            here = store.tree_path(art.digest)
            if here is not None:
                return here
            hexd = digest_hex(art.digest)
            final = cache / "trees" / hexd
            marker = cache / "trees" / f"{hexd}.path"
            if final.is_dir() and marker.is_file():
                return final / marker.read_text() if marker.read_text() else final
            if store.exists(art.digest):
                log(f"fetching {what} ({art.digest[:19]}…) from the store")
                tmp = cache / "trees" / f".tmp-{hexd[:12]}-{uuid.uuid4().hex[:8]}"
                try:
                    consumer = store.get_tree(art.digest, tmp)
                    rel = "" if consumer == tmp else consumer.relative_to(tmp).as_posix()
                    try:
                        os.rename(tmp, final)
                    except OSError:
                        if not final.is_dir():
                            raise
                    marker.write_text(rel)
                finally:
                    remove_tree(tmp)
                return final / rel if rel else final
        except StoreError as e:
            raise FetchError(f"{what}: {e}") from e
    if art.uri is not None:
        path, _tree = _local_source(what, art)
        return path
    raise FetchError(f"{what}: {art.digest} is not in the artifact store")


def fetch_writable(
    what: str, art: Artifact, store: Store | None, dest: Path, log: Callable[[str], None]
) -> Path:
    """A writable copy of the tree `art` at `dest` (a new folder); returns `dest`."""
    if art.digest is not None and store is not None:
        try:
            if store.exists(art.digest):
                log(f"fetching {what} ({art.digest[:19]}…)")
                consumer = store.get_tree(art.digest, dest)
                return dest if consumer == dest else consumer.parent
        except StoreError as e:
            raise FetchError(f"{what}: {e}") from e
    if art.uri is not None:
        path, _tree = _local_source(what, art)
        dest.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            copy_tree(path, dest)
        else:
            copy_tree_file(path, dest)
        return dest
    raise FetchError(f"{what}: {art.digest} is not in the artifact store")


def copy_tree_file(path: Path, dest: Path) -> None:
    import shutil

    shutil.copyfile(path, dest / path.name)
