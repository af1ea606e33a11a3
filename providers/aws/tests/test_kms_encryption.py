"""State encryption with the `aws_kms` key provider, through the CLI against the stand-in's KMS
(docs/state-encryption.md): nothing in clear on disk, the holder of the KMS key reads it, another
KMS key is refused without touching anything, keys rotate between pbkdf2 and aws_kms through a
fallback, and AWS errors are diagnostics."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("cryptography")

CANARY = "kms-canary-5b1e0d"
PASSPHRASE = "a pbkdf2 passphrase, long enough"
STATE = "mlform.state.json"


@pytest.fixture(scope="module")
def kms(standin: Any) -> Any:
    import boto3

    return boto3.client("kms", endpoint_url=standin.endpoint, region_name=standin.region)


def new_key(kms: Any, alias: str | None = None) -> str:
    """A fresh symmetric KMS key: its alias name when `alias` is given, else its ARN."""
    arn = str(kms.create_key(Description="mlform state")["KeyMetadata"]["Arn"])
    if alias is None:
        return arn
    kms.create_alias(AliasName=f"alias/{alias}", TargetKeyId=arn)
    return f"alias/{alias}"


def project(
    store: Path, kms_key: str | None, count: int = 2, fallback_pbkdf2: bool = False, **kw: str
) -> str:
    """A configuration whose state is encrypted with the KMS key `kms_key` (None: with pbkdf2);
    `fallback_pbkdf2` reads state written with pbkdf2 through a fallback."""
    extra = "".join(f'      {k} = "{v}"\n' for k, v in kw.items())
    blocks = [
        f'    key_provider "pbkdf2" "old" {{ passphrase = "{PASSPHRASE}" }}',
        '    method "aes_gcm" "old" { keys = key_provider.pbkdf2.old }',
    ]
    if kms_key is not None:
        blocks += [
            f'    key_provider "aws_kms" "main" {{\n      kms_key_id = "{kms_key}"\n'
            f'      region     = "us-east-1"\n      key_spec   = "AES_256"\n{extra}    }}',
            '    method "aes_gcm" "main" { keys = key_provider.aws_kms.main }',
        ]
    method = "main" if kms_key is not None else "old"
    fb = "      fallback { method = method.aes_gcm.old }\n" if fallback_pbkdf2 else ""
    blocks.append(f"    state {{\n      method = method.aes_gcm.{method}\n{fb}    }}")
    return f"""
mlform {{
  encryption {{
{chr(10).join(blocks)}
  }}
}}
provider "test" {{ store = "{store}" }}
resource "test_object" "o" {{
  count = {count}
  value = "{CANARY}-${{count.index}}"
}}
"""


def sealed_files(root: Path) -> dict[str, bytes]:
    """Every state, history and journal file under `root`, by relative path."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.relative_to(root).parts[0].startswith(STATE)
    }


def envelope(path: Path) -> dict[str, Any]:
    env = json.loads(path.read_text())
    assert env["mlform_encrypted"] == 1, env
    return env


def test_apply_plan_and_pull_with_a_kms_key(checkout, kms, tmp_path) -> None:
    key = new_key(kms, "mlform-state-a")
    a = checkout("a")
    a.write(project(tmp_path / "objects.json", key))
    a.ok("apply", "--auto-approve")

    files = sealed_files(a.path)
    assert STATE in files and len(files) > 1, files  # the state and its history at least
    for name, data in files.items():
        assert CANARY.encode() not in data, f"{name} holds plain text"
    env = envelope(a.path / STATE)
    assert env["key_provider"] == "aws_kms.main"
    assert env["kdf"]["name"] == "aws_kms"
    assert env["kdf"]["key"].startswith("arn:aws:kms:")
    # The data key's ciphertext blob is KMS's own: KMS gives the data key back for it.
    got = kms.decrypt(CiphertextBlob=base64.b64decode(env["kdf"]["blob"]))
    assert len(got["Plaintext"]) == 32

    assert "No changes" in a.ok("plan").all
    a.write(project(tmp_path / "objects.json", key, count=3))
    a.ok("apply", "--auto-approve")
    state = json.loads(a.ok("state", "pull").out)
    values = sorted(i["attributes"]["value"] for r in state["resources"] for i in r["instances"])
    assert values == [f"{CANARY}-{n}" for n in range(3)]
    assert CANARY.encode() not in (a.path / STATE).read_bytes()


def test_another_kms_key_is_refused_and_changes_nothing(checkout, kms, tmp_path) -> None:
    right, wrong = new_key(kms), new_key(kms, "mlform-state-wrong")
    a = checkout("a")
    store = tmp_path / "objects.json"
    a.write(project(store, right))
    a.ok("apply", "--auto-approve")
    before = sealed_files(a.path)
    objects = store.read_bytes()

    a.write(project(store, wrong, count=3))
    for args in (("plan",), ("apply", "--auto-approve"), ("state", "pull")):
        res = a(*args)
        assert res.code != 0, str(res)
        assert "Cannot decrypt the state" in res.all and "aws_kms.main" in res.all, str(res)
        assert "Traceback" not in res.all and "botocore" not in res.all, str(res)
    # Forcing a push over it is refused too: a wrong key is no reason to replace the state.
    backup = tmp_path / "backup.json"
    backup.write_text(json.dumps({"version": 4, "serial": 1, "lineage": "x", "resources": []}))
    assert a("state", "push", "--force", str(backup)).code != 0
    assert sealed_files(a.path) == before
    assert store.read_bytes() == objects


