"""Artifact stores and locations: the local folder, HTTP with presigned-style URLs, the
registry, and the digest shared with mlform."""

from __future__ import annotations

import http.server
import json
import sys
import threading
import types
from pathlib import Path

import pytest
from mlform_runtime import EXIT_OK
from mlform_runtime.digest import digest_tree
from mlform_runtime.spec import Location as LocationSpec
from mlform_runtime.stores import (
    HttpLocation,
    LocalStore,
    ObjectStore,
    StoreError,
    open_location,
    open_store,
    register_backend,
)
from runtime_helpers import cli, output_of, read_json

TOKEN = "sig=secret"


def _tree(root: Path) -> Path:
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("alpha")
    (root / "sub" / "b.bin").write_bytes(bytes(range(256)) * 10)
    (root / "sub" / "same.txt").write_text("alpha")
    return root


def test_local_store_round_trip(tmp_path):
    store = LocalStore(tmp_path / "store")
    src = _tree(tmp_path / "src")
    tree = store.put_tree(src)
    assert tree.digest == digest_tree(src).digest and store.exists(tree.digest)
    assert store.put_tree(src).digest == tree.digest  # idempotent
    # Same content once: two files, one blob.
    assert len(list((tmp_path / "store" / "blobs").rglob("*"))) == 2 + 2  # 2 dirs, 2 blobs
    here = store.tree_path(tree.digest)
    assert here is not None and (here / "a.txt").read_text() == "alpha"
    dest = store.get_tree(tree.digest, tmp_path / "copy")
    assert digest_tree(dest).digest == tree.digest
    (dest / "a.txt").write_text("writable copy")  # the copy is the caller's
    f = store.put_file(src / "a.txt")
    store.get_file(f, tmp_path / "f")
    assert (tmp_path / "f").read_text() == "alpha"
    assert store.uri(tree.digest).startswith("file://")
    missing = "sha256:" + "0" * 64
    assert not store.exists(missing)
    with pytest.raises(StoreError):
        store.get_tree(missing, tmp_path / "nothing")


def test_local_store_is_mlforms_content_store(tmp_path):
    """A model the runtime stores is where mlform's local store looks for it, and a snapshot
    mlform stored is read by the runtime in place."""
    local_store = pytest.importorskip("mlform_local.store")
    mlform_digest = pytest.importorskip("mlform.kinds.digest")
    src = _tree(tmp_path / "src")
    assert digest_tree(src).digest == mlform_digest.digest_tree(src).digest
    one = tmp_path / "one.csv"
    one.write_text("x")
    assert digest_tree(one).digest == mlform_digest.digest_tree(one).digest

    data_dir = tmp_path / ".mlform"
    ours = LocalStore(data_dir / "store")
    model = ours.put_tree(src, namespace="models")
    theirs = local_store.Store(data_dir)
    assert theirs.has_snapshot(model.digest, "models")
    assert local_store.model_path(data_dir, model.digest) == ours.tree_path(model.digest)
    snap, _path = theirs.put_tree(one)
    assert ours.tree_path(snap.digest) == theirs.uri(snap.digest)


class _Handler(http.server.BaseHTTPRequestHandler):
    objects: dict[str, bytes] = {}
    requests: list[str] = []

    def log_message(self, *args):  # quiet
        pass

    def _key(self) -> str | None:
        path, _, query = self.path.partition("?")
        if query != TOKEN:
            self.send_response(403)
            self.end_headers()
            return None
        return path

    def do_GET(self):
        key = self._key()
        if key is None:
            return
        self.requests.append(f"GET {key}")
        body = self.objects.get(key)
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_HEAD(self):
        key = self._key()
        if key is None:
            return
        self.send_response(200 if key in self.objects else 404)
        self.end_headers()

    def do_PUT(self):
        key = self._key()
        if key is None:
            return
        n = int(self.headers.get("Content-Length") or 0)
        self.objects[key] = self.rfile.read(n)
        self.requests.append(f"PUT {key}")
        self.send_response(200)
        self.end_headers()

    def do_DELETE(self):
        key = self._key()
        if key is None:
            return
        self.objects.pop(key, None)
        self.send_response(204)
        self.end_headers()


@pytest.fixture
def http_base():
    _Handler.objects = {}
    _Handler.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/bucket/prefix/?{TOKEN}"
    server.shutdown()
    server.server_close()


