"""The content-addressed artifact store in S3, and listings of `s3://` sources.

An artifact bucket (`provider "aws" { artifacts { bucket = "...", prefix = "mlform/" } }`)
holds, under its prefix:

    objects/sha256/ab/cdef…             a file's content, keyed by its sha256 (stored once)
    datasets/<hex>.json                 a snapshot's manifest (its files: path, size, sha256;
                                        or, for an s3:// source, key, size, ETag, version)
    datasets/<hex>.holders/<token>      one per dataset resource holding the snapshot
    tokens/<token>                      the snapshot a create with that idempotency token made

A local folder is uploaded file by file, only the files whose content is not in the bucket
already (found by listing the `objects/sha256/ab/` shards the snapshot needs, in parallel, a
thousand keys per call), large ones in parts. The manifest is written last, so a manifest
that exists names only objects that exist.

An `s3://bucket/prefix` source is never downloaded at plan: it is listed (ListObjectsV2, or
ListObjectVersions when the bucket is versioned, to learn each object's version id) and its
identity is the digest of that listing.

boto3 is imported only inside these functions.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from mlform.kinds.common import digest_hex, format_digest
from mlform.kinds.digest import FileEntry

__all__ = [
    "MULTIPART_THRESHOLD",
    "ListedObject",
    "S3Store",
    "UploadReport",
    "list_source",
    "listing_digest",
    "parse_s3_uri",
]

# Files from this size on are uploaded in parts (boto3's TransferConfig threshold).
MULTIPART_THRESHOLD = 64 << 20
MULTIPART_CHUNKSIZE = 16 << 20
# Parallel S3 calls (listing shards, uploading files).
WORKERS = 8
# Keys per listing call (S3 answers at most 1000).
LIST_PAGE_SIZE = 1000

ProgressFn = Callable[[float, float | None, str], None]


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """(bucket, key prefix) of `s3://bucket/prefix`; ValueError when it is not one."""
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri}")
    rest = uri[len("s3://") :]
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise ValueError(f"no bucket in {uri}")
    return bucket, prefix


def normalize_prefix(prefix: str) -> str:
    """A key prefix that is empty or ends with one `/` (`"mlform"` -> `"mlform/"`)."""
    prefix = prefix.strip("/")
    return f"{prefix}/" if prefix else ""


# -- s3:// sources --------------------------------------------------------------------------


@dataclass(frozen=True)
class ListedObject:
    """One object of an `s3://` source: its path relative to the prefix, size, ETag (quotes
    removed) and version id ("" when the bucket is not versioned)."""

    path: str
    size: int
    etag: str
    version: str = ""


def listing_digest(objects: Iterable[ListedObject]) -> str:
    """`sha256:<hex>` over one line per object, sorted by path:
    `<path> NUL <size> NUL <etag> NUL <version> LF` (see mlform.kinds.dataset)."""
    h = hashlib.sha256()
    for o in sorted(objects, key=lambda o: o.path):
        h.update(f"{o.path}\0{o.size}\0{o.etag}\0{o.version}\n".encode())
    return format_digest(h.hexdigest())


def as_entries(objects: Iterable[ListedObject]) -> tuple[FileEntry, ...]:
    """Listed objects as digest entries (the ETag and version standing for the content hash),
    so that `mlform.kinds.digest.tree_changes` says what changed between two listings."""
    return tuple(FileEntry(o.path, o.size, f"{o.etag}@{o.version}") for o in objects)


def list_source(
    client: Any,
    bucket: str,
    prefix: str,
    *,
    accept: Callable[[str], bool] | None = None,
    versioned: bool | None = None,
) -> list[ListedObject]:
    """Every object under `s3://bucket/prefix` (read by listing, nothing downloaded), sorted
    by path. A prefix that is not a whole key is read as a folder (`data` lists `data/...`).
    `accept(path)` filters by the path relative to the prefix. `versioned`: None asks the
    bucket (GetBucketVersioning); True lists object versions, to record each one's id."""
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    if versioned is None:
        got = client.get_bucket_versioning(Bucket=bucket)
        versioned = got.get("Status") in ("Enabled", "Suspended")
    out: list[ListedObject] = []
    cut = len(prefix)
    if versioned:
        pages = client.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix)
        for page in pages:
            for v in page.get("Versions", ()):
                if not v.get("IsLatest"):
                    continue
                rel = v["Key"][cut:]
                if not rel or rel.endswith("/") or (accept is not None and not accept(rel)):
                    continue
                version = v.get("VersionId") or ""
                out.append(
                    ListedObject(
                        rel,
                        int(v["Size"]),
                        str(v.get("ETag", "")).strip('"'),
                        "" if version == "null" else version,
                    )
                )
            # A key whose latest version is a delete marker is gone: its older versions were
            # skipped above (not IsLatest), and the marker itself holds nothing.
    else:
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": LIST_PAGE_SIZE}
        )
        for page in pages:
            for o in page.get("Contents", ()):
                rel = o["Key"][cut:]
                if not rel or rel.endswith("/") or (accept is not None and not accept(rel)):
                    continue
                out.append(ListedObject(rel, int(o["Size"]), str(o.get("ETag", "")).strip('"')))
    out.sort(key=lambda o: o.path)
    return out


