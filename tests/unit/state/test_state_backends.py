"""Finding backends by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlform.state import StateError
from mlform.state.backends import available_backends, load_backend
from mlform.state.backends.local import LocalBackend


def test_local_is_found_with_and_without_plugin_discovery(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = load_backend("local", {"path": "x.json"}, tmp_path)
    assert isinstance(b, LocalBackend) and b.state_path() == tmp_path / "x.json"
    assert b.state_path("dev") == tmp_path / "mlform.state.d" / "dev" / "mlform.state.json"
    monkeypatch.setenv("MLFORM_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert available_backends() == ["local"]
    assert isinstance(load_backend("local", {}, tmp_path), LocalBackend)


def test_unknown_backend_and_bad_config(tmp_path: Path) -> None:
    with pytest.raises(StateError) as err:
        load_backend("lcoal", {}, tmp_path)
    assert "Unknown backend type 'lcoal'" in str(err.value) and 'Did you mean "local"' in str(
        err.value
    )
    with pytest.raises(StateError, match="Unsupported argument 'bucket'"):
        load_backend("local", {"bucket": "b"}, tmp_path)


def test_backends_come_from_the_one_plugin_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backend registered with mlform.sdk.plugins (as a test pins plugins) is the one a
    `backend "mem"` block loads, with discovery on or off."""
    from mlform.sdk import plugins

    class MemBackend(LocalBackend):
        pass

    monkeypatch.setenv("MLFORM_DISABLE_PLUGIN_AUTOLOAD", "1")
    plugins.register_backend("mem", MemBackend, "mlform-backend-mem")
    try:
        assert available_backends() == ["local", "mem"]
        assert type(load_backend("mem", {}, tmp_path)) is MemBackend
        monkeypatch.delenv("MLFORM_DISABLE_PLUGIN_AUTOLOAD")
        assert {"local", "mem"} <= set(available_backends())
        assert type(load_backend("mem", {}, tmp_path)) is MemBackend
    finally:
        plugins.unregister_backend("mem")


def test_a_backend_plugin_of_the_wrong_shape_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlform.sdk import plugins

    class NotABackend:
        def __init__(self, config: object, workdir: object) -> None:
            pass

    plugins.register_backend("odd", NotABackend)
    try:
        with pytest.raises(StateError, match="'odd' backend is not an mlform backend") as err:
            load_backend("odd", {}, tmp_path)
        assert "must be a subclass of mlform.state.backends.Backend" in str(err.value)
    finally:
        plugins.unregister_backend("odd")