def test_kms_errors_are_diagnostics(checkout, kms, tmp_path) -> None:
    a = checkout("a")
    store = tmp_path / "objects.json"

    a.write(project(store, "alias/no-such-key"))
    res = a("apply", "--auto-approve")
    assert res.code != 0 and "alias/no-such-key" in res.all, str(res)
    assert "NotFoundException" in res.all and "Traceback" not in res.all, str(res)

    key = new_key(kms)
    a.write(project(store, key))
    res = a("apply", "--auto-approve", env={"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""})
    assert res.code != 0 and "No AWS credentials found" in res.all, str(res)
    assert "Traceback" not in res.all, str(res)

    a.write(project(store, key, endpoint="http://127.0.0.1:9"))
    res = a("apply", "--auto-approve")
    assert res.code != 0 and "Could not reach AWS" in res.all, str(res)
    assert "Traceback" not in res.all, str(res)
    assert not (a.path / STATE).exists()
    assert not store.exists()


def test_unknown_key_provider_names_the_package(checkout, tmp_path) -> None:
    a = checkout("a")
    a.write(
        project(tmp_path / "objects.json", "alias/x")
        .replace('"aws_kms"', '"gcp_kms"')
        .replace("key_provider.aws_kms.main", "key_provider.gcp_kms.main")
    )
    res = a("validate")
    assert res.code != 0 and 'Key provider type "gcp_kms" is not installed' in res.all, str(res)
    assert "on main.mlf.hcl line 6" in res.all and "`aws_kms`, `pbkdf2`" in res.all, str(res)

    # Without the AWS provider's package, aws_kms is unknown, and the message names it.
    a.write(project(tmp_path / "objects.json", "alias/x"))
    res = a("validate", env={"MLFORM_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert res.code != 0 and "pip install mlform-provider-aws" in res.all, str(res)


def test_rotation_from_pbkdf2_to_kms_and_back(checkout, kms, tmp_path) -> None:
    key = new_key(kms, "mlform-state-rotate")
    a = checkout("a")
    store = tmp_path / "objects.json"
    a.write(project(store, None))
    a.ok("apply", "--auto-approve")
    assert envelope(a.path / STATE)["key_provider"] == "pbkdf2.old"

    # KMS without the fallback cannot read what pbkdf2 wrote, and says so.
    a.write(project(store, key))
    res = a("plan")
    assert res.code != 0 and "pbkdf2.old" in res.all, str(res)

    # With pbkdf2 as the fallback, it is read, and rewritten with the KMS key.
    a.write(project(store, key, fallback_pbkdf2=True))
    assert "No changes" in a.ok("plan").all
    a.ok("state", "rotate-key")
    assert envelope(a.path / STATE)["key_provider"] == "aws_kms.main"
    a.write(project(store, key))  # the fallback dropped: the KMS key alone reads it now
    assert "No changes" in a.ok("plan").all

    # And back: pbkdf2 the method, the KMS key the fallback.
    back = project(store, key).replace(
        "method = method.aes_gcm.main\n",
        "method = method.aes_gcm.old\n      fallback { method = method.aes_gcm.main }\n",
    )
    a.write(back)
    a.ok("state", "rotate-key")
    assert envelope(a.path / STATE)["key_provider"] == "pbkdf2.old"
    # History serials keep the key they were written with: with both keys, all are read.
    history = json.loads(a.ok("history", "--json").out)
    assert [e["serial"] for e in history] == [1, 2, 3]
    a.write(project(store, None))
    assert "No changes" in a.ok("plan").all


def test_the_documented_kms_configurations_are_valid() -> None:
    import re

    from mlform_aws.kms import AwsKmsKeyProvider

    from mlform.config.parser import parse_hcl
    from mlform.state import encryption as E

    page = Path(__file__).resolve().parents[3] / "docs" / "state-encryption.md"
    text = page.read_text(encoding="utf-8")
    section = text[text.index("## AWS KMS") : text.index("## What is encrypted")]
    for name in AwsKmsKeyProvider.arguments:
        assert f"| `{name}` |" in section, f"docs/state-encryption.md: aws_kms argument {name}"
    assert "kms:GenerateDataKey" in section and "kms:Decrypt" in section
    blocks = [b for b in re.findall(r"```hcl\n(.*?)```", text, re.DOTALL) if '"aws_kms"' in b]
    assert len(blocks) >= 2
    for block in blocks:
        file, diags = parse_hcl(block, "doc.mlf.hcl")
        assert not diags, block
        (enc,) = file.body.blocks[0].body.blocks_of_type("encryption")
        spec, diags = E.parse_block(enc)
        assert not diags, (block, diags)
        assert any(kp.type == "aws_kms" for kp in spec.key_providers.values())
