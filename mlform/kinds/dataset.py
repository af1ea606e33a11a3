"""The `dataset` kind's schema: a file or folder captured as an immutable, content-addressed
snapshot.

A dataset's identity is its content: `id` and `digest` are the same `sha256:<hex>` over the sorted
relative paths, sizes and file hashes (see `mlform.kinds.digest`). So the id is known at plan time
and a changed file changes the id of every snapshot that held it, which is how its consumers learn
they must retrain.

The identity is a manifest digest: something the store that holds the data can answer at plan
time without downloading it. For a local folder or file it is today's content digest (the stat
cache makes it a few stat calls when nothing changed). For an object store (`s3://`, `gs://`,
`az://`) a provider digests the listing instead, one line per object of its key, size and ETag,
generation or version id, the same way sorted by key; the content digest of such data is recorded
in the lineage once the data has been read (by the runtime that fetched it).
"""

from __future__ import annotations

from mlform.sdk import Model, arg, computed

KIND = "dataset"


class Args(Model):
    """What the user writes in `resource "dataset" "NAME" { ... }`."""

    source: str = arg(
        replace=True,
        description=(
            "The data: a file or a folder, relative to the working directory (where mlform runs) "
            'in every module, as in Terraform: a module names its own folder with `"${path.module}'
            '/data"`. A provider may also accept an object-store URI such as `s3://bucket/prefix`.'
        ),
    )
    include: list[str] = arg(
        default_factory=list,
        description=(
            "Glob patterns of the files to take from a folder, gitignore style: `*.csv` matches at "
            "any depth, a pattern with a `/` is anchored at the folder, `**` spans folders. "
            "Empty: every file."
        ),
    )
    exclude: list[str] = arg(
        default_factory=list,
        description="Glob patterns of files to leave out (same syntax as `include`); applied after it.",
    )
    version: str | None = arg(
        None,
        description=(
            "Pin the dataset to a stored snapshot, `sha256:<hex>` as recorded in `digest`: the "
            "source is then not read, and later edits of it are ignored until the pin is removed."
        ),
    )


class Attrs(Model):
    """What the provider records for a dataset."""

    id: str | None = computed(description="The snapshot's identifier: the same value as `digest`.")
    digest: str | None = computed(
        description=(
            "`sha256:<hex>` over the sorted relative paths, sizes and SHA-256 hashes of the files: "
            "equal digests mean equal content."
        )
    )
    files: int | None = computed(description="How many files the snapshot holds.")
    bytes: int | None = computed(description="The total size of the snapshot's files, in bytes.")
    uri: str | None = computed(
        description=(
            "Where the snapshot can be read: a read-only folder (a file, when the source was a "
            "single file) that later edits of the source do not change."
        )
    )
    created_at: str | None = computed(
        description="When the snapshot was first stored (RFC 3339, UTC)."
    )
