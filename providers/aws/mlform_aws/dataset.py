"""The `dataset` kind on AWS: snapshots in the provider's artifact bucket.

    provider "aws" {
      region = "us-east-1"
      artifacts { bucket = "acme-ml-artifacts", prefix = "mlform/" }
    }
    resource "dataset" "digits" { source = "./data/digits" }          # uploaded
    resource "dataset" "logs"   { source = "s3://acme-raw/logs/2026" } # listed, not copied

A local folder (or file) is digested at plan as the local provider digests it (the stat cache
makes an unchanged folder a few stat calls; nothing is uploaded at plan). Apply uploads the
files whose content the bucket lacks, by sha256 (`mlform_aws.s3store`), then writes the
snapshot's manifest; `uri` is that manifest, `s3://bucket/prefix/datasets/<hex>.json`.

An `s3://bucket/prefix` source is read at plan by listing it, never by downloading: its
identity is the digest of the listing (each object's path under the prefix, size, ETag and,
in a versioned bucket, version id). Apply records that listing as the snapshot's manifest, so
the exact object versions a job read stay known.

`version = "sha256:..."` pins a dataset to a snapshot recorded earlier (its `digest`): the
source is not read at all, and the manifest in the artifact bucket says what the snapshot
holds (for an `s3://` source in a versioned bucket, the object versions to read).

A resource holds every snapshot it recorded (an update keeps the earlier one, so `version`
can pin it and the lineage of models trained on it still resolves). Destroy releases those
holds; a manifest goes when no other dataset resource holds it. Files' objects stay (other
snapshots may share them): collecting them is gc's work.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from mlform.kinds import dataset as schema
from mlform.kinds.common import is_digest, now_iso, planned_attrs, short_digest
from mlform.kinds.digest import (
    Cancelled,
    DigestError,
    FileEntry,
    PathFilter,
    StatCache,
    TreeDigest,
    digest_tree,
    stat_cache_path,
    tree_changes,
    validate_glob,
)
from mlform.sdk import (
    ConfigError,
    Context,
    Kind,
    Planned,
    ProviderError,
    ResourceState,
    is_wholly_known,
)
from mlform.sdk.schema import parse_config

if TYPE_CHECKING:
    from pathlib import Path

    from mlform_aws.s3store import ListedObject, S3Store

# What a manifest's `kind` says the snapshot is made of.
FILES = "files"  # uploaded files: [path, size, sha256]
LISTING = "listing"  # objects of an s3:// source: [path, size, etag, version]


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
    scheme = args.source.split("://", 1)[0] if "://" in args.source else None
    if scheme not in (None, "file", "s3"):
        raise ConfigError(
            f"the aws provider cannot read {scheme}:// sources",
            f'source = "{args.source}": give a local file or folder, or an s3://bucket/prefix.',
            attribute="source",
        )
    if scheme == "s3":
        from mlform_aws.s3store import parse_s3_uri

        try:
            parse_s3_uri(args.source)
        except ValueError as e:
            raise ConfigError(
                f"invalid source {args.source}",
                f"{e}; write s3://bucket/prefix.",
                attribute="source",
            ) from None
    return args


def _entries(manifest: dict[str, Any]) -> tuple[FileEntry, ...]:
    """A manifest's files as digest entries (for a listing, ETag@version stands for the hash)."""
    if manifest.get("kind") == LISTING:
        return tuple(FileEntry(f[0], int(f[1]), f"{f[2]}@{f[3]}") for f in manifest["files"])
    return tuple(FileEntry(f[0], int(f[1]), f[2]) for f in manifest.get("files", []))


class _Seen:
    """What plan or apply found at the source: its digest, files and what the manifest holds."""

    def __init__(
        self,
        digest: str,
        entries: tuple[FileEntry, ...],
        manifest: dict[str, Any],
        tree: TreeDigest | None = None,
        root: Path | None = None,
    ):
        self.digest = digest
        self.entries = entries
        self.manifest = manifest
        self.tree = tree
        self.root = root

    @property
    def bytes(self) -> int:
        return sum(e.size for e in self.entries)