# -- the artifact store ---------------------------------------------------------------------


@dataclass
class UploadReport:
    """What `S3Store.put_tree` did: files and bytes sent, files already in the bucket."""

    uploaded: int = 0
    uploaded_bytes: int = 0
    present: int = 0


class S3Store:
    """The content-addressed store under `s3://bucket/prefix` (see the module docstring)."""

    def __init__(self, client: Any, bucket: str, prefix: str = "mlform/"):
        self.client = client
        self.bucket = bucket
        self.prefix = normalize_prefix(prefix)

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    # keys

    def object_key(self, sha256_hex: str) -> str:
        return f"{self.prefix}objects/sha256/{sha256_hex[:2]}/{sha256_hex[2:]}"

    def manifest_key(self, digest: str) -> str:
        return f"{self.prefix}datasets/{digest_hex(digest)}.json"

    def holders_prefix(self, digest: str) -> str:
        return f"{self.prefix}datasets/{digest_hex(digest)}.holders/"

    def token_key(self, token: str) -> str:
        return f"{self.prefix}tokens/{token}"

    def uri(self, digest: str) -> str:
        """`s3://bucket/prefix/datasets/<hex>.json`: the snapshot's manifest."""
        return f"s3://{self.bucket}/{self.manifest_key(digest)}"

    # objects

    def missing(self, hashes: Iterable[str]) -> set[str]:
        """The sha256 hex digests among `hashes` whose content is not in the bucket. Lists the
        shards (`objects/sha256/ab/`) those hashes fall in, in parallel: one call per thousand
        keys of a shard instead of one HeadObject per file."""
        wanted = set(hashes)
        shards: dict[str, set[str]] = {}
        for h in wanted:
            shards.setdefault(h[:2], set()).add(h)

        def present_in(shard: str) -> set[str]:
            base = f"{self.prefix}objects/sha256/{shard}/"
            found: set[str] = set()
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=base
            )
            for page in pages:
                for o in page.get("Contents", ()):
                    found.add(shard + o["Key"][len(base) :])
            return found

        present: set[str] = set()
        if len(shards) <= 1:
            for s in shards:
                present |= present_in(s)
        else:
            with ThreadPoolExecutor(max_workers=min(WORKERS, len(shards))) as pool:
                for got in pool.map(present_in, sorted(shards)):
                    present |= got
        return wanted - present

    def put_tree(
        self,
        files: Sequence[tuple[str, FileEntry]],
        *,
        progress: ProgressFn | None = None,
        cancelled: Callable[[], bool] | None = None,
        label: str = "",
    ) -> UploadReport:
        """Upload each (absolute path, entry) whose content the bucket lacks, by its sha256;
        files of MULTIPART_THRESHOLD bytes or more in parts. A file whose size or mtime
        changes while it is sent is an error (ValueError): its object would not match its key.
        """
        from boto3.s3.transfer import TransferConfig

        by_hash: dict[str, tuple[str, FileEntry]] = {}
        for path, e in files:
            by_hash.setdefault(e.sha256, (path, e))
        todo_hashes = self.missing(by_hash)
        report = UploadReport(present=len(by_hash) - len(todo_hashes))
        todo = sorted((by_hash[h] for h in todo_hashes), key=lambda pe: -pe[1].size)
        total = sum(e.size for _, e in todo)
        done = [0]
        lock = threading.Lock()
        config = TransferConfig(
            multipart_threshold=MULTIPART_THRESHOLD,
            multipart_chunksize=MULTIPART_CHUNKSIZE,
            max_concurrency=4,
        )
        message = f"uploading {label}" if label else "uploading"

        def sent(n: int) -> None:
            if cancelled is not None and cancelled():
                raise InterruptedError("upload cancelled")
            with lock:
                done[0] += n
                if progress is not None:
                    progress(done[0], total, message)

        def upload(pe: tuple[str, FileEntry]) -> None:
            path, e = pe
            before = os.stat(path)
            if before.st_size != e.size:
                raise ValueError(f"{path} changed since it was hashed")
            self.client.upload_file(
                path,
                self.bucket,
                self.object_key(e.sha256),
                Config=config,
                Callback=sent,
            )
            after = os.stat(path)
            if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
                # The object under this hash may hold other bytes: take it back.
                self.client.delete_object(Bucket=self.bucket, Key=self.object_key(e.sha256))
                raise ValueError(f"{path} changed while it was uploaded")

        if progress is not None and total:
            progress(0, total, message)
        if len(todo) <= 1:
            for pe in todo:
                upload(pe)
        else:
            with ThreadPoolExecutor(max_workers=min(WORKERS, len(todo))) as pool:
                list(pool.map(upload, todo))
        report.uploaded = len(todo)
        report.uploaded_bytes = total
        return report

    # manifests

    def put_manifest(self, digest: str, manifest: dict[str, Any]) -> None:
        body = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
        self.client.put_object(
            Bucket=self.bucket,
            Key=self.manifest_key(digest),
            Body=body,
            ContentType="application/json",
        )

    def get_manifest(self, digest: str) -> dict[str, Any] | None:
        """The manifest of snapshot `digest`, or None when the bucket has none."""
        from mlform_aws.aws import error_code

        try:
            got = self.client.get_object(Bucket=self.bucket, Key=self.manifest_key(digest))
        except Exception as exc:  # botocore's ClientError
            if error_code(exc) in ("NoSuchKey", "404", "NotFound"):
                return None
            raise
        data = json.loads(got["Body"].read())
        return data if isinstance(data, dict) else None

    def has_manifest(self, digest: str) -> bool:
        return self._exists(self.manifest_key(digest))

    def _exists(self, key: str) -> bool:
        from mlform_aws.aws import error_code, http_status

        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            if http_status(exc) == 404 or error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    # holders: which dataset resources keep a snapshot

    def hold(self, digest: str, token: str, record: dict[str, Any]) -> None:
        """Record that the resource created with `token` holds snapshot `digest`, besides the
        snapshots it held before (its earlier versions stay pinnable until it is destroyed)."""
        prior = self.by_token(token) or {}
        held = [d for d in prior.get("held", []) if d != digest] + [digest]
        body = json.dumps({**record, "digest": digest, "held": held}, sort_keys=True).encode()
        self.client.put_object(
            Bucket=self.bucket, Key=self.holders_prefix(digest) + token, Body=body
        )
        self.client.put_object(Bucket=self.bucket, Key=self.token_key(token), Body=body)

    def by_token(self, token: str) -> dict[str, Any] | None:
        """The holder record of the resource created with `token` (`digest`: its current
        snapshot, `held`: every snapshot it holds), or None."""
        from mlform_aws.aws import error_code

        try:
            got = self.client.get_object(Bucket=self.bucket, Key=self.token_key(token))
        except Exception as exc:
            if error_code(exc) in ("NoSuchKey", "404", "NotFound"):
                return None
            raise
        data = json.loads(got["Body"].read())
        return data if isinstance(data, dict) else None

    def release_all(self, token: str | None, digest: str) -> list[str]:
        """The resource with `token` (whose current snapshot is `digest`) holds nothing any
        more: each snapshot's manifest it held goes when no other resource holds it. Returns
        the manifests removed. The files' objects stay: other snapshots may share them."""
        held = [digest]
        if token:
            record = self.by_token(token) or {}
            held = list(dict.fromkeys([*record.get("held", []), digest]))
        removed = [d for d in held if self.release(d, token)]
        if token:
            self.client.delete_object(Bucket=self.bucket, Key=self.token_key(token))
        return removed

    def release(self, digest: str, token: str | None) -> bool:
        """Drop the hold of `token` on `digest`; remove the manifest when none is left. True
        when the manifest was removed."""
        if token:
            self.client.delete_object(Bucket=self.bucket, Key=self.holders_prefix(digest) + token)
        left = self.client.list_objects_v2(
            Bucket=self.bucket, Prefix=self.holders_prefix(digest), MaxKeys=1
        )
        if left.get("KeyCount", 0):
            return False
        self.client.delete_object(Bucket=self.bucket, Key=self.manifest_key(digest))
        return True