def test_http_store_round_trip(tmp_path, http_base):
    store = open_store(http_base)
    assert isinstance(store, ObjectStore)
    src = _tree(tmp_path / "src")
    tree = store.put_tree(src)
    assert store.exists(tree.digest)
    assert f"PUT /bucket/prefix/manifests/{tree.digest[7:]}.json" in _Handler.requests
    assert TOKEN not in store.uri(tree.digest)  # a signature never reaches a record
    dest = store.get_tree(tree.digest, tmp_path / "back")
    assert digest_tree(dest).digest == tree.digest
    # A blob changed in the store is caught.
    key = next(k for k in _Handler.objects if k.endswith(tree.files[0].sha256))
    _Handler.objects[key] = b"tampered"
    with pytest.raises(StoreError, match="does not match"):
        store.get_tree(tree.digest, tmp_path / "again")


def test_http_location_uses_presigned_urls_per_object(http_base):
    base = http_base.replace(TOKEN, "")
    loc = HttpLocation(base, {"status.json": base.rstrip("?") + "elsewhere.json?" + TOKEN})
    loc.write_bytes("status.json", b"{}")
    assert "PUT /bucket/prefix/elsewhere.json" in _Handler.requests
    with pytest.raises(StoreError, match="HTTP 403"):
        loc.write_bytes("other", b"x")  # no signature for it


def test_http_location_appends_by_rewriting(http_base):
    loc = open_location(http_base)
    loc.append_bytes("log.txt", b"one\n")
    loc.append_bytes("log.txt", b"two\n")
    assert loc.read_bytes("log.txt") == b"one\ntwo\n"
    assert loc.read_bytes("missing") is None and not loc.exists("missing")


def test_a_job_runs_from_an_http_store_and_output(tmp_path, make_spec, runtime_env, http_base):
    code = tmp_path / "code"
    code.mkdir()
    (code / "t.py").write_text(
        "import os, pathlib; pathlib.Path(os.environ['MLFORM_OUTPUT_DIR'], 'm').write_text('ok')"
    )
    digest = open_store(http_base).put_tree(code).digest
    out = http_base.replace("prefix/", "out/")
    spec = make_spec(
        code={"digest": digest},
        store={"uri": http_base},
        output={"uri": out},
        command="python t.py",
    )
    proc = cli(["run", str(spec)], runtime_env)
    assert proc.returncode == EXIT_OK, proc.stdout + proc.stderr
    result = json.loads(_Handler.objects["/bucket/out/result.json"])
    assert result["state"] == "succeeded"
    assert open_store(http_base).exists(result["model"]["digest"])
    assert b"[mlform-runtime] succeeded" in _Handler.objects["/bucket/out/log.txt"]
    status = cli(["status", out], runtime_env)
    assert json.loads(status.stdout)["status"]["state"] == "succeeded"


def test_unknown_scheme_says_how_to_add_one():
    with pytest.raises(StoreError, match="no backend for s3://.*entry point group"):
        open_store("s3://bucket/prefix")


def test_a_backend_module_named_in_the_spec_adds_a_scheme(tmp_path, monkeypatch):
    mod = types.ModuleType("fake_cloud_backend")
    root = tmp_path / "fake"

    def open_store_(uri, urls):
        return LocalStore(root / uri.split("://", 1)[1])

    mod.open_store = open_store_  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_cloud_backend", mod)
    store = open_store(LocationSpec(uri="fakecloud://bkt", backend="fake_cloud_backend"))
    src = _tree(tmp_path / "src")
    assert store.exists(store.put_tree(src).digest)
    assert (root / "bkt" / "manifests").is_dir()
    register_backend("memo", open_store=open_store_)
    assert isinstance(open_store("memo://x"), LocalStore)
    with pytest.raises(StoreError, match="cannot be used as an output location"):
        open_location("memo://x")


def test_result_of_another_run_is_not_overwritten(tmp_path, make_spec, runtime_env):
    spec = make_spec(command="true")
    assert cli(["run", str(spec)], runtime_env).returncode == EXIT_OK
    doc = json.loads(spec.read_text())
    doc["run_id"] = "other"
    spec.write_text(json.dumps(doc))
    proc = cli(["run", str(spec)], runtime_env)
    assert proc.returncode == 2 and "output location of its own" in proc.stderr
    assert read_json(output_of(spec) / "result.json")["run_id"] == "run-1"
