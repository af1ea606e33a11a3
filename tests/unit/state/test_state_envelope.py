"""The encryption envelope (mlform.state.encryption): sealing and opening, keys, fallbacks,
the configuration block and the journal's line-by-line encryption."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import pytest

from mlform.config.parser import parse_hcl
from mlform.state import encryption as E
from mlform.state.journal import Journal

PASS_OLD = "old passphrase of sixteen+"
PASS_NEW = "new passphrase of sixteen+"
SECRET = b'{"value": "very-secret-attribute"}'


def provider(passphrase: str, name: str = "main", iterations: int = E.MIN_ITERATIONS):
    spec = E.KeyProviderSpec("pbkdf2", name, None, iterations, "sha256", 32, None)
    return E.KeyProvider(spec, passphrase)


def aes(passphrase: str, name: str = "main") -> E.Method:
    return E.Method(f"aes_gcm.{name}", "aes_gcm", provider(passphrase, name))


UNENCRYPTED = E.Method("unencrypted.migrate", "unencrypted")


def codec(primary: E.Method, fallback: E.Method | None = None, enforced: bool = False) -> E.Codec:
    return E.Codec("state", primary, fallback, enforced)


def test_round_trip_and_what_is_in_clear() -> None:
    c = codec(aes(PASS_NEW))
    sealed = c.seal(SECRET, "state")
    assert b"very-secret" not in sealed and PASS_NEW.encode() not in sealed
    env = json.loads(sealed)
    assert env["mlform_encrypted"] == 1
    assert env["purpose"] == "state"
    assert env["method"] == "aes_gcm.main"
    assert env["key_provider"] == "pbkdf2.main"
    assert len(env["key_id"]) == 16
    assert env["kdf"]["name"] == "pbkdf2" and env["kdf"]["hash"] == "sha256"
    assert len(base64.b64decode(env["kdf"]["salt"])) == 32
    assert len(base64.b64decode(env["nonce"])) == 12  # 96 bits
    assert E.is_envelope(sealed)
    assert c.open(sealed, "state", "s.json") == SECRET


def test_default_iterations_follow_owasp() -> None:
    block = _block('key_provider "pbkdf2" "k" { passphrase = var.p }')
    spec, diags = E.parse_block(block)
    assert not diags
    assert spec.key_providers["pbkdf2.k"].iterations == E.DEFAULT_ITERATIONS >= 600_000


def test_each_encryption_has_its_own_nonce() -> None:
    c = codec(aes(PASS_NEW))
    a, b = json.loads(c.seal(SECRET, "state")), json.loads(c.seal(SECRET, "state"))
    assert a["nonce"] != b["nonce"] and a["ciphertext"] != b["ciphertext"]


def test_wrong_passphrase_is_named_and_never_shown() -> None:
    sealed = codec(aes(PASS_OLD)).seal(SECRET, "state")
    with pytest.raises(E.EncryptionError) as exc:
        codec(aes(PASS_NEW)).open(sealed, "state", "s.json")
    text = str(exc.value)
    assert (
        "Cannot decrypt the state s.json with key provider pbkdf2.main: wrong passphrase?" in text
    )
    assert PASS_NEW not in text and PASS_OLD not in text


def test_fallback_key_reads_what_the_old_key_wrote() -> None:
    sealed = codec(aes(PASS_OLD, "old")).seal(SECRET, "state")
    rotated = codec(aes(PASS_NEW, "new"), fallback=aes(PASS_OLD, "old"))
    assert rotated.open(sealed, "state", "s.json") == SECRET
    # ... and writes with the new one.
    assert json.loads(rotated.seal(SECRET, "state"))["key_provider"] == "pbkdf2.new"
    with pytest.raises(E.EncryptionError, match="wrong passphrase"):
        codec(aes(PASS_NEW, "new")).open(sealed, "state", "s.json")


def test_same_provider_name_new_passphrase_falls_back_by_key_id() -> None:
    sealed = codec(aes(PASS_OLD)).seal(SECRET, "state")
    rotated = codec(aes(PASS_NEW), fallback=aes(PASS_OLD))
    assert rotated.open(sealed, "state", "s.json") == SECRET


def test_changed_ciphertext_fails_authentication() -> None:
    c = codec(aes(PASS_NEW))
    env = json.loads(c.seal(SECRET, "state"))
    raw = bytearray(base64.b64decode(env["ciphertext"]))
    raw[0] ^= 1
    env["ciphertext"] = base64.b64encode(bytes(raw)).decode()
    with pytest.raises(E.EncryptionError, match="failed authentication"):
        c.open(json.dumps(env, separators=(",", ":")).encode(), "state", "s.json")


def test_clear_header_is_authenticated() -> None:
    """The method name is associated data: changing it in clear breaks the tag."""
    c = codec(aes(PASS_NEW))
    env = json.loads(c.seal(SECRET, "state"))
    env["method"] = "aes_gcm.other"
    with pytest.raises(E.EncryptionError, match="failed authentication"):
        c.open(json.dumps(env, separators=(",", ":")).encode(), "state", "s.json")


def test_purpose_is_bound() -> None:
    c = codec(aes(PASS_NEW))
    line = c.seal(SECRET, "journal")
    with pytest.raises(E.EncryptionError, match="encrypted state journal"):
        c.open(line, "state", "s.json")


def test_plain_text_needs_an_unencrypted_method() -> None:
    with pytest.raises(E.EncryptionError, match="is not encrypted") as exc:
        codec(aes(PASS_NEW)).open(SECRET, "state", "s.json")
    assert "method.unencrypted.migrate" in str(exc.value)
    migrating = codec(aes(PASS_NEW), fallback=UNENCRYPTED)
    assert migrating.open(SECRET, "state", "s.json") == SECRET
    assert E.open_bytes(SECRET, None, "state", "s.json") == SECRET


def test_encrypted_without_configuration_is_a_clear_error() -> None:
    sealed = codec(aes(PASS_NEW)).seal(SECRET, "state")
    with pytest.raises(E.EncryptionError, match="no encryption is configured"):
        E.open_bytes(sealed, None, "state", "s.json")


def test_enforced_refuses_to_write_plain_text() -> None:
    with pytest.raises(E.EncryptionError, match="Refusing to write an unencrypted state"):
        codec(UNENCRYPTED, enforced=True).seal(SECRET, "state")
    assert codec(UNENCRYPTED).seal(SECRET, "state") == SECRET


def test_missing_cryptography_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cryptography.hazmat.primitives.ciphers.aead", None)
    with pytest.raises(E.EncryptionError) as exc:
        codec(aes(PASS_NEW)).seal(SECRET, "state")
    assert "pip install 'mlform[encryption]'" in str(exc.value)


# --- the configuration block -----------------------------------------------------------------


def _block(body: str):  # type: ignore[no-untyped-def]
    file, diags = parse_hcl(f"encryption {{\n{body}\n}}\n", "main.mlf.hcl")
    assert not diags
    return file.body.blocks[0]


FULL = """
key_provider "pbkdf2" "main" { passphrase = var.p }
key_provider "pbkdf2" "old" {
  passphrase = "a literal passphrase, long"
  iterations = 200000
  hash_function = "sha512"
}
method "aes_gcm" "main" { keys = key_provider.pbkdf2.main }
method "aes_gcm" "old" { keys = key_provider.pbkdf2.old }
method "unencrypted" "migrate" {}
state {
  method = method.aes_gcm.main
  enforced = true
  fallback { method = method.aes_gcm.old }
}
plan { method = method.aes_gcm.main }
"""


def test_block_is_decoded() -> None:
    spec, diags = E.parse_block(_block(FULL))
    assert not diags
    assert spec.state == E.TargetSpec("aes_gcm.main", "aes_gcm.old", True, spec.state.range)  # type: ignore[union-attr]
    assert spec.plan is not None and spec.plan.method == "aes_gcm.main"
    assert spec.key_providers["pbkdf2.old"].hash_function == "sha512"
    assert E.passphrase_variables(spec) == {"p"}


@pytest.mark.parametrize(
    "body, message",
    [
        (
            'key_provider "pbkdf2" "k" {\n passphrase = var.p\n iterations = 1000\n}',
            "at least 200,000",
        ),
        ('key_provider "kms" "k" {}', "Unsupported key provider"),
        ('method "aes_gcm" "m" { keys = key_provider.pbkdf2.nope }', "undeclared key provider"),
        ('method "aes_gcm" "m" {}', "Missing keys"),
        ("state { method = method.aes_gcm.nope }", "undeclared method"),
        (
            'method "unencrypted" "u" {}\nstate {\n method = method.unencrypted.u\n enforced = true\n}',
            "Enforced",
        ),
        ('key_provider "pbkdf2" "k" { passphrase = upper("x") }', "Invalid passphrase"),
        ("stat {}", 'Did you mean "state"'),
    ],
)
def test_block_errors(body: str, message: str) -> None:
    _, diags = E.parse_block(_block(body))
    assert any(message in d.summary + " " + d.detail for d in diags), diags


def test_short_literal_passphrase_is_refused_without_showing_it() -> None:
    _, diags = E.parse_block(_block('key_provider "pbkdf2" "k" { passphrase = "shortsecret" }'))
    assert [d.summary for d in diags] == ["Passphrase too short"]
    assert diags[0].subject is None  # no snippet: it would print the passphrase
    assert "shortsecret" not in diags[0].detail


def test_environment_configuration_overrides_and_hides_its_text() -> None:
    spec, diags = E.parse_env(
        'key_provider "pbkdf2" "main" { passphrase = "from the environment!" }'
    )
    assert not diags
    base, _ = E.parse_block(_block(FULL))
    merged = base.merged(spec)
    assert (
        merged.key_providers["pbkdf2.main"].passphrase
        is not base.key_providers["pbkdf2.main"].passphrase
    )
    assert merged.state == base.state
    _, bad = E.parse_env('key_provider "pbkdf2" "k" { passphrase = "a secret with a quote }')
    assert bad and bad[0].subject is None
    assert "a secret with a quote" not in bad[0].detail


def test_load_encryption_reads_the_variable(tmp_path: Path) -> None:
    from mlform.config.loader import load_config

    (tmp_path / "main.mlf.hcl").write_text(
        "mlform {\n encryption {\n" + FULL + "\n }\n}\n"
        'variable "p" {\n type = string\n sensitive = true\n}\n'
    )
    root, diags = load_config(tmp_path)
    assert not [d for d in diags if d.is_error], diags
    unset = E.load_encryption(root, tmp_path, [], environ={})
    assert unset.state is not None
    with pytest.raises(E.EncryptionError, match=r"var.p has no value"):
        unset.state.seal(SECRET, "state")
    enc = E.load_encryption(root, tmp_path, [], environ={"MLFORM_VAR_p": PASS_NEW})
    assert enc.state is not None and enc.state.primary.addr == "aes_gcm.main"
    assert enc.state.fallback is not None and enc.state.fallback.addr == "aes_gcm.old"
    assert enc.variables == {"p"}
    assert PASS_NEW not in repr(enc)


# --- the journal -----------------------------------------------------------------------------


def test_journal_lines_are_sealed_one_by_one(tmp_path: Path) -> None:
    path = tmp_path / "j.journal"
    j = Journal(path, codec(aes(PASS_NEW)))
    j.start("lin", 3, workspace="default")
    j.append({"op": "put", "addr": "test_object.a", "instance": {"value": "very-secret"}})
    j.close()
    raw = path.read_bytes()
    assert b"very-secret" not in raw and b"lin" not in raw
    lines = raw.splitlines()
    assert len(lines) == 2 and all(E.is_envelope(line) for line in lines)
    # A torn last line (a crash mid-append) is dropped, as with plain journals.
    path.write_bytes(raw + lines[1][:40])
    back = Journal(path, codec(aes(PASS_NEW))).read()
    assert back is not None and back.torn_tail
    assert back.header["lineage"] == "lin"
    assert back.entries == [
        {"op": "put", "addr": "test_object.a", "instance": {"value": "very-secret"}}
    ]
    with pytest.raises(E.EncryptionError, match="wrong passphrase"):
        Journal(path, codec(aes(PASS_OLD))).read()
    with pytest.raises(E.EncryptionError, match="no encryption is configured"):
        Journal(path).read()


# --- the documentation ------------------------------------------------------------------------


def test_the_documented_configurations_are_valid() -> None:
    import re

    page = Path(__file__).resolve().parents[3] / "docs" / "state-encryption.md"
    blocks = re.findall(r"```hcl\n(.*?)```", page.read_text(encoding="utf-8"), re.DOTALL)
    checked = 0
    for text in blocks:
        if not text.startswith("mlform {"):
            continue  # a fragment
        if '"aws_kms"' in text and "aws_kms" not in E.key_provider_types():
            continue  # the AWS provider's package is not installed: its tests check these
        file, diags = parse_hcl(text, "doc.mlf.hcl")
        assert not diags, text
        (enc,) = file.body.blocks[0].body.blocks_of_type("encryption")
        spec, diags = E.parse_block(enc)
        assert not diags, (text, diags)
        assert spec.state is not None
        checked += 1
    assert checked >= 2
