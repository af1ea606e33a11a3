"""The local environment: ids from requests, real builds with uv, the cache, and the errors."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from kindhelpers import make_ctx, make_provider
from mlform_local.environment import explain_install_failure, find_python
from mlform_local.store import environment_info, environment_path, environment_python, envs_dir

from mlform.kinds.environment import environment_id
from mlform.sdk import UNKNOWN, ConfigError, ProviderError, ResourceState

PY = f"{sys.version_info.major}.{sys.version_info.minor}"


@pytest.fixture
def env(tmp_path):
    ctx, rec = make_ctx(tmp_path)
    return make_provider(ctx).kind("environment"), ctx, rec


def test_id_is_a_content_address_of_the_request(env):
    kind, ctx, _ = env
    a = kind.plan(None, {"python": PY, "packages": ["b", "a"]}, ctx)
    b = kind.plan(None, {"python": PY, "packages": ["a", "b"]}, ctx)
    c = kind.plan(None, {"python": PY, "packages": ["a", "b"], "env": {"X": "1"}}, ctx)
    assert a.attrs["id"] == b.attrs["id"] != c.attrs["id"]
    assert a.attrs["id"] == environment_id(python=PY, packages=["a", "b"])
    assert a.attrs["uri"] == str(environment_path(ctx.data_dir, a.attrs["id"]))
    assert a.attrs["lock"] is UNKNOWN and a.attrs["digest"] is UNKNOWN


def test_python_not_on_the_host(env):
    kind, ctx, _ = env
    with pytest.raises(ConfigError) as err:
        kind.plan(None, {"python": "3.1"}, ctx)
    assert err.value.attribute == "python"
    assert "not installed on this host" in err.value.summary
    assert sys.version.split()[0] in err.value.detail  # lists what is there


def test_missing_requirements_file(env):
    kind, ctx, _ = env
    with pytest.raises(ConfigError) as err:
        kind.plan(None, {"python": PY, "requirements_file": "requirements.txt"}, ctx)
    assert err.value.attribute == "requirements_file"


def test_requirements_file_content_is_part_of_the_id(env):
    kind, ctx, _ = env
    req = ctx.module_dir / "requirements.txt"
    req.write_text("six\n")
    first = kind.plan(None, {"python": PY, "requirements_file": "requirements.txt"}, ctx).attrs[
        "id"
    ]
    req.write_text("six==1.17.0\n")
    second = kind.plan(None, {"python": PY, "requirements_file": "requirements.txt"}, ctx).attrs[
        "id"
    ]
    assert first != second


def test_find_python():
    found = find_python(PY)
    assert found is not None and found.version.startswith(PY + ".")


def test_build_without_packages_then_reuse(env):
    kind, ctx, rec = env
    desired = {"python": PY, "env": {"MY_FLAG": "1"}, "cuda": "12.1"}
    planned = kind.plan(None, desired, ctx)
    state = kind.create(planned, ctx)
    env_id = planned.attrs["id"]
    assert state.id == env_id
    assert state.attrs["python_version"].startswith(PY + ".")
    assert state.attrs["digest"].startswith("sha256:")
    assert isinstance(state.attrs["lock"], dict)
    py = environment_python(ctx.data_dir, env_id)
    out = subprocess.run(
        [str(py), "-c", "import sys; print(sys.prefix)"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == str(environment_path(ctx.data_dir, env_id))
    assert environment_info(ctx.data_dir, env_id)["env"] == {"MY_FLAG": "1"}
    assert rec.logs  # the build was narrated
    assert not list(envs_dir(ctx.data_dir).glob("*.tmp-*"))
    # What the narration names is the folder that stays, not the build folder.
    assert not [line for line in rec.logs if ".tmp-" in line]
    activate = [line for line in rec.logs if "activate" in line]
    final = environment_path(ctx.data_dir, env_id)
    assert all(str(final.relative_to(final.parents[2])) in line for line in activate), activate

    # Built already: plan knows everything, and another resource's create returns at once.
    again = kind.plan(None, desired, ctx)
    assert again.attrs["digest"] == state.attrs["digest"]
    t = time.monotonic()
    second = kind.create(again, ctx)
    assert time.monotonic() - t < 1.0
    assert second.attrs == state.attrs
    assert kind.plan(state, desired, ctx).action == "noop"
    # image and cuda are part of the environment's identity: a change replaces it.
    changed = kind.plan(state, {**desired, "cuda": "12.4"}, ctx)
    assert changed.action == "replace" and changed.replace_paths == ["cuda"]
    assert changed.reasons and "cuda" in changed.reasons[0]
    # The platform the lock was resolved for is recorded, and is part of the digest.
    import platform as host

    short = ".".join(state.attrs["python_version"].split(".")[:2])
    assert state.attrs["platform"] == f"{host.system().lower()}-{host.machine().lower()}-py{short}"
    moved = ResourceState(
        state.id, state.args, {**state.attrs, "platform": "darwin-arm64-py3.11"}, None, {}
    )
    elsewhere = kind.plan(moved, desired, ctx)
    assert elsewhere.action == "replace"
    assert elsewhere.reasons == [
        f"platform changed darwin-arm64-py3.11 → {state.attrs['platform']}"
    ]
    # A different request is a new environment.
    other = kind.plan(state, {**desired, "packages": ["six"]}, ctx)
    assert other.action == "replace" and other.replace_paths == ["packages"]
    assert other.reasons == ['packages: added "six"']
    # Gone from the cache: read says so.
    from mlform_local.store import remove_tree

    remove_tree(environment_path(ctx.data_dir, env_id))
    assert kind.read(state, ctx) is None


@pytest.mark.slow
def test_build_with_a_package_from_pypi(env):
    kind, ctx, _ = env
    planned = kind.plan(None, {"python": PY, "packages": ["six==1.17.0"]}, ctx)
    state = kind.create(planned, ctx)
    assert state.attrs["lock"]["six"] == "1.17.0"
    py = environment_python(ctx.data_dir, state.id)
    out = subprocess.run(
        [str(py), "-c", "import six; print(six.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "1.17.0"
    assert state.lineage["packages"]["six"] == "1.17.0"
    imported = kind.import_(state.id, ctx)
    assert imported.args["packages"] == ["six==1.17.0"]


@pytest.mark.slow
def test_package_that_does_not_exist(env):
    kind, ctx, _ = env
    name = "mlform-no-such-package-7f3a9c"
    planned = kind.plan(None, {"python": PY, "packages": [name]}, ctx)
    with pytest.raises(ProviderError) as err:
        kind.create(planned, ctx)
    assert name in err.value.summary
    assert not environment_path(ctx.data_dir, planned.attrs["id"]).exists()
    assert not list(envs_dir(ctx.data_dir).glob("*.tmp-*"))


def test_explain_install_failure_pip_and_uv():
    uv = (
        "  × No solution found when resolving dependencies:\n"
        "  ╰─▶ Because nosuchpkg was not found in the package registry and you require nosuchpkg, "
        "we can conclude that your requirements are unsatisfiable.\n"
    )
    assert explain_install_failure(uv) == (
        'package "nosuchpkg" was not found in the package index',
        "nosuchpkg",
    )
    pip = (
        "ERROR: Could not find a version that satisfies the requirement nosuchpkg (from versions: none)\n"
        "ERROR: No matching distribution found for nosuchpkg\n"
    )
    assert explain_install_failure(pip)[1] == "nosuchpkg"
    uv_version = (
        "  × No solution found when resolving dependencies:\n"
        "  ╰─▶ Because there is no version of six==99.0 and you require six==99.0, we can conclude "
        "that your requirements are unsatisfiable.\n"
    )
    assert explain_install_failure(uv_version) == (
        'no release of "six==99.0" matches the requirement',
        "six==99.0",
    )


def test_build_with_venv_and_pip_when_uv_is_missing(env, monkeypatch):
    import mlform_local.environment as envmod

    monkeypatch.setattr(envmod, "find_uv", lambda: None)
    kind, ctx, rec = env
    planned = kind.plan(None, {"python": PY, "env": {"BUILT_WITH": "venv"}}, ctx)
    state = kind.create(planned, ctx)
    assert environment_info(ctx.data_dir, state.id)["installer"] == "pip"
    assert "pip" in state.attrs["lock"]  # venv seeds pip
    # Scripts point at the final folder, not the build folder.
    pip_script = environment_python(ctx.data_dir, state.id).parent / "pip"
    script = pip_script.read_text()
    assert str(environment_path(ctx.data_dir, state.id)) + "/bin/python" in script
    assert ".tmp-" not in script
    out = subprocess.run([str(pip_script), "--version"], capture_output=True, text=True, check=True)
    assert str(environment_path(ctx.data_dir, state.id)) in out.stdout
