"""Plugin discovery by entry point, shape checks, and the lock-file hash."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel

from mlform.sdk import Kind, Model, Provider, computed, plugins
from mlform.sdk.plugins import PluginError, ProviderNotInstalled


@pytest.fixture(autouse=True)
def clean_registry() -> Iterator[None]:
    plugins.reset()
    yield
    plugins.reset()


class Args(Model):
    name: str


class Attrs(Model):
    id: str | None = computed()


class Good(Kind):
    args: ClassVar[type[BaseModel]] = Args
    attrs: ClassVar[type[BaseModel]] = Attrs

    def create(self, planned, ctx):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    def read(self, state, ctx):  # type: ignore[no-untyped-def]
        return state

    def delete(self, state, ctx):  # type: ignore[no-untyped-def]
        return None


class Lazy(Kind):
    args: ClassVar[type[BaseModel]] = Args
    attrs: ClassVar[type[BaseModel]] = Attrs


class GoodProvider(Provider):
    name = "good"
    kinds: ClassVar = {"good_thing": Good}


def test_builtin_test_provider_is_found_by_entry_point() -> None:
    names = {i.name: i for i in plugins.installed_providers()}
    assert names["test"].distribution == "mlform"
    assert names["test"].module == "mlform.testing.provider:TestProvider"
    cls = plugins.load_provider("test")
    assert cls.name == "test" and set(cls.kinds) == {"test_object", "test_data", "test_job"}
    assert "local" in {i.name for i in plugins.installed_backends()}


def test_listing_imports_no_provider_module() -> None:
    code = (
        "import sys; from mlform.sdk import plugins; "
        "names = [i.name for i in plugins.installed_providers()]; "
        "print('test' in names, 'mlform.testing.provider' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False"]


def test_disabling_autoload_leaves_only_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFORM_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert plugins.installed_providers() == []
    with pytest.raises(ProviderNotInstalled):
        plugins.load_provider("test")
    plugins.register_provider(GoodProvider)
    assert [i.name for i in plugins.installed_providers()] == ["good"]
    assert plugins.load_provider("good") is GoodProvider


def test_missing_provider_names_the_pip_command() -> None:
    with pytest.raises(ProviderNotInstalled) as err:
        plugins.load_provider("nosuchcloud")
    assert "pip install mlform-provider-nosuchcloud" in str(err.value)
    names = ", ".join(i.name for i in plugins.installed_providers())
    assert "test" in names
    assert f"Installed providers: {names}." in str(err.value)


def test_wrong_shapes_are_refused_with_every_problem() -> None:
    class NoName(Provider):
        kinds: ClassVar = {"x": Lazy, "y": int, "": Good}

    with pytest.raises(PluginError) as err:
        plugins.register_provider(NoName, "mlform-provider-bad")
    text = str(err.value)
    assert "from mlform-provider-bad cannot be used" in text
    assert "`name` must be a non-empty string" in text
    assert 'kind "x" does not implement create, read, delete' in text
    assert 'kind "y": ' in text and "is not a subclass of mlform.sdk.Kind" in text
    assert "kind name '' must be a non-empty string" in text

    with pytest.raises(PluginError, match="not a subclass of mlform.sdk.Provider"):
        plugins.check_provider(object, "somewhere")

    class BadArgs(Kind):
        args: ClassVar = dict
        attrs: ClassVar[type[BaseModel]] = Attrs
        is_data = True

    class P(Provider):
        name = "p"
        kinds: ClassVar = {"p_x": BadArgs}

    with pytest.raises(PluginError) as err2:
        plugins.check_provider(P, "d")
    assert "`args` must be a pydantic model class" in str(err2.value)
    assert "does not implement read_data" in str(err2.value)


def test_a_long_running_kind_must_submit_poll_and_cancel() -> None:
    class Job(Kind):
        args: ClassVar[type[BaseModel]] = Attrs
        attrs: ClassVar[type[BaseModel]] = Attrs
        long_running = True

        def create(self, planned: Any, ctx: Any) -> Any:  # never called for a job
            raise AssertionError

        def read(self, state: Any, ctx: Any) -> Any:
            return state

        def delete(self, state: Any, ctx: Any) -> None:
            pass

    class P(Provider):
        name = "p"
        kinds: ClassVar = {"p_job": Job}

    with pytest.raises(PluginError) as err:
        plugins.check_provider(P, "d")
    assert 'kind "p_job" does not implement submit, poll, cancel' in str(err.value)


FAKE_DIST = {
    "mlform_provider_fake-1.2.dist-info/METADATA": "Metadata-Version: 2.1\nName: mlform-provider-fake\nVersion: 1.2\n",
    "mlform_provider_fake-1.2.dist-info/entry_points.txt": (
        "[mlform.providers]\nfake = fake_prov:FakeProvider\nbroken = fake_prov_broken:X\n"
    ),
    "mlform_provider_fake-1.2.dist-info/RECORD": (
        "fake_prov.py,sha256=abc,10\nmlform_provider_fake-1.2.dist-info/RECORD,,\n"
    ),
    "fake_prov.py": textwrap.dedent(
        """
        from mlform.sdk import Provider
        class FakeProvider(Provider):
            name = "fake"
            kinds = {"fake_thing": int}
        """
    ),
    "fake_prov_broken.py": "raise RuntimeError('no SDK here')\n",
}

PROBE = """
import json
from mlform.sdk import plugins
out = {"listed": [[i.name, i.distribution, i.version] for i in plugins.installed_providers()]}
for name in ("fake", "broken"):
    try:
        plugins.load_provider(name)
    except plugins.PluginError as exc:
        out[name] = str(exc)
out["hash"] = plugins.distribution_hash("mlform-provider-fake")
print(json.dumps(out))
"""


def test_third_party_distribution(tmp_path: Path) -> None:
    for rel, text in FAKE_DIST.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, check=True
    )
    res = json.loads(out.stdout)
    assert ["fake", "mlform-provider-fake", "1.2"] in res["listed"]
    assert "FakeProvider from mlform-provider-fake cannot be used" in res["fake"]
    assert 'kind "fake_thing"' in res["fake"]
    assert 'provider "broken" from mlform-provider-fake 1.2 failed to load' in res["broken"]
    assert "RuntimeError: no SDK here" in res["broken"]
    assert res["hash"].startswith("sha256:") and len(res["hash"]) == 7 + 64


def test_distribution_hash_is_stable_and_distinct() -> None:
    a = plugins.distribution_hash("mlform")
    assert a == plugins.distribution_hash("mlform")
    assert a != plugins.distribution_hash("pydantic")
    with pytest.raises(PluginError, match="pip install no-such-dist-xyz"):
        plugins.distribution_hash("no-such-dist-xyz")
