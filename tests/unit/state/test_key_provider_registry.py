"""Key provider plugins of state encryption (mlform.state.encryption): found by entry point or
registration, their arguments checked as diagnostics, an unknown type naming its package, and
envelopes of one kind of key provider read through a fallback of another."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from importlib import metadata
from typing import Any

import pytest

from mlform.config.parser import parse_hcl
from mlform.state import encryption as E

pytest.importorskip("cryptography")

SECRET = b'{"value": "very-secret-attribute"}'
PASSPHRASE = "a passphrase of sixteen+"


class FakeKms:
    """A key provider whose "KMS" is a dict: a data key per name, refused by any other name."""

    kdf_name = "fake_kms"
    arguments: Mapping[str, bool] = {"key": True, "size": False}
    keys: dict[str, bytes] = {"a": b"A" * 32, "b": b"B" * 32}

    @classmethod
    def validate(cls, config: Mapping[str, Any]) -> list[tuple[str, str]]:
        if config.get("size", 32) != 32:
            return [("size", "`size` is 32.")]
        return []

    def __init__(self, addr: str, config: Mapping[str, Any]):
        self.addr = addr
        self.name = str(config["key"])

    def check_ready(self) -> None:
        pass

    def kdf(self) -> dict[str, Any]:
        return {"name": self.kdf_name, "blob": self.name}

    def key(self, kdf: Mapping[str, Any]) -> bytes:
        if kdf.get("blob") != self.name:
            raise E.KeyMismatch(f"made by {kdf.get('blob')}, not {self.name}")
        return self.keys[self.name]


@pytest.fixture
def fake_kms() -> Iterator[type[FakeKms]]:
    E.register_key_provider("fake_kms", FakeKms)
    try:
        yield FakeKms
    finally:
        E.unregister_key_provider("fake_kms")


def parse(body: str) -> tuple[E.EncryptionSpec, list[Any]]:
    """`body` in an encryption block, whose first line is line 2 of the file."""
    file, diags = parse_hcl(f"encryption {{\n{body}\n}}\n", "main.mlf.hcl")
    assert not diags
    return E.parse_block(file.body.blocks[0])


def method(name: str, provider: Any) -> E.Method:
    return E.Method(f"aes_gcm.{name}", "aes_gcm", provider)


def fake(key: str, name: str = "k") -> FakeKms:
    return FakeKms(f"fake_kms.{name}", {"key": key})


def pbkdf2(name: str = "p") -> E.KeyProvider:
    spec = E.KeyProviderSpec("pbkdf2", name, None, E.MIN_ITERATIONS, "sha256", 32, None)
    return E.KeyProvider(spec, PASSPHRASE)


# --- the registry -------------------------------------------------------------------------------


def test_a_registered_key_provider_is_parsed_with_its_arguments(fake_kms) -> None:
    spec, diags = parse(
        'key_provider "fake_kms" "k" { key = "a" }\n'
        'method "aes_gcm" "m" { keys = key_provider.fake_kms.k }\n'
        "state { method = method.aes_gcm.m }"
    )
    assert not diags
    assert spec.key_providers["fake_kms.k"].config == {"key": "a"}
    assert "fake_kms" in E.key_provider_types()


@pytest.mark.parametrize(
    ("body", "message", "line"),
    [
        ('key = "a"\n  colour = "red"', 'An argument named "colour" is not expected', 4),
        ("size = 32", "needs `key`", 2),
        ('key = "a"\n  size = 16', "`size` is 32.", 4),
        ("key = var.k", "read before the configuration is evaluated", 3),
    ],
)
def test_key_provider_arguments_are_checked(fake_kms, body: str, message: str, line: int) -> None:
    _, diags = parse(f'key_provider "fake_kms" "k" {{\n  {body}\n}}')
    errors = [d for d in diags if d.is_error]
    assert len(errors) == 1 and message in errors[0].detail, errors
    assert errors[0].subject is not None and errors[0].subject.start.line == line


def test_an_unknown_type_names_the_package_that_brings_it(monkeypatch) -> None:
    monkeypatch.setenv("MLFORM_DISABLE_PLUGIN_AUTOLOAD", "1")
    _, diags = parse('key_provider "aws_kms" "k" { kms_key_id = "alias/x" }')
    (d,) = diags
    assert d.summary == "Unsupported key provider"
    assert "pip install mlform-provider-aws" in d.detail
    assert d.subject is not None and d.subject.start.column == 14  # the type label

    _, diags = parse('key_provider "pbkfd2" "k" { passphrase = var.p }')
    assert 'Did you mean "pbkdf2"?' in diags[0].detail


def test_key_providers_are_found_by_entry_point(monkeypatch) -> None:
    from mlform.sdk import plugins

    def entry_points(group: str) -> list[metadata.EntryPoint]:
        if group != E.KEY_PROVIDER_GROUP:
            return []  # other libraries' plugin groups (pydantic's) are none of this test's
        return [
            metadata.EntryPoint("ep_kms", f"{__name__}:FakeKms", group),
            metadata.EntryPoint("not_a_class", "os:sep", group),
            metadata.EntryPoint("broken", "no_such_module_anywhere:X", group),
        ]

    monkeypatch.delenv("MLFORM_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.setattr(metadata, "entry_points", entry_points)
    # Entry points are read once per group by mlform.sdk.plugins: start from none read.
    monkeypatch.setattr(plugins, "_discovered", {})
    try:
        assert {"ep_kms", "not_a_class", "broken", "pbkdf2"} <= set(E.key_provider_types())
        assert E.key_provider_class("ep_kms") is FakeKms
        with pytest.raises(E.EncryptionError, match="is not a class"):
            E.key_provider_class("not_a_class")
        with pytest.raises(E.EncryptionError, match="failed to load") as exc:
            E.key_provider_class("broken")
        assert "ModuleNotFoundError" in exc.value.detail
        # Discovery off: only built-ins and registrations.
        monkeypatch.setenv("MLFORM_DISABLE_PLUGIN_AUTOLOAD", "1")
        E.unregister_key_provider("ep_kms")
        assert E.key_provider_types() == ["pbkdf2"]
    finally:
        E.unregister_key_provider("ep_kms")


def test_load_encryption_makes_the_plugin_key_provider(fake_kms, tmp_path) -> None:
    text = (
        'key_provider "fake_kms" "k" { key = "b" }\n'
        'method "aes_gcm" "m" { keys = key_provider.fake_kms.k }\n'
        "state { method = method.aes_gcm.m }"
    )
    enc = E.load_encryption(None, tmp_path, environ={E.ENV_VAR: text})
    assert enc.state is not None
    enc.state.check_ready()
    env = json.loads(enc.state.seal(SECRET, "state"))
    assert env["key_provider"] == "fake_kms.k" and env["kdf"] == {"name": "fake_kms", "blob": "b"}
    assert enc.state.open(json.dumps(env).encode(), "state", "s.json") == SECRET


# --- reading across kinds of key providers ------------------------------------------------------


def test_a_pbkdf2_fallback_reads_under_a_plugin_primary_and_back() -> None:
    old = method("old", pbkdf2())
    new = method("new", fake("a"))
    written_old = E.Codec("state", old, None, False).seal(SECRET, "state")
    written_new = E.Codec("state", new, None, False).seal(SECRET, "state")
    assert E.Codec("state", new, old, False).open(written_old, "state", "s") == SECRET
    assert E.Codec("state", old, new, False).open(written_new, "state", "s") == SECRET
    # Renamed, so that the envelope's names do not pick the key: its kind of key provider does.
    renamed = method("renamed", fake("a", "renamed"))
    assert E.Codec("state", old, renamed, False).open(written_new, "state", "s") == SECRET


def test_another_plugin_key_is_refused_by_name() -> None:
    sealed = E.Codec("state", method("m", fake("a")), None, False).seal(SECRET, "state")
    with pytest.raises(E.WrongKeyError) as exc:
        E.Codec("state", method("m", fake("b")), None, False).open(sealed, "state", "s.json")
    assert "Cannot decrypt the state s.json with key provider fake_kms.k: wrong key?" in str(
        exc.value
    )
    assert "made by a, not b" in exc.value.detail
    # The fallback with the right key opens it.
    both = E.Codec("state", method("m", fake("b")), method("o", fake("a", "o")), False)
    assert both.open(sealed, "state", "s.json") == SECRET


def test_a_pbkdf2_only_configuration_names_the_plugin_that_wrote_it() -> None:
    sealed = E.Codec("state", method("m", fake("a")), None, False).seal(SECRET, "state")
    with pytest.raises(E.WrongKeyError) as exc:
        E.Codec("state", method("p", pbkdf2()), None, False).open(sealed, "state", "s.json")
    assert "key provider fake_kms.k" in exc.value.detail
