"""The content store: blobs by hash, read-only snapshots, models, and the id-to-path helpers."""

from __future__ import annotations

import os
import stat

import pytest
from mlform_local.store import (
    Store,
    dataset_exists,
    dataset_snapshot_path,
    dataset_uri,
    environment_info,
    environment_lock_digest,
    environment_path,
    environment_python,
    model_path,
    remove_tree,
    store_code,
    store_model,
)

from mlform.kinds.digest import digest_tree


def make_tree(root, files):
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)


def test_put_tree_links_one_blob_per_content(tmp_path):
    src = tmp_path / "src"
    make_tree(src, {"a": b"same", "b/c": b"same", "d": b"other"})
    store = Store(tmp_path / "data")
    tree, folder = store.put_tree(src)
    assert folder == dataset_snapshot_path(tmp_path / "data", tree.digest)
    assert (folder / "b/c").read_bytes() == b"same"
    assert os.path.samefile(folder / "a", folder / "b/c")  # one blob
    assert len([p for p in (store.root / "blobs").rglob("*") if p.is_file()]) == 2
    for p in [folder, folder / "b", folder / "a"]:
        assert not p.stat().st_mode & stat.S_IWUSR
    m = store.manifest(tree.digest)
    assert m["source"] == str(src) and m["created_at"] and len(m["files"]) == 3
    assert dataset_exists(tmp_path / "data", tree.digest)
    # Idempotent.
    again, folder2 = store.put_tree(src)
    assert (again.digest, folder2) == (tree.digest, folder)
    assert [s["digest"] for s in store.list_snapshots()] == [tree.digest]


def test_source_edits_do_not_reach_the_store(tmp_path):
    src = tmp_path / "src"
    make_tree(src, {"f": b"v1"})
    store = Store(tmp_path / "data")
    tree, folder = store.put_tree(src)
    (src / "f").write_bytes(b"v2")  # in place, same inode
    assert (folder / "f").read_bytes() == b"v1"


def test_content_changed_between_digest_and_store(tmp_path):
    src = tmp_path / "src"
    make_tree(src, {"f": b"v1"})
    tree = digest_tree(src)
    (src / "f").write_bytes(b"v2")
    store = Store(tmp_path / "data")
    with pytest.raises(Exception, match="changed while it was being stored"):
        store.put_tree(src, tree)
    assert not store.has_snapshot(tree.digest)
    assert not [p for p in (store.root / "snapshots").iterdir()]


def test_single_file_uri(tmp_path):
    src = tmp_path / "data.csv"
    src.write_bytes(b"1,2")
    tree, folder = Store(tmp_path / "d").put_tree(src)
    assert dataset_uri(tmp_path / "d", tree.digest) == folder / "data.csv"


def test_models_and_code(tmp_path):
    out = tmp_path / "out"
    make_tree(out, {"model.pkl": b"weights"})
    tree, folder = store_model(tmp_path / "d", out)
    assert folder == model_path(tmp_path / "d", tree.digest)
    assert (folder / "model.pkl").read_bytes() == b"weights"
    code = tmp_path / "code"
    make_tree(code, {"train.py": b"print(1)", "__pycache__/x.pyc": b"junk", ".git/HEAD": b"ref"})
    ctree, cfolder = store_code(tmp_path / "d", code)
    assert [f.path for f in ctree.files] == ["train.py"]


def test_remove_tree_of_read_only_snapshot(tmp_path):
    src = tmp_path / "src"
    make_tree(src, {"x/y": b"1"})
    store = Store(tmp_path / "d")
    tree, folder = store.put_tree(src)
    store.remove_snapshot(tree.digest)
    assert not folder.exists() and not store.has_snapshot(tree.digest)
    remove_tree(folder)  # already gone: fine


def test_environment_helpers(tmp_path):
    env_id = "env-" + "a" * 64
    assert environment_path(tmp_path, env_id) == tmp_path / "envs" / env_id
    assert environment_python(tmp_path, env_id) == tmp_path / "envs" / env_id / "bin" / "python"
    assert environment_info(tmp_path, env_id) is None
    assert environment_lock_digest(tmp_path, env_id) is None
    with pytest.raises(ValueError):
        environment_path(tmp_path, "../etc")


def test_cancelled_store_leaves_no_snapshot(tmp_path):
    src = tmp_path / "src"
    make_tree(src, {"a": b"1", "b": b"2"})
    store = Store(tmp_path / "d")
    with pytest.raises(Exception, match="cancelled"):
        store.put_tree(src, cancelled=lambda: True)
    assert store.list_snapshots() == []
    assert [p.name for p in (store.root / "snapshots").iterdir()] == []
