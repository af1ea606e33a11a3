"""The local provider's artifact store, as `mlform gc` and `mlform reproduce` use it: trees by
digest, and retention of snapshots, models, run-cache records and run folders by the names the
kept serials mention (a running run and live references are never removed)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from jobhelpers import Recorder, provider
from mlform_local import runcache
from mlform_local.artifacts import LocalArtifacts
from mlform_local.store import Store, store_model


def _folder(root: Path, name: str, text: str) -> Path:
    root.mkdir(parents=True)
    (root / f"{name}.txt").write_text(text)
    return root


def _run(data_dir: Path, run_id: str, *, finished: bool, token: str | None = None) -> Path:
    folder = data_dir / "runs" / "training_job.fit" / run_id
    attempt = folder / "attempt-1"
    attempt.mkdir(parents=True)
    (folder / "job.json").write_text(json.dumps({"address": "training_job.fit"}))
    if finished:
        (attempt / "result.json").write_text(json.dumps({"state": "succeeded"}))
    else:
        # This test process stands in for the runtime that is still running.
        (attempt / "status.json").write_text(json.dumps({"pid": os.getpid()}))
    if token:
        tokens = data_dir / "runs" / "tokens"
        tokens.mkdir(parents=True, exist_ok=True)
        (tokens / f"{token}.json").write_text(json.dumps({"run_dir": str(folder)}))
    return folder


def test_the_provider_opens_the_store_its_identity_names(tmp_path: Path) -> None:
    rec = Recorder(tmp_path)
    prov = provider()
    here = prov.artifacts(rec.ctx('provider["local"]'))
    assert isinstance(here, LocalArtifacts) and here.data_dir == rec.data_dir.absolute()
    elsewhere = prov.artifacts(rec.ctx('provider["local"]'), {"data_dir": str(tmp_path / "o")})
    assert isinstance(elsewhere, LocalArtifacts) and elsewhere.data_dir == tmp_path / "o"


def test_trees_by_digest(tmp_path: Path) -> None:
    data_dir = tmp_path / ".mlform"
    tree, _ = Store(data_dir).put_tree(_folder(tmp_path / "code", "train", "print(1)\n"))
    model, _ = store_model(data_dir, _folder(tmp_path / "out", "model", "w=2\n"))
    art = LocalArtifacts(data_dir)
    assert art.exists(tree.digest) and art.exists(model.digest)
    assert not art.exists("sha256:" + "0" * 64)
    assert Path(art.uri(model.digest)).is_dir()
    copy = art.get_tree(tree.digest, tmp_path / "copy")
    assert (copy / "train.txt").read_text() == "print(1)\n"
    (copy / "train.txt").write_text("writable\n")  # a copy, not the read-only snapshot
    assert "content store" in art.describe() and str(data_dir) in art.describe()


def test_gc_removes_what_no_kept_name_leads_to(tmp_path: Path) -> None:
    data_dir = tmp_path / ".mlform"
    store = Store(data_dir)
    kept_ds, _ = store.put_tree(_folder(tmp_path / "a", "a", "kept\n"))
    old_ds, _ = store.put_tree(_folder(tmp_path / "b", "b", "old\n"))
    old_model, _ = store_model(data_dir, _folder(tmp_path / "m", "model", "old\n"))
    kept_model, _ = store_model(data_dir, _folder(tmp_path / "k", "model", "kept\n"))
    fp_old, fp_kept, fp_unmentioned = ("sha256:" + c * 64 for c in "abc")
    runcache.keep(data_dir, fp_old, {"attrs": {"model_digest": old_model.digest}})
    runcache.keep(data_dir, fp_kept, {"attrs": {"model_digest": kept_model.digest}})
    runcache.keep(data_dir, fp_unmentioned, {"attrs": {"model_digest": kept_model.digest}})
    old_run = _run(data_dir, "20260101T000000Z-old", finished=True, token="t-old")
    kept_run = _run(data_dir, "20260102T000000Z-kept", finished=True, token="t-kept")
    running = _run(data_dir, "20260103T000000Z-running", finished=False)

    keep = {d.split(":")[1] for d in (kept_ds.digest, kept_model.digest, fp_kept)} | {kept_run.name}
    art = LocalArtifacts(data_dir)
    dry = art.gc(keep, dry_run=True)
    gone = {(r.kind, r.name) for r in dry.removals}
    assert gone == {
        ("snapshot", old_ds.digest),
        ("model", old_model.digest),
        ("run", fp_old),  # its model goes
        ("run", fp_unmentioned),  # no kept serial mentions its fingerprint
        ("run folder", old_run.name),
    }
    assert dry.blobs == 1 and dry.bytes > 0  # "old\n", stored once for both trees
    # A dry run removes nothing.
    assert old_run.is_dir() and store.has_snapshot(old_ds.digest)

    report = art.gc(keep, dry_run=False)
    assert {(r.kind, r.name) for r in report.removals} == gone
    assert not old_run.exists() and kept_run.is_dir() and running.is_dir()
    assert not store.has_snapshot(old_ds.digest) and store.has_snapshot(kept_ds.digest)
    assert not store.has_snapshot(old_model.digest, "models")
    assert runcache.find(data_dir, fp_kept) is not None
    assert runcache.find(data_dir, fp_old) is None
    assert runcache.find(data_dir, fp_unmentioned) is None
    tokens = data_dir / "runs" / "tokens"
    assert not (tokens / "t-old.json").exists() and (tokens / "t-kept.json").exists()
    assert art.gc(keep, dry_run=False).removals == []