class DatasetKind(Kind):
    """A local folder uploaded to S3 content-addressed, or an s3:// prefix listed."""

    args = schema.Args
    attrs = schema.Attrs
    description = (
        "A local file or folder uploaded to the artifact bucket content-addressed (only files "
        "not there yet), or an `s3://bucket/prefix` read by listing (key, size, ETag, version "
        "id); its id is the digest of its files or of the listing, and `uri` its manifest in S3."
    )

    # -- helpers

    def _store(self) -> S3Store:
        from mlform_aws.s3store import S3Store

        settings = getattr(self.provider, "settings", None)
        artifacts = getattr(settings, "artifacts", None)
        if artifacts is None or not artifacts.bucket:
            raise ConfigError(
                "the aws provider has no artifact bucket for datasets",
                "A dataset on AWS is stored in S3: name a bucket in the provider's "
                'configuration, provider "aws" { artifacts { bucket = "my-ml-artifacts" } } '
                "(see docs/providers/aws.md).",
            )
        return S3Store(self.provider.client("s3"), artifacts.bucket, artifacts.prefix)  # type: ignore[attr-defined]

    @contextmanager
    def _aws(self, doing: str) -> Iterator[None]:
        """botocore errors as a ProviderError saying what failed and what to do."""
        from mlform_aws.aws import AwsError, aws_errors

        session = getattr(self.provider, "_session", None)
        try:
            with aws_errors(session, doing):
                yield
        except AwsError as exc:
            raise ProviderError(exc.summary, exc.detail, retryable=exc.retryable) from None

    def _see(self, args: schema.Args, ctx: Context) -> _Seen:
        if args.source.startswith("s3://"):
            return self._list(args)
        return self._digest(args, ctx)

    def _digest(self, args: schema.Args, ctx: Context) -> _Seen:
        raw = args.source[len("file://") :] if args.source.startswith("file://") else args.source
        source = ctx.path(raw)
        if not source.exists():
            raise ConfigError(
                f"dataset source {args.source} does not exist",
                f"Looked for {source}. Give a file, a folder or an s3://bucket/prefix, or pin a "
                f"stored snapshot with `version`. {ctx.path_hint(raw)}",
                attribute="source",
            )
        cache = StatCache(stat_cache_path(ctx.data_dir))
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
        manifest = {**tree.to_manifest(), "kind": FILES, "source": str(source)}
        return _Seen(tree.digest, tree.files, manifest, tree, source)

    def _list(self, args: schema.Args) -> _Seen:
        from mlform_aws.s3store import list_source, listing_digest, parse_s3_uri

        bucket, prefix = parse_s3_uri(args.source)
        flt = PathFilter(args.include, args.exclude) if args.include or args.exclude else None
        client = self.provider.client("s3")  # type: ignore[attr-defined]
        from botocore.exceptions import BotoCoreError, ClientError

        from mlform_aws.aws import describe_error, error_code

        try:
            listed: list[ListedObject] = list_source(client, bucket, prefix, accept=flt)
        except (BotoCoreError, ClientError) as exc:
            if error_code(exc) == "NoSuchBucket":
                raise ConfigError(
                    f"the bucket of dataset source {args.source} does not exist",
                    f"S3 has no bucket {bucket!r} (in the account and endpoint the provider "
                    "uses). Check the name, or the provider's region and credentials.",
                    attribute="source",
                ) from None
            session = getattr(self.provider, "_session", None)
            err = describe_error(exc, f"listing {args.source}", session)
            raise ProviderError(err.summary, err.detail, retryable=err.retryable) from None
        if not listed:
            what = "matches the include/exclude patterns" if flt else "is under that prefix"
            raise ConfigError(
                f"dataset source {args.source} holds no objects",
                f"No object of s3://{bucket}/{prefix} {what}. An empty dataset is almost always "
                "a mistake in `source`, `include` or `exclude`.",
                attribute="include" if args.include else "source",
            )
        digest = listing_digest(listed)
        manifest = {
            "kind": LISTING,
            "digest": digest,
            "source": args.source,
            "bucket": bucket,
            "prefix": prefix,
            "bytes": sum(o.size for o in listed),
            "files": [[o.path, o.size, o.etag, o.version] for o in listed],
        }
        return _Seen(digest, _entries(manifest), manifest)

    def _manifest(self, store: S3Store, digest: str) -> dict[str, Any] | None:
        with self._aws(f"reading the manifest {store.uri(digest)}"):
            return store.get_manifest(digest)

    def _pinned(self, store: S3Store, args: schema.Args) -> dict[str, Any]:
        assert args.version is not None
        manifest = self._manifest(store, args.version)
        if manifest is None:
            raise ConfigError(
                f"dataset version {short_digest(args.version)} is not in the artifact bucket",
                f"No manifest at {store.uri(args.version)}. A version is the `digest` of a "
                "snapshot applied earlier with this provider's artifacts bucket. Remove "
                "`version` to snapshot the source as it is now.",
                attribute="version",
            )
        return manifest

    def _attrs(self, store: S3Store, manifest: dict[str, Any]) -> dict[str, Any]:
        digest = manifest["digest"]
        return {
            "id": digest,
            "digest": digest,
            "files": len(manifest.get("files", [])),
            "bytes": int(manifest.get("bytes", 0)),
            "uri": store.uri(digest),
            "created_at": manifest.get("created_at"),
        }

    def _change_summary(self, store: S3Store, old_digest: Any, seen: _Seen) -> str:
        if not is_digest(old_digest):
            return ""
        old = self._manifest(store, old_digest)
        if old is None or old.get("kind", FILES) != seen.manifest["kind"]:
            return ""
        return f" ({tree_changes(_entries(old), seen.entries).summary()})"

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
        store = self._store()
        normalized = args.model_dump()
        seen: _Seen | None = None
        if args.version is not None:
            attrs = self._attrs(store, self._pinned(store, args))
            digest = attrs["digest"]
        else:
            seen = self._see(args, ctx)
            digest = seen.digest
            attrs = planned_attrs(
                schema.Attrs,
                id=digest,
                digest=digest,
                files=len(seen.entries),
                bytes=seen.bytes,
                uri=store.uri(digest),
            )
        private = {"digest": digest, "pinned": args.version is not None}
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
            summary = self._change_summary(store, old_digest, seen) if seen is not None else ""
            reasons.append(
                f"{how} changed {short_digest(old_digest)} → {short_digest(digest)}{summary}"
            )
        for name in ("include", "exclude", "version"):
            if before.get(name) != normalized[name]:
                reasons.append(
                    f"{name} changed {_show(before.get(name))} → {_show(normalized[name])}"
                )
        if not reasons:
            # Refresh found the manifest (read): keep what was recorded.
            return Planned(
                "noop",
                {**attrs, **{k: v for k, v in prior.attrs.items() if k in attrs}},
                args=normalized,
                private=private,
            )
        return Planned("update", attrs, reasons=reasons, args=normalized, private=private)

    def _apply(self, planned: Planned, ctx: Context, token: str) -> ResourceState:
        args = parse_args(planned.args)
        store = self._store()
        if args.version is not None:
            manifest = self._pinned(store, args)
        else:
            seen = self._see(args, ctx)
            expected = planned.private.get("digest") or planned.attrs.get("digest")
            if is_digest(expected) and expected != seen.digest:
                raise ProviderError(
                    f"dataset source {args.source} changed since the plan",
                    f"The plan snapshotted {expected}; the source now digests to {seen.digest}"
                    f"{self._change_summary(store, expected, seen)}. Run `mlform plan` again.",
                )
            manifest = self._manifest(store, seen.digest)
            if manifest is None:
                if seen.tree is not None and seen.root is not None:
                    self._upload(store, seen, args, ctx)
                manifest = {**seen.manifest, "created_at": now_iso()}
                with self._aws(f"writing the manifest {store.uri(seen.digest)}"):
                    store.put_manifest(seen.digest, manifest)
            else:
                ctx.log(f"snapshot {short_digest(seen.digest)} is already in {store.describe()}")
        attrs = self._attrs(store, manifest)
        with self._aws(f"recording the hold on {store.uri(attrs['digest'])}"):
            store.hold(attrs["digest"], token, {"address": ctx.address, "args": args.model_dump()})
        lineage = {
            "source": manifest.get("source"),
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
            private={"token": token},
        )

    def _upload(self, store: S3Store, seen: _Seen, args: schema.Args, ctx: Context) -> None:
        assert seen.tree is not None and seen.root is not None
        root = seen.root
        if seen.tree.single_file:
            files = [(str(root), seen.tree.files[0])]
        else:
            files = [(str(root / e.path), e) for e in seen.tree.files]
        try:
            with self._aws(f"uploading {args.source} to {store.describe()}"):
                report = store.put_tree(
                    files,
                    progress=ctx.progress,
                    cancelled=lambda: ctx.cancelled,
                    label=root.name,
                )
        except InterruptedError:
            raise ProviderError("uploading the dataset was cancelled", retryable=True) from None
        except (ValueError, OSError) as e:
            raise ProviderError(
                f"cannot upload dataset source {args.source}",
                f"{e}. Run `mlform plan` again once the data is stable.",
            ) from None
        ctx.log(
            f"uploaded {report.uploaded} file{'s' if report.uploaded != 1 else ''} "
            f"({report.uploaded_bytes} bytes) to {store.describe()}; "
            f"{report.present} already there"
        )

    def create(self, planned: Planned, ctx: Context) -> ResourceState:
        return self._apply(planned, ctx, ctx.idempotency_token or uuid.uuid4().hex)

    def update(self, prior: ResourceState, planned: Planned, ctx: Context) -> ResourceState:
        token = str(prior.private.get("token") or ctx.idempotency_token or uuid.uuid4().hex)
        # The earlier snapshot stays held (pinnable with `version`, and read by the lineage
        # of models trained on it) until the resource is destroyed.
        return self._apply(planned, ctx, token)

    def read(self, state: ResourceState, ctx: Context) -> ResourceState | None:
        digest = state.attrs.get("digest") or state.id
        if not is_digest(digest):
            return None
        store = self._store()
        with self._aws(f"checking {store.uri(digest)}"):
            if not store.has_manifest(digest):
                return None
        return state

    def delete(self, state: ResourceState, ctx: Context) -> None:
        digest = state.attrs.get("digest") or state.id
        if not is_digest(digest):
            return
        store = self._store()
        with self._aws(f"removing the snapshot {store.uri(digest)}"):
            store.release_all(state.private.get("token"), digest)

    def import_(self, id: str, ctx: Context) -> ResourceState:
        store = self._store()
        manifest = self._manifest(store, id) if is_digest(id) else None
        if manifest is None:
            raise ProviderError(
                f"no dataset snapshot {short_digest(id)} in {store.describe()}",
                "Import a dataset by its digest (sha256:<64 hex>) as recorded when it was applied "
                "with this provider's artifact bucket.",
            )
        args = schema.Args(source=str(manifest.get("source", "")), version=id).model_dump()
        attrs = self._attrs(store, manifest)
        token = f"import-{uuid.uuid4().hex}"
        with self._aws(f"recording the hold on {store.uri(id)}"):
            store.hold(id, token, {"address": ctx.address, "args": args})
        return ResourceState(id=id, args=args, attrs=attrs, private={"token": token})

    def find_by_token(self, token: str, ctx: Context) -> ResourceState | None:
        store = self._store()
        with self._aws("looking up a dataset created before an interruption"):
            record = store.by_token(token)
            if record is None or not is_digest(record.get("digest")):
                return None
            manifest = store.get_manifest(record["digest"])
        if manifest is None:
            return None
        return ResourceState(
            id=manifest["digest"],
            args=dict(record.get("args") or {}),
            attrs=self._attrs(store, manifest),
            private={"token": token},
        )


def _show(value: Any) -> str:
    if isinstance(value, str) and is_digest(value):
        return f'"{short_digest(value)}"'
    return json.dumps(value, default=str)
