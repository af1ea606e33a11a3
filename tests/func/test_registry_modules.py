"""Modules from a module registry (Terraform's protocol), through `mlform init`, against a
registry served by the test on 127.0.0.1: service discovery, the versions, the newest version a
constraint allows, the download redirect to an archive or a git repository, the manifest,
credentials from MLFORM_TOKEN_<host>, and every failure as a diagnostic on the `source` line."""

from __future__ import annotations

import io
import json
import shutil
import socket
import subprocess
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import Mlform

HTTP = {"MLFORM_REGISTRY_ALLOW_HTTP_LOOPBACK": "1"}
VERSIONS = ["1.0.0", "1.2.0", "1.3.1", "1.4.0-beta.1", "2.0.0"]


def _module_files(version: str) -> dict[str, str]:
    return {
        "main.mlf.hcl": (
            'variable "name" {\n  type = string\n}\n\n'
            f'output "greeting" {{\n  value = "${{var.name}} from stage {version}"\n}}\n'
        )
    }


def _tar(files: dict[str, str], prefix: str = "") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(prefix + name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _zip(files: dict[str, str], prefix: str = "") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in files.items():
            zf.writestr(prefix + name, text)
    return buf.getvalue()


class Registry:
    """A module registry on 127.0.0.1: `routes` maps a path to (status, headers, body)."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.requests: list[tuple[str, str | None]] = []  # (path, Authorization)
        self.token: str | None = None
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                auth = self.headers.get("Authorization")
                registry.requests.append((self.path, auth))
                if registry.token and auth != f"Bearer {registry.token}":
                    self.send_response(401)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status, headers, body = registry.routes.get(self.path, (404, {}, b"not found"))
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                if status != 204:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if status != 204:
                    self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def json(self, path: str, doc: Any) -> None:
        self.routes[path] = (200, {"Content-Type": "application/json"}, json.dumps(doc).encode())

    def module(self, name: str, versions: list[str], location: dict[str, str]) -> None:
        """`acme/NAME/test` with `versions`; each version's download names location[version]."""
        self.json(
            f"/v1/modules/acme/{name}/test/versions",
            {"modules": [{"versions": [{"version": v} for v in versions]}]},
        )
        for v in versions:
            self.routes[f"/v1/modules/acme/{name}/test/{v}/download"] = (
                204,
                {"X-Terraform-Get": location[v]},
                b"",
            )


@pytest.fixture
def registry() -> Iterator[Registry]:
    reg = Registry()
    reg.json("/.well-known/terraform.json", {"modules.v1": "/v1/modules/"})
    location = {}
    for v in VERSIONS:
        reg.routes[f"/archives/stage-{v}.tar.gz"] = (200, {}, _tar(_module_files(v)))
        location[v] = f"/archives/stage-{v}.tar.gz"
    reg.module("stage", VERSIONS, location)
    yield reg
    reg.server.shutdown()
    reg.server.server_close()


def _config(mlform: Mlform, source: str, version: str | None) -> None:
    ver = f'  version = "{version}"\n' if version else ""
    (mlform.cwd / "main.mlf.hcl").write_text(
        f'module "stage" {{\n  source  = "{source}"\n{ver}  name    = "eval"\n}}\n\n'
        'output "greeting" {\n  value = module.stage.greeting\n}\n'
    )


def _greeting(mlform: Mlform) -> str:
    mlform.ok("apply", "--auto-approve")
    return mlform.ok("output", "-raw", "greeting").out.strip()


def _manifest(mlform: Mlform) -> dict[str, Any]:
    data = json.loads((mlform.cwd / ".mlform" / "modules" / "modules.json").read_text())
    return {e["key"]: e for e in data["modules"]}


def test_init_fetches_the_newest_version_the_constraint_allows(
    mlform: Mlform, registry: Registry
) -> None:
    source = f"{registry.host}/acme/stage/test"
    _config(mlform, source, "~> 1.2")
    res = mlform("init", env=HTTP)
    assert res.code == 0, str(res)
    assert f"- stage from {source} 1.3.1" in res.out
    # Discovery, the versions, the download, the archive: in that order.
    paths = [p for p, _ in registry.requests]
    assert paths[:4] == [
        "/.well-known/mlform.json",
        "/.well-known/terraform.json",
        "/v1/modules/acme/stage/test/versions",
        "/v1/modules/acme/stage/test/1.3.1/download",
    ]
    assert paths[4] == "/archives/stage-1.3.1.tar.gz"
    entry = _manifest(mlform)["stage"]
    assert entry["source"] == source and entry["version"] == "1.3.1"
    assert entry["dir"].startswith(".mlform/modules/stage-")
    # Later runs read it from .mlform/modules without the registry.
    before = len(registry.requests)
    assert _greeting(mlform) == "eval from stage 1.3.1"
    assert len(registry.requests) == before
    # A constraint the fetched version no longer meets: run init again, which fetches 2.0.0.
    _config(mlform, source, ">= 2.0")
    res = mlform("plan")
    assert res.code == 1 and "Run `mlform init` to fetch it." in res.err, str(res)
    mlform.ok("init", env=HTTP)
    assert _greeting(mlform) == "eval from stage 2.0.0"
    # No constraint: the newest release, never a pre-release.
    _config(mlform, source, None)
    mlform.ok("init", "--upgrade", env=HTTP)
    assert _manifest(mlform)["stage"]["version"] == "2.0.0"
    _config(mlform, source, ">= 1.4.0-beta.1, < 2.0")
    mlform.ok("init", env=HTTP)
    assert _greeting(mlform) == "eval from stage 1.4.0-beta.1"


def test_mlform_json_discovery_zip_archives_and_subdirectories(
    mlform: Mlform, registry: Registry
) -> None:
    # A host may serve mlform's modules apart from its Terraform ones.
    registry.json("/.well-known/mlform.json", {"modules.v1": "/mlform/v1/"})
    registry.routes["/zips/pack.zip"] = (200, {}, _zip(_module_files("9.9.9"), "pack/inner/"))
    registry.json(
        "/mlform/v1/acme/pack/test/versions", {"modules": [{"versions": [{"version": "9.9.9"}]}]}
    )
    registry.routes["/mlform/v1/acme/pack/test/9.9.9/download"] = (
        204,
        {"X-Terraform-Get": "/zips/pack.zip//pack"},
        b"",
    )
    _config(mlform, f"{registry.host}/acme/pack/test//inner", "9.9.9")
    mlform.ok("init", env=HTTP)
    assert "/.well-known/terraform.json" not in [p for p, _ in registry.requests]
    assert _greeting(mlform) == "eval from stage 9.9.9"


def test_a_download_that_names_a_git_repository(
    mlform: Mlform, registry: Registry, tmp_path: Path
) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    (repo / "stage").mkdir(parents=True)
    for name, text in _module_files("3.0.0").items():
        (repo / "stage" / name).write_text(text)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "stage"], check=True)
    subprocess.run([*git, "tag", "v3.0.0"], check=True)
    registry.module("gitted", ["3.0.0"], {"3.0.0": f"git::file://{repo}//stage?ref=v3.0.0"})
    _config(mlform, f"{registry.host}/acme/gitted/test", "3.0.0")
    mlform.ok("init", env=HTTP)
    assert _manifest(mlform)["stage"]["version"] == "3.0.0"
    assert _greeting(mlform) == "eval from stage 3.0.0"
    # Only the module's folder is kept.
    assert [p.name for p in (mlform.cwd / ".mlform" / "modules").iterdir() if p.is_dir()] == [
        Path(_manifest(mlform)["stage"]["dir"]).name
    ]


