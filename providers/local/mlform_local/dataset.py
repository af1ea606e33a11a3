"""The local `dataset`: a file or folder captured as a content-addressed snapshot on disk.

Plan digests the source as it is now (the stat cache keeps an unchanged folder cheap) so the id,
which is the digest, is known at plan time and a changed file shows as an update whose reason
names the old and new digest. Apply stores the files once by hash and links them into a read-only
snapshot folder (`mlform_local.store`), so later edits of the source leave the recorded version
intact. Destroy forgets the resource but keeps the snapshot: the lineage of models trained on it
still points there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlform.kinds import dataset as schema
from mlform.kinds.common import is_digest, planned_attrs, short_digest
from mlform.kinds.digest import (
    Cancelled,
    DigestError,
    StatCache,
    TreeDigest,
    digest_tree,
    stat_cache_path,
    tree_changes,
    validate_glob,
)
from mlform.sdk import (
    UNKNOWN,
    ConfigError,
    Context,
    Kind,
    Planned,
    ProviderError,
    ResourceState,
    is_wholly_known,
)
from mlform.sdk.schema import parse_config
from mlform_local.provider import hold_applied, provider_data_dir
from mlform_local.store import Store, StoreError, held_by_token, hold, is_held, release


def parse_args(desired: dict[str, Any]) -> schema.Args:
    args = parse_config(schema.Args, desired)
    for name in ("include", "exclude"):
        for pattern in getattr(args, name):
            problem = validate_glob(pattern)
            if problem:
                raise ConfigError(f"invalid {name} pattern: {problem}", attribute=name)
    if args.version is not None and not is_digest(args.version):
        raise ConfigError(
            f'version = "{args.version}" is not a snapshot digest',
            "A version is the `digest` of a stored snapshot, sha256: followed by 64 hex digits, "
            "as `mlform state show` prints it.",
            attribute="version",
        )
    return args


class DatasetKind(Kind):
    """A file or folder snapshotted into the content store."""

    args = schema.Args
    attrs = schema.Attrs
    description = (
        "A file or folder captured as an immutable, content-addressed snapshot; its id is the "
        "sha256 digest of its content."
    )

    # -- helpers

    def _store(self, ctx: Context) -> Store:
        return Store(provider_data_dir(self.provider, ctx))

    def _source_path(self, args: schema.Args, ctx: Context) -> Path:
        return ctx.path(args.source)

    def _digest(self, args: schema.Args, ctx: Context) -> tuple[Path, TreeDigest]:
        scheme = args.source.split("://", 1)[0] if "://" in args.source else None
        if scheme is not None and scheme != "file":
            raise ConfigError(
                f"the local provider cannot read {scheme}:// sources",
                f'source = "{args.source}" names remote storage. Copy the data to this machine '
                "and give its path, or use a provider that reads it (for s3:// the aws provider).",
                attribute="source",
            )
        if scheme == "file":
            args = args.model_copy(update={"source": args.source[len("file://") :]})
        source = self._source_path(args, ctx)
        if not source.exists():
            raise ConfigError(
                f"dataset source {args.source} does not exist",
                f"Looked for {source}. Give a file or a folder, or pin a stored snapshot with "
                f"`version`. {ctx.path_hint(args.source)}",
                attribute="source",
            )
        cache = StatCache(stat_cache_path(provider_data_dir(self.provider, ctx)))
        try:
            tree = digest_tree(
                source,
                include=args.include,
                exclude=args.exclude,
                cache=cache,
                progress=ctx.progress,
                cancelled=lambda: ctx.cancelled,
                dangling="error",
            )
        except Cancelled:
            raise ProviderError("hashing the dataset was cancelled", retryable=True) from None
        except DigestError as e:
            if e.relpath is not None:
                # One entry of the folder: the user fixes it, or leaves it out.
                raise ConfigError(
                    f"cannot read dataset source {args.source}: {e.relpath} is unreadable",
                    f"{e}. Fix or remove it, or leave it out of the dataset with "
                    f'exclude = ["{e.relpath}"].',
                    attribute="source",
                ) from None
            raise ProviderError(f"cannot read dataset source {args.source}", str(e)) from None
        finally:
            cache.close()
        if tree.count == 0 and not tree.single_file:
            what = (
                "matches the include/exclude patterns"
                if args.include or args.exclude
                else "is in it"
            )
            raise ConfigError(
                f"dataset source {args.source} holds no files",
                f"No file under {source} {what}. An empty dataset is almost always a mistake in "
                "`source`, `include` or `exclude`.",
                attribute="include" if args.include else "source",
            )
        return source, tree

    def _pinned(self, args: schema.Args, ctx: Context) -> dict[str, Any]:
        """The manifest of the pinned snapshot; ConfigError naming what is stored when absent."""
        store = self._store(ctx)
        assert args.version is not None
        manifest = store.manifest(args.version) if store.has_snapshot(args.version) else None
        if manifest is None:
            stored = store.list_snapshots()
            source = str(self._source_path(args, ctx))
            same = [m for m in stored if m.get("source") == source]
            listed = same or stored
            if listed:
                lines = "\n".join(
                    f"  {m['digest']}  ({m.get('created_at', '?')}, from {m.get('source', '?')})"
                    for m in listed[:10]
                )
                more = f"\n  … and {len(listed) - 10} more" if len(listed) > 10 else ""
                which = "of this source" if same else "in the store"
                detail = f"Snapshots {which}:\n{lines}{more}"
            else:
                detail = f"The store at {store.root} holds no snapshot yet."
            raise ConfigError(
                f"dataset version {short_digest(args.version)} is not in the store",
                detail + "\nRemove `version` to snapshot the source as it is now.",
                attribute="version",
            )
        return manifest

    def _attrs_from_manifest(self, store: Store, manifest: dict[str, Any]) -> dict[str, Any]:
        digest = manifest["digest"]
        return {
            "id": digest,
            "digest": digest,
            "files": len(manifest.get("files", [])),
            "bytes": int(manifest.get("bytes", 0)),
            "uri": str(store.uri(digest)),
            "created_at": manifest.get("created_at"),
        }

    def _planned_attrs(self, store: Store, tree: TreeDigest) -> dict[str, Any]:
        folder = store.snapshot_path(tree.digest)
        uri = folder / tree.files[0].path if tree.single_file else folder
        manifest = store.manifest(tree.digest) if store.has_snapshot(tree.digest) else None
        return planned_attrs(
            schema.Attrs,
            id=tree.digest,
            digest=tree.digest,
            files=tree.count,
            bytes=tree.bytes,
            uri=str(uri),
            created_at=manifest.get("created_at") if manifest else UNKNOWN,
        )

    def _change_summary(self, store: Store, old_digest: str | None, tree: TreeDigest) -> str:
        old = store.manifest(old_digest) if old_digest and is_digest(old_digest) else None
        if old is None:
            return ""
        changes = tree_changes(TreeDigest.from_manifest(old).files, tree.files)
        return f" ({changes.summary()})"

    # -- operations

    def plan(self, prior: ResourceState | None, desired: dict[str, Any], ctx: Context) -> Planned:
        if not is_wholly_known(desired):
            return Planned(
                action="create" if prior is None else "update",
                attrs=planned_attrs(schema.Attrs),
                reasons=[] if prior is None else ["arguments not known until apply"],
                args=dict(desired),
            )
        args = parse_args(desired)
        store = self._store(ctx)
        normalized = args.model_dump()
        if args.version is not None:
            manifest = self._pinned(args, ctx)
            attrs = self._attrs_from_manifest(store, manifest)
            digest = attrs["digest"]
            private = {"digest": digest, "pinned": True}
        else:
            _source, tree = self._digest(args, ctx)
            attrs = self._planned_attrs(store, tree)
            digest = tree.digest
            private = {"digest": digest, "pinned": False}
        if prior is None:
            return Planned("create", attrs, args=normalized, private=private)

        before = {"include": [], "exclude": [], "version": None, **(prior.args or {})}
        if before.get("source") != normalized["source"]:
            return Planned(
                "replace",
                attrs,
                reasons=[f'source changed "{before.get("source")}" → "{normalized["source"]}"'],
                replace_paths=["source"],
                args=normalized,
                private=private,
            )
        reasons: list[str] = []
        old_digest = prior.attrs.get("digest")
        if old_digest != digest:
            how = "pinned version" if args.version else "content"
            reasons.append(
                f"{how} changed {short_digest(old_digest)} → {short_digest(digest)}"
                + ("" if args.version else self._change_summary(store, old_digest, tree))
            )
        elif not store.has_snapshot(digest):
            reasons.append(
                f"snapshot {short_digest(digest)} is missing from the store; it will be stored again"
            )
            attrs["created_at"] = UNKNOWN
        for name in ("include", "exclude", "version"):
            if before.get(name) != normalized[name]:
                reasons.append(
                    f"{name} changed {_show(before.get(name))} → {_show(normalized[name])}"
                )
        if not reasons:
            # Nothing to do: keep what was recorded (created_at of the stored snapshot).
            return Planned(
                "noop",
                {**attrs, **{k: v for k, v in prior.attrs.items() if k in attrs}},
                args=normalized,
                private=private,
            )
        return Planned("update", attrs, reasons=reasons, args=normalized, private=private)

    def _apply(self, planned: Planned, ctx: Context) -> ResourceState:
        args = parse_args(planned.args)
        store = self._store(ctx)
        if args.version is not None:
            manifest = self._pinned(args, ctx)
            attrs = self._attrs_from_manifest(store, manifest)
            source_path = manifest.get("source")
        else:
            source, tree = self._digest(args, ctx)
            expected = planned.private.get("digest") or planned.attrs.get("digest")
            if is_digest(expected) and expected != tree.digest:
                raise ProviderError(
                    f"dataset source {args.source} changed since the plan",
                    f"The plan snapshotted {expected}; the source now digests to {tree.digest}"
                    f"{self._change_summary(store, expected, tree)}. Run `mlform plan` again.",
                )
            try:
                store.put_tree(
                    source,
                    tree,
                    origin=str(source),
                    progress=ctx.progress,
                    cancelled=lambda: ctx.cancelled,
                )
            except (StoreError, DigestError) as e:
                raise ProviderError(
                    f"cannot snapshot dataset source {args.source}", str(e)
                ) from None
            except OSError as e:
                raise ProviderError(
                    f"cannot write the snapshot of {args.source} to {store.root}", str(e)
                ) from None
            manifest = store.manifest(tree.digest) or {}
            attrs = self._attrs_from_manifest(store, {**manifest, "digest": tree.digest})
            source_path = str(source)
        lineage = {
            "source": source_path,
            "digest": attrs["digest"],
            "files": attrs["files"],
            "bytes": attrs["bytes"],
            "snapshot": attrs["uri"],
            "pinned": args.version is not None,
        }
        ctx.lineage.update(lineage)
        return ResourceState(
            id=attrs["digest"],
            args=args.model_dump(),
            attrs=attrs,
            lineage=lineage,
            private={"source": source_path},
        )

    def create(self, planned: Planned, ctx: Context) -> ResourceState:
        return hold_applied(self.provider, schema.KIND, self._apply(planned, ctx), ctx)

    def update(self, prior: ResourceState, planned: Planned, ctx: Context) -> ResourceState:
        return hold_applied(self.provider, schema.KIND, self._apply(planned, ctx), ctx, prior)

    def read(self, state: ResourceState, ctx: Context) -> ResourceState | None:
        store = self._store(ctx)
        digest = state.attrs.get("digest") or state.id
        if state.id != digest or not is_digest(digest) or not store.has_snapshot(digest):
            return None
        if not is_held(store.data_dir, schema.KIND, state):
            return None  # deleted
        manifest = store.manifest(digest) or {}
        attrs = {**state.attrs, **self._attrs_from_manifest(store, {**manifest, "digest": digest})}
        return ResourceState(
            id=state.id, args=state.args, attrs=attrs, lineage=state.lineage, private=state.private
        )

    def delete(self, state: ResourceState, ctx: Context) -> None:
        # Only the resource's reference goes; the snapshot stays: models trained on it keep
        # their lineage, and another dataset with the same content may share it.
        release(provider_data_dir(self.provider, ctx), schema.KIND, state)

    def import_(self, id: str, ctx: Context) -> ResourceState:
        store = self._store(ctx)
        if not is_digest(id) or not store.has_snapshot(id):
            raise ProviderError(
                f"no stored dataset snapshot {short_digest(id)}",
                "Import a dataset by its digest (sha256:<64 hex>) as recorded when it was applied.",
            )
        manifest = store.manifest(id) or {}
        args = schema.Args(source=str(manifest.get("source", "")), version=id).model_dump()
        attrs = self._attrs_from_manifest(store, manifest)
        state = ResourceState(
            id=id, args=args, attrs=attrs, private={"source": manifest.get("source")}
        )
        return hold(store.data_dir, schema.KIND, state, address=ctx.address)

    def find_by_token(self, token: str, ctx: Context) -> ResourceState | None:
        state = held_by_token(provider_data_dir(self.provider, ctx), schema.KIND, token)
        if state is None or not self._store(ctx).has_snapshot(state.id):
            return None
        return state


def _show(value: Any) -> str:
    """An argument value as a plan reason shows it: digests shortened, otherwise as HCL/JSON."""
    if isinstance(value, str) and is_digest(value):
        return f'"{short_digest(value)}"'
    return json.dumps(value, default=str)
