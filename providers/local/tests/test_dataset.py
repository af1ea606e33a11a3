"""The local dataset through the provider contract: plan, create, read, update, import, and the
errors a user meets."""

from __future__ import annotations

import os
import stat
import time

import pytest
from kindhelpers import make_ctx, make_provider
from mlform_local.store import dataset_snapshot_path, dataset_uri

from mlform.sdk import UNKNOWN, ConfigError, ProviderError


def write(path, data: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    t = time.time() - 5
    os.utime(path, (t, t))


@pytest.fixture
def env(tmp_path):
    ctx, rec = make_ctx(tmp_path)
    kind = make_provider(ctx).kind("dataset")
    data = ctx.module_dir / "data"
    write(data / "train.csv", b"a,b\n1,2\n")
    write(data / "test.csv", b"a,b\n3,4\n")
    write(data / "notes/readme.md", b"notes")
    return kind, ctx, data, rec


def apply(kind, ctx, desired, prior=None):
    planned = kind.plan(prior, desired, ctx)
    if planned.action == "create":
        return planned, kind.create(planned, ctx)
    if planned.action in ("update", "replace"):
        return planned, kind.update(prior, planned, ctx)
    return planned, prior


def test_create_snapshots_content(env):
    kind, ctx, data, _ = env
    planned = kind.plan(None, {"source": "./data"}, ctx)
    assert planned.action == "create"
    digest = planned.attrs["digest"]
    assert digest.startswith("sha256:") and planned.attrs["id"] == digest
    assert planned.attrs["files"] == 3 and planned.attrs["bytes"] == 21
    assert planned.attrs["created_at"] is UNKNOWN  # not stored yet
    state = kind.create(planned, ctx)
    assert state.id == digest
    snap = dataset_snapshot_path(ctx.data_dir, digest)
    assert state.attrs["uri"] == str(snap)
    assert (snap / "notes/readme.md").read_bytes() == b"notes"
    assert state.attrs["created_at"].endswith("Z")
    # Stored read-only, and linked from one blob per content.
    mode = (snap / "train.csv").stat().st_mode
    assert not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    assert (snap / "train.csv").stat().st_nlink == 2
    assert state.lineage["source"] == str(data)


def test_edits_of_the_source_do_not_reach_the_snapshot(env):
    kind, ctx, data, _ = env
    _, state = apply(kind, ctx, {"source": "data"})
    (data / "train.csv").write_bytes(b"a,b\n9,9\n")
    assert (
        dataset_snapshot_path(ctx.data_dir, state.id) / "train.csv"
    ).read_bytes() == b"a,b\n1,2\n"


def test_unchanged_is_noop_and_changed_is_an_update_with_reasons(env):
    kind, ctx, data, _ = env
    _, state = apply(kind, ctx, {"source": "data"})
    again = kind.plan(state, {"source": "data"}, ctx)
    assert again.action == "noop" and again.reasons == []
    assert again.attrs["created_at"] == state.attrs["created_at"]

    write(data / "train.csv", b"a,b\n1,3\n")
    write(data / "extra.csv", b"z")
    (data / "test.csv").unlink()
    changed = kind.plan(state, {"source": "data"}, ctx)
    assert changed.action == "update"
    new = changed.attrs["digest"]
    assert new != state.id
    assert changed.reasons == [
        f"content changed {state.id[:15]}… → {new[:15]}… (1 file changed, 1 added, 1 removed)"
    ]
    updated = kind.update(state, changed, ctx)
    assert updated.id == new
    # Both versions stay in the store.
    assert dataset_snapshot_path(ctx.data_dir, state.id).is_dir()
    assert dataset_snapshot_path(ctx.data_dir, new).is_dir()


def test_pinned_version_ignores_later_edits(env):
    kind, ctx, data, _ = env
    _, first = apply(kind, ctx, {"source": "data"})
    write(data / "train.csv", b"edited")
    pinned = kind.plan(first, {"source": "data", "version": first.id}, ctx)
    assert pinned.attrs["digest"] == first.id
    assert pinned.action == "update"  # only the argument changed
    assert pinned.reasons == [f'version changed null → "{first.id[:15]}…"']
    state = kind.update(first, pinned, ctx)
    assert state.id == first.id
    assert kind.plan(state, {"source": "data", "version": first.id}, ctx).action == "noop"


def test_pinned_version_not_stored_lists_what_is(env):
    kind, ctx, _, _ = env
    _, state = apply(kind, ctx, {"source": "data"})
    missing = "sha256:" + "0" * 64
    with pytest.raises(ConfigError) as err:
        kind.plan(None, {"source": "data", "version": missing}, ctx)
    assert err.value.attribute == "version"
    assert "is not in the store" in err.value.summary
    assert state.id in err.value.detail


def test_bad_version_text(env):
    kind, ctx, _, _ = env
    with pytest.raises(ConfigError) as err:
        kind.plan(None, {"source": "data", "version": "v1"}, ctx)
    assert err.value.attribute == "version"


def test_missing_source_is_a_config_error(env):
    kind, ctx, _, _ = env
    with pytest.raises(ConfigError) as err:
        kind.plan(None, {"source": "./nope"}, ctx)
    assert err.value.attribute == "source"
    assert "does not exist" in err.value.summary
    assert str(ctx.module_dir / "nope") in err.value.detail


def test_empty_selection_is_a_config_error(env):
    kind, ctx, _, _ = env
    with pytest.raises(ConfigError) as err:
        kind.plan(None, {"source": "data", "include": ["*.parquet"]}, ctx)
    assert err.value.attribute == "include"


def test_include_exclude(env):
    kind, ctx, _, _ = env
    planned = kind.plan(None, {"source": "data", "include": ["*.csv"], "exclude": ["test*"]}, ctx)
    assert planned.attrs["files"] == 1
    state = kind.create(planned, ctx)
    assert sorted(os.listdir(state.attrs["uri"])) == ["train.csv"]


def test_single_file_source(env):
    kind, ctx, data, _ = env
    _, state = apply(kind, ctx, {"source": "data/train.csv"})
    assert state.attrs["files"] == 1
    assert state.attrs["uri"].endswith("/train.csv")
    assert open(state.attrs["uri"], "rb").read() == b"a,b\n1,2\n"
    assert str(dataset_uri(ctx.data_dir, state.id)) == state.attrs["uri"]


def test_source_change_is_a_replace(env):
    kind, ctx, data, _ = env
    _, state = apply(kind, ctx, {"source": "data"})
    other = ctx.module_dir / "other"
    write(other / "x.csv", b"1")
    planned = kind.plan(state, {"source": "other"}, ctx)
    assert planned.action == "replace" and planned.replace_paths == ["source"]


def test_read_reports_a_missing_snapshot_as_gone(env):
    kind, ctx, _, _ = env
    _, state = apply(kind, ctx, {"source": "data"})
    assert kind.read(state, ctx) is not None
    from mlform_local.store import Store

    Store(ctx.data_dir).remove_snapshot(state.id)
    assert kind.read(state, ctx) is None
    # Planned with stale state (no refresh), it is stored again.
    again = kind.plan(state, {"source": "data"}, ctx)
    assert again.action == "update" and "missing from the store" in again.reasons[0]


def test_changed_between_plan_and_apply(env):
    kind, ctx, data, _ = env
    planned = kind.plan(None, {"source": "data"}, ctx)
    write(data / "train.csv", b"later")
    with pytest.raises(ProviderError, match="changed since the plan"):
        kind.create(planned, ctx)


def test_configured_data_dir(tmp_path):
    ctx, _ = make_ctx(tmp_path)
    kind = make_provider(ctx, data_dir="store-here").kind("dataset")
    write(ctx.module_dir / "d" / "f", b"1")
    _, state = apply(kind, ctx, {"source": "d"})
    assert state.attrs["uri"].startswith(str(ctx.module_dir / "store-here" / "store"))


def test_import(env):
    kind, ctx, _, _ = env
    _, state = apply(kind, ctx, {"source": "data"})
    imported = kind.import_(state.id, ctx)
    assert imported.attrs["digest"] == state.id and imported.attrs["files"] == 3
    with pytest.raises(ProviderError):
        kind.import_("sha256:" + "1" * 64, ctx)


def test_unknown_arguments_plan_unknown_attributes(env):
    kind, ctx, _, _ = env
    planned = kind.plan(None, {"source": UNKNOWN}, ctx)
    assert planned.action == "create" and planned.attrs["digest"] is UNKNOWN


def test_delete_forgets_the_resource_but_keeps_the_snapshot(env):
    kind, ctx, _, _ = env
    ctx.idempotency_token = "tok-1"
    _, state = apply(kind, ctx, {"source": "data"})
    assert kind.find_by_token("tok-1", ctx).id == state.id
    kind.delete(state, ctx)
    assert kind.read(state, ctx) is None
    assert kind.find_by_token("tok-1", ctx) is None
    assert dataset_snapshot_path(ctx.data_dir, state.id).is_dir()  # lineage still resolves
    kind.delete(state, ctx)  # idempotent


def test_remote_source_is_a_config_error(env):
    kind, ctx, _, _ = env
    with pytest.raises(ConfigError) as err:
        kind.plan(None, {"source": "s3://bucket/data"}, ctx)
    assert err.value.attribute == "source" and "s3://" in err.value.summary


# -- entries that cannot be read: a diagnostic on `source`, never an internal error ---------------


def _links(data, case: str) -> list[str]:
    """Make bad entries in the dataset folder; their relative paths."""
    if case == "self":
        os.symlink("self", data / "self")
        return ["self"]
    if case == "loop":
        os.symlink("b", data / "notes" / "a")
        os.symlink("a", data / "notes" / "b")
        return ["notes/a", "notes/b"]
    os.symlink("missing.csv", data / "gone.csv")
    return ["gone.csv"]


@pytest.mark.parametrize("case", ["self", "loop", "dangling"])
def test_bad_symbolic_link_is_a_config_error_naming_it(env, case):
    kind, ctx, data, _ = env
    bad = _links(data, case)
    with pytest.raises(ConfigError) as err:
        kind.plan(None, {"source": "data"}, ctx)
    assert err.value.attribute == "source"
    assert any(f"{rel} is unreadable" in err.value.summary for rel in bad)
    assert "symbolic link" in err.value.detail and "exclude = [" in err.value.detail
    # Leaving them out, as the hint says, digests the rest.
    planned = kind.plan(None, {"source": "data", "exclude": bad}, ctx)
    assert planned.attrs["files"] == 3


def test_unreadable_file_is_a_config_error_naming_it(env, monkeypatch):
    import mlform.kinds.digest as digest

    kind, ctx, _, _ = env
    real_open = os.open

    def refuse(path, flags, *a):  # chmod 000 does not stop root: refuse like the kernel would
        if str(path).endswith("test.csv"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *a)

    monkeypatch.setattr(digest.os, "open", refuse)
    with pytest.raises(ConfigError) as err:
        kind.plan(None, {"source": "data"}, ctx)
    assert err.value.attribute == "source"
    assert "test.csv" in err.value.summary
    assert "permission denied" in err.value.detail
