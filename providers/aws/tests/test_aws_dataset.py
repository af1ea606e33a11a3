"""The `dataset` kind on AWS, against the stand-in: a local folder uploaded content-addressed
(only what the bucket lacks), an `s3://` source planned by listing alone, pinned versions,
holds released by destroy, and the diagnostics a user can meet."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from mlform_aws import s3store
from mlform_aws.provider import AwsConfig, AwsProvider
from mlform_aws.s3store import S3Store, list_source, listing_digest

from mlform.kinds.digest import FileEntry
from mlform.sdk import ConfigError, Context
from mlform.sdk.schema import parse_model

PREFIX = "mlform/"


def config(bucket: str, source: str, extra: str = "") -> str:
    return f"""
provider "aws" {{
  region = "us-east-1"
  artifacts {{
    bucket = "{bucket}"
    prefix = "{PREFIX}"
  }}
}}
resource "dataset" "d" {{
  source = "{source}"
  {extra}
}}
output "digest" {{ value = dataset.d.digest }}
output "uri" {{ value = dataset.d.uri }}
"""


def keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    got = s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"] for o in got.get("Contents", []))


def object_versions(s3: Any, bucket: str) -> int:
    """Every version of every content object: a file sent again adds one."""
    got = s3.list_object_versions(Bucket=bucket, Prefix=PREFIX + "objects/")
    return len(got.get("Versions", []))


def outputs(c: Any) -> dict[str, Any]:
    res = c.ok("output", "-json")
    return {k: v["value"] for k, v in json.loads(res.out).items()}


def test_a_folder_is_uploaded_once_and_one_edit_sends_one_file(
    checkout: Any, s3: Any, bucket: str
) -> None:
    c = checkout("p")
    data = c.path / "data"
    (data / "sub").mkdir(parents=True)
    for i in range(6):
        (data / f"f{i}.csv").write_text(f"row,{i}\n" * (i + 1))
    (data / "sub" / "same.csv").write_text("row,0\n")  # the content of f0.csv: stored once
    c.write(config(bucket, "./data"))

    plan = c("plan", "-detailed-exitcode")
    assert plan.code == 2, str(plan)
    assert not keys(s3, bucket, ""), "plan uploads nothing"
    c.ok("apply", "-auto-approve")
    out = outputs(c)
    digest = out["digest"]
    hexd = digest.split(":")[1]
    assert out["uri"] == f"s3://{bucket}/{PREFIX}datasets/{hexd}.json"
    assert len(keys(s3, bucket, PREFIX + "objects/")) == 6  # 7 files, 6 contents
    manifest = json.loads(
        s3.get_object(Bucket=bucket, Key=f"{PREFIX}datasets/{hexd}.json")["Body"].read()
    )
    assert manifest["digest"] == digest and len(manifest["files"]) == 7
    assert ["sub/same.csv", 6, manifest["files"][0][2]] in manifest["files"]

    # Nothing changed: nothing to do.
    again = c("plan", "-detailed-exitcode")
    assert again.code == 0, str(again)

    # One file edited: the plan says which, apply sends that one file.
    before = object_versions(s3, bucket)
    (data / "f3.csv").write_text("edited\n")
    changed = c("plan", "-detailed-exitcode")
    assert changed.code == 2, str(changed)
    assert "1 file changed, 0 added, 0 removed" in changed.out, str(changed)
    c.ok("apply", "-auto-approve")
    assert object_versions(s3, bucket) == before + 1
    assert len(keys(s3, bucket, PREFIX + "objects/")) == 7
    assert outputs(c)["digest"] != digest

    # Destroy removes what mlform made for the resource (manifest, hold); the files' objects
    # are left for gc (another snapshot may share them).
    c.ok("destroy", "-auto-approve")
    assert keys(s3, bucket, PREFIX + "datasets/") == []
    assert keys(s3, bucket, PREFIX + "tokens/") == []


def test_an_s3_source_is_planned_by_listing(checkout: Any, s3: Any, make_bucket: Any) -> None:
    src, art = make_bucket(), make_bucket(versioning=False)
    for i in range(25):
        s3.put_object(Bucket=src, Key=f"raw/part-{i:03d}.json", Body=f'{{"i": {i}}}')
    s3.put_object(Bucket=src, Key="rawer/not-in-it", Body="x")
    c = checkout("s")
    c.write(config(art, f"s3://{src}/raw"))
    c.ok("apply", "-auto-approve")
    digest = outputs(c)["digest"]
    assert c("plan", "-detailed-exitcode").code == 0

    # A new version of one object (same size, new ETag), one object added.
    s3.put_object(Bucket=src, Key="raw/part-007.json", Body='{"i": 8}')
    s3.put_object(Bucket=src, Key="raw/part-999.json", Body="{}")
    plan = c("plan", "-detailed-exitcode")
    assert plan.code == 2, str(plan)
    assert "1 file changed, 1 added, 0 removed" in plan.out, str(plan)
    c.ok("apply", "-auto-approve")
    assert outputs(c)["digest"] != digest
    assert keys(s3, art, PREFIX + "objects/") == [], "an s3:// source is not copied"

    # Pinned to the first snapshot: the source is not read (an edit of it changes nothing).
    c.write(config(art, f"s3://{src}/raw", f'version = "{digest}"'))
    c.ok("apply", "-auto-approve")
    assert outputs(c)["digest"] == digest
    s3.put_object(Bucket=src, Key="raw/part-000.json", Body="changed")
    assert c("plan", "-detailed-exitcode").code == 0
    c.ok("destroy", "-auto-approve")
    assert keys(s3, art, "") == []


def test_diagnostics(checkout: Any, bucket: str) -> None:
    c = checkout("d")
    (c.path / "data").mkdir()
    (c.path / "data" / "a.txt").write_text("a")
    c.write(
        'provider "aws" { region = "us-east-1" }\nresource "dataset" "d" { source = "./data" }\n'
    )
    res = c("plan")
    assert res.code == 1 and "Traceback" not in res.all, str(res)
    assert "no artifact bucket" in res.err and "artifacts {" in res.err
    c.write(config(bucket, "s3://no-such-bucket-here/x"))
    res = c("plan")
    assert res.code == 1 and "Traceback" not in res.all, str(res)
    assert "does not exist" in res.err and "line 10" in res.err, str(res)
    c.write(config(bucket, "./data", f'version = "sha256:{"0" * 64}"'))
    res = c("plan")
    assert res.code == 1 and "is not in the artifact bucket" in res.err, str(res)


# -- in this process: what is called, and how --------------------------------------------


def configured(tmp_path: Path, bucket: str) -> tuple[AwsProvider, Context]:
    p = AwsProvider()
    ctx = Context(
        address="dataset.d",
        module_dir=tmp_path,
        data_dir=tmp_path / ".mlform",
        scratch_dir=tmp_path / "tmp",
    )
    cfg = {"region": "us-east-1", "artifacts": {"bucket": bucket}}
    p.configure(parse_model(AwsConfig, cfg), ctx)
    return p, ctx


class Calls:
    """Counts the S3 operations a client sends (botocore's before-call events)."""

    def __init__(self, client: Any):
        self.seen: list[tuple[str, str]] = []
        self.client = client
        client.meta.events.register("before-call.s3", self.on)

    def on(self, model: Any, params: Any, **_: Any) -> None:
        self.seen.append((model.name, str(params.get("url_path", ""))))

    def count(self, name: str) -> int:
        return sum(1 for n, _ in self.seen if n == name)

    def close(self) -> None:
        self.client.meta.events.unregister("before-call.s3", self.on)


def test_plan_of_an_s3_source_lists_and_reads_nothing(
    standin: Any, s3: Any, make_bucket: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(s3store, "LIST_PAGE_SIZE", 100)
    src, art = make_bucket(), make_bucket()
    for i in range(150):  # two pages of a listing
        s3.put_object(Bucket=src, Key=f"d/{i:05d}.bin", Body=b"x" * (i % 7))
    p, ctx = configured(tmp_path, art)
    kind = p.kind("dataset")
    calls = Calls(p.client("s3"))
    try:
        started = time.monotonic()
        planned = kind.plan(None, {"source": f"s3://{src}/d", "exclude": ["0000*"]}, ctx)
        took = time.monotonic() - started
    finally:
        calls.close()
    assert planned.action == "create"
    assert planned.attrs["files"] == 140
    assert calls.count("GetObject") == 0 and calls.count("HeadObject") == 0
    # Versioned: the version ids are read (moto answers ListObjectVersions in one page).
    assert calls.count("ListObjectVersions") >= 1, calls.seen
    assert took < 3.0
    unversioned = make_bucket(versioning=False)
    for i in range(150):
        s3.put_object(Bucket=unversioned, Key=f"d/{i:05d}.bin", Body=b"y")
    calls = Calls(s3)
    try:
        assert len(list_source(s3, unversioned, "d/")) == 150
    finally:
        calls.close()
    assert calls.count("ListObjectsV2") == 2 and calls.count("GetObject") == 0
    listed = list_source(s3, src, "d", versioned=True)
    assert all(o.version for o in listed)
    # The identity changes with a new version, even of identical bytes (a new version id).
    s3.put_object(Bucket=src, Key="d/00100.bin", Body=b"x" * (100 % 7))
    assert listing_digest(list_source(s3, src, "d")) != listing_digest(listed)


def test_upload_sends_only_missing_content_and_large_files_in_parts(
    standin: Any, s3: Any, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib

    monkeypatch.setattr(s3store, "MULTIPART_THRESHOLD", 5 << 20)
    monkeypatch.setattr(s3store, "MULTIPART_CHUNKSIZE", 5 << 20)
    files = []
    for name, body in (("a", b"a" * 10), ("b", b"b" * 20), ("big", b"z" * (6 << 20))):
        path = tmp_path / name
        path.write_bytes(body)
        files.append((str(path), FileEntry(name, len(body), hashlib.sha256(body).hexdigest())))
    store = S3Store(s3, bucket, "m")
    calls = Calls(s3)
    seen: list[tuple[float, float | None, str]] = []
    try:
        store.put_tree(files[:1], progress=lambda *a: None)
        first = calls.count("PutObject")
        report = store.put_tree(files, progress=lambda *a: seen.append(a), label="x")
    finally:
        calls.close()
    assert first == 1
    assert (report.uploaded, report.present) == (2, 1)
    assert calls.count("PutObject") == first + 1  # b; a was there already
    assert calls.count("CreateMultipartUpload") == 1 and calls.count("UploadPart") == 2
    assert seen and seen[-1][0] == seen[-1][1] == 20 + (6 << 20)
    assert store.missing(f[1].sha256 for f in files) == set()


def test_arguments_are_checked_before_anything_is_called(tmp_path: Path, standin: Any) -> None:
    p, ctx = configured(tmp_path, "unused")
    kind = p.kind("dataset")
    with pytest.raises(ConfigError, match="cannot read gs:// sources"):
        kind.plan(None, {"source": "gs://b/x"}, ctx)
    with pytest.raises(ConfigError, match="not a snapshot digest"):
        kind.plan(None, {"source": "./x", "version": "v1"}, ctx)