def test_the_token_for_the_host_is_sent(mlform: Mlform, registry: Registry) -> None:
    registry.token = "s3cret"
    _config(mlform, f"{registry.host}/acme/stage/test", "1.0.0")
    res = mlform("init", env=HTTP)
    assert res.code == 1, str(res)
    assert "refused access" in res.err and "set MLFORM_TOKEN_127_0_0_1" in res.err
    mlform.ok("init", env={**HTTP, "MLFORM_TOKEN_127_0_0_1": "s3cret"})
    assert all(auth == "Bearer s3cret" for _, auth in registry.requests[-4:])
    assert _greeting(mlform) == "eval from stage 1.0.0"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    "case",
    ["no_such_module", "no_matching_version", "server_down", "not_a_registry", "plain_http"],
)
def test_failures_are_diagnostics_on_the_source_line(
    mlform: Mlform, registry: Registry, case: str
) -> None:
    host = registry.host
    version = "~> 1.0"
    env = HTTP
    expected = {
        "no_such_module": 'has no module "acme/nothing/test"',
        "no_matching_version": "no version of acme/stage/test on 127.0.0.1",
        "server_down": "cannot reach the module registry",
        "not_a_registry": "is not a module registry",
        "plain_http": "cannot reach the module registry",
    }[case]
    name = "stage"
    if case == "no_such_module":
        name = "nothing"
    elif case == "no_matching_version":
        version = "~> 7.0"
    elif case == "server_down":
        host = f"127.0.0.1:{_free_port()}"
    elif case == "not_a_registry":
        del registry.routes["/.well-known/terraform.json"]
    elif case == "plain_http":
        env = {}  # without the setting, the registry is asked over https: this one speaks http
    _config(mlform, f"{host}/acme/{name}/test", version)
    res = mlform("init", env=env)
    assert res.code == 1, str(res)
    assert "Error: Failed to fetch module" in res.err
    assert "on main.mlf.hcl line 2, column 13:" in res.err
    assert expected in res.err
    if case == "no_matching_version":
        assert (
            '"~> 7.0"' in res.err
            and "available: 1.0.0, 1.2.0, 1.3.1, 1.4.0-beta.1, 2.0.0" in res.err
        )
    assert "Traceback" not in res.err
