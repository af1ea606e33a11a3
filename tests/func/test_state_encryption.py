"""State encryption through the CLI (docs/state-encryption.md): what is on disk is sealed, the
holder of the key reads it, a wrong or missing key changes nothing, keys rotate through a
fallback, unencrypted state migrates, and a crashed apply's sealed journal is replayed."""

from __future__ import annotations

import hashlib
import json
import signal
import time
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("cryptography")

PASS_A = "first passphrase, long enough"
PASS_B = "second passphrase, long enough"
CANARY = "canary-value-7f3a9c"


def encryption(
    provider: str = "a",
    fallback: str | None = None,
    plan: bool = False,
    enforced: bool = False,
) -> str:
    """An encryption block whose state method uses key provider `provider` (passphrase
    var.pass_<provider>); `fallback` names another provider's method, or "unencrypted"."""
    providers = {provider} | ({fallback} if fallback and fallback != "unencrypted" else set())
    lines = []
    for p in sorted(providers):
        lines.append(f'    key_provider "pbkdf2" "{p}" {{ passphrase = var.pass_{p} }}')
        lines.append(f'    method "aes_gcm" "{p}" {{ keys = key_provider.pbkdf2.{p} }}')
    lines.append('    method "unencrypted" "migrate" {}')
    fb = ""
    if fallback == "unencrypted":
        fb = "      fallback { method = method.unencrypted.migrate }\n"
    elif fallback:
        fb = f"      fallback {{ method = method.aes_gcm.{fallback} }}\n"
    lines.append(
        f"    state {{\n      method = method.aes_gcm.{provider}\n"
        f"      enforced = {'true' if enforced else 'false'}\n{fb}    }}"
    )
    if plan:
        lines.append(f"    plan {{ method = method.aes_gcm.{provider} }}")
    return "mlform {\n  encryption {\n" + "\n".join(lines) + "\n  }\n}\n"


VARIABLES = """
variable "pass_a" {
  type      = string
  sensitive = true
  default   = null
}
variable "pass_b" {
  type      = string
  sensitive = true
  default   = null
}
"""


def resources(count: int = 3, latency_ms: int = 0, extra: str = "") -> str:
    return f"""
provider "test" {{ store = "objects.json" }}
resource "test_object" "o" {{
  count      = {count}
  value      = "{CANARY}-${{count.index}}{extra}"
  latency_ms = {latency_ms}
}}
output "first" {{ value = test_object.o[0].value }}
"""


def keys(a: str | None = PASS_A, b: str | None = None) -> dict[str, str]:
    env = {}
    if a is not None:
        env["MLFORM_VAR_pass_a"] = a
    if b is not None:
        env["MLFORM_VAR_pass_b"] = b
    return env


def state_files(workdir: Path) -> list[Path]:
    """The state, every history file and the journal, as they are on disk."""
    out = [workdir / "mlform.state.json", workdir / "mlform.state.json.journal"]
    hist = workdir / "mlform.state.json.history"
    if hist.is_dir():
        out += sorted(hist.iterdir())
    return [p for p in out if p.exists()]


def assert_sealed(workdir: Path, *secrets: str) -> None:
    files = state_files(workdir)
    assert files
    for f in files:
        data = f.read_bytes()
        for s in (CANARY, *secrets):
            assert s.encode() not in data, f"{s!r} in clear in {f}"
        for line in data.splitlines():
            assert line.startswith(b'{"mlform_encrypted":1,'), f"{f}: {line[:60]!r}"


def envelope(path: Path) -> dict:
    return json.loads(path.read_bytes().splitlines()[0])


def snapshot(workdir: Path) -> dict[str, str]:
    return {
        str(p.relative_to(workdir)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(workdir.rglob("mlform.state.json*"))
        if p.is_file() and not p.name.endswith(".lock.info")
    }


def test_apply_plan_destroy_with_everything_sealed(mlform, write, workdir, store) -> None:
    write(encryption() + VARIABLES + resources())
    res = mlform.ok("apply", "--auto-approve", env=keys())
    assert "Apply complete! Resources: 3 added" in res.out
    assert_sealed(workdir, PASS_A)
    head = envelope(workdir / "mlform.state.json")
    assert head["method"] == "aes_gcm.a" and head["key_provider"] == "pbkdf2.a"
    assert head["kdf"]["iterations"] >= 600_000 and head["kdf"]["salt"]
    assert (workdir / "mlform.state.json").stat().st_mode & 0o777 == 0o600

    plan = mlform("plan", "--detailed-exitcode", env=keys())
    assert plan.code == 0, str(plan)
    listed = mlform.ok("state", "list", env=keys())
    assert "test_object.o[2]" in listed.out
    history = mlform.ok("history", env=keys())
    assert "apply" in history.out
    write(encryption() + VARIABLES + resources(extra="-v2"))
    mlform.ok("apply", "--auto-approve", env=keys())
    assert_sealed(workdir, PASS_A)
    res = mlform.ok("destroy", "--auto-approve", env=keys())
    assert "Resources: 3 destroyed" in res.out
    assert store.count() == 0
    assert_sealed(workdir, PASS_A)
    assert len(list((workdir / "mlform.state.json.history").glob("*.json"))) == 3
    for r in (res, plan, listed, history):
        assert PASS_A not in r.all


def test_state_pull_decrypts_for_the_holder_of_the_key_only(mlform, write, workdir) -> None:
    write(encryption() + VARIABLES + resources())
    mlform.ok("apply", "--auto-approve", env=keys())
    pulled = json.loads(mlform.ok("state", "pull", env=keys()).out)
    assert pulled["serial"] == 1
    assert f"{CANARY}-0" in json.dumps(pulled)

    before = snapshot(workdir)
    no_key = mlform("state", "pull", env=keys(a=None))
    assert no_key.code == 1 and no_key.out == ""
    assert "var.pass_a has no value" in no_key.err and "MLFORM_VAR_pass_a" in no_key.err

    # Without the encryption configuration at all: the file says how it was sealed.
    write(VARIABLES + resources())
    unconfigured = mlform("state", "pull")
    assert unconfigured.code == 1 and CANARY not in unconfigured.all
    assert "is encrypted, and no encryption is configured" in unconfigured.err
    assert "key provider pbkdf2.a" in unconfigured.err
    assert mlform("plan").code == 1
    assert snapshot(workdir) == before

    # The pulled copy pushes back (encrypted again) as a newer serial.
    write(encryption() + VARIABLES + resources())
    pulled["serial"] = 5
    (workdir / "copy.json").write_text(json.dumps(pulled))
    mlform.ok("state", "push", "copy.json", env=keys())
    assert_sealed(workdir)
    # A sealed history serial pushes too (opened with the key).
    hist = workdir / "mlform.state.json.history" / "00000001.json"
    mlform.ok("state", "push", "--force", str(hist), env=keys())
    assert json.loads(mlform.ok("state", "pull", env=keys()).out)["serial"] == 6


def test_wrong_passphrase_is_refused_and_changes_nothing(mlform, write, workdir, store) -> None:
    write(encryption() + VARIABLES + resources())
    mlform.ok("apply", "--auto-approve", env=keys())
    write(encryption() + VARIABLES + resources(count=4))
    pulled = json.loads(mlform.ok("state", "pull", env=keys()).out)
    (workdir / "copy.json").write_text(json.dumps(dict(pulled, serial=9)))
    before = snapshot(workdir)
    objects = store.objects()
    wrong = "a wrong passphrase, quite long"
    for args in (
        ("state", "push", "--force", "copy.json"),
        ("plan",),
        ("apply", "--auto-approve"),
        ("destroy", "--auto-approve"),
        ("state", "pull"),
        ("state", "rm", "test_object.o[0]"),
        ("state", "rotate-key"),
    ):
        res = mlform(*args, env=keys(a=wrong))
        assert res.code == 1, str(res)
        assert (
            "Cannot decrypt the state mlform.state.json with key provider pbkdf2.a: "
            "wrong passphrase?" in res.err
        ), str(res)
        assert wrong not in res.all and PASS_A not in res.all and CANARY not in res.out
    assert snapshot(workdir) == before
    assert store.objects() == objects  # no provider was called


def test_key_rotation_through_a_fallback(mlform, write, workdir, store) -> None:
    write(encryption("a") + VARIABLES + resources())
    mlform.ok("apply", "--auto-approve", env=keys())

    # New key b, old key a as the fallback: reads work, and the next write uses b.
    write(encryption("b", fallback="a") + VARIABLES + resources())
    both = keys(a=PASS_A, b=PASS_B)
    # Without the new key's passphrase, a run that would write is refused before it starts.
    write(encryption("b", fallback="a") + VARIABLES + resources(count=4))
    before, objects = snapshot(workdir), store.objects()
    res = mlform("apply", "--auto-approve", env=keys(a=PASS_A))
    assert res.code == 1 and "var.pass_b has no value" in res.err, str(res)
    assert snapshot(workdir) == before and store.objects() == objects
    write(encryption("b", fallback="a") + VARIABLES + resources())
    assert mlform("plan", "--detailed-exitcode", env=both).code == 0
    assert envelope(workdir / "mlform.state.json")["key_provider"] == "pbkdf2.a"
    res = mlform.ok("state", "rotate-key", env=both)
    assert "as serial 2, encrypted with method aes_gcm.b" in res.out
    assert envelope(workdir / "mlform.state.json")["key_provider"] == "pbkdf2.b"
    hist = workdir / "mlform.state.json.history"
    assert envelope(hist / "00000001.json")["key_provider"] == "pbkdf2.a"  # never rewritten
    assert envelope(hist / "00000002.json")["key_provider"] == "pbkdf2.b"
    assert_sealed(workdir, PASS_A, PASS_B)
    assert "rotate-key" in mlform.ok("history", env=both).out

    # The old key is no longer needed for the state.
    write(encryption("b") + VARIABLES + resources())
    assert mlform("plan", "--detailed-exitcode", env=keys(a=None, b=PASS_B)).code == 0
    # ... nor the old passphrase accepted in the new key's place.
    res = mlform("plan", env=keys(a=None, b=PASS_A))
    assert res.code == 1 and "with key provider pbkdf2.b: wrong passphrase?" in res.err


def test_an_apply_rewrites_with_the_new_key(mlform, write, workdir) -> None:
    write(encryption("a") + VARIABLES + resources())
    mlform.ok("apply", "--auto-approve", env=keys())
    write(encryption("b", fallback="a") + VARIABLES + resources(extra="-v2"))
    mlform.ok("apply", "--auto-approve", env=keys(a=PASS_A, b=PASS_B))
    assert envelope(workdir / "mlform.state.json")["key_provider"] == "pbkdf2.b"


def test_migration_from_unencrypted_state(mlform, write, workdir) -> None:
    write(VARIABLES + resources())
    mlform.ok("apply", "--auto-approve")
    assert CANARY.encode() in (workdir / "mlform.state.json").read_bytes()

    # Encryption without a way to read what is there: refused, nothing changed.
    write(encryption("a") + VARIABLES + resources())
    before = snapshot(workdir)
    res = mlform("apply", "--auto-approve", env=keys())
    assert res.code == 1
    assert "The state mlform.state.json is not encrypted" in res.err
    assert "fallback { method = method.unencrypted.migrate }" in res.err
    assert snapshot(workdir) == before

    # With the unencrypted fallback, the next write encrypts.
    write(encryption("a", fallback="unencrypted", enforced=True) + VARIABLES + resources())
    assert mlform("plan", "--detailed-exitcode", env=keys()).code == 0
    mlform.ok("state", "rotate-key", env=keys())
    state = workdir / "mlform.state.json"
    assert envelope(state)["method"] == "aes_gcm.a"
    assert CANARY.encode() not in state.read_bytes()
    assert CANARY.encode() in (workdir / "mlform.state.json.history" / "00000001.json").read_bytes()
    pulled = json.loads(mlform.ok("state", "pull", env=keys()).out)
    assert pulled["serial"] == 2 and pulled["lineage"]


def test_enforced_with_an_unencrypted_method_is_a_configuration_error(mlform, write) -> None:
    write(
        'mlform {\n  encryption {\n    method "unencrypted" "plain" {}\n'
        "    state {\n      method = method.unencrypted.plain\n      enforced = true\n    }\n"
        "  }\n}\n" + resources()
    )
    res = mlform("validate")
    assert res.code == 1
    assert "Enforced encryption with an unencrypted method" in res.err
    assert "main.mlf.hcl" in res.err


def test_saved_plans_are_sealed_and_never_hold_the_passphrase(mlform, write, workdir) -> None:
    write(encryption(plan=True) + VARIABLES + resources())
    res = mlform.ok("plan", "-out", "p.mlplan", env=keys())
    raw = (workdir / "p.mlplan").read_bytes()
    assert raw.startswith(b'{"mlform_encrypted":1,"purpose":"plan"')
    assert CANARY.encode() not in raw and PASS_A.encode() not in raw
    shown = mlform.ok("show", "p.mlplan", env=keys())
    assert f"{CANARY}-0" in shown.out
    markdown = mlform.ok("show", "--format", "markdown", "p.mlplan", env=keys())
    assert "test_object.o[0]" in markdown.out
    refused = mlform("show", "p.mlplan", env=keys(a="a wrong passphrase, quite long"))
    assert refused.code == 1 and "Cannot decrypt the plan file p.mlplan" in refused.err
    applied = mlform.ok("apply", "p.mlplan", env=keys())
    assert "Apply complete! Resources: 3 added" in applied.out
    assert PASS_A not in res.all + shown.all + applied.all

    # Without a plan section the plan is a plain zip file: the passphrase is not in it, nor
    # in the JSON plan.
    write(encryption() + VARIABLES + resources(extra="-v2"))
    mlform.ok("plan", "-out", "plain.mlplan", env=keys())
    with zipfile.ZipFile(workdir / "plain.mlplan") as z:
        body = z.read("plan.json").decode()
    assert PASS_A not in body and "pass_a" not in json.loads(body).get("variables", {})
    as_json = mlform.ok("plan", "-json", env=keys())
    assert PASS_A not in as_json.out
    assert "pass_a" not in json.loads(as_json.out).get("variables", {})


def test_configuration_from_the_environment(mlform, write, workdir) -> None:
    write(resources())
    config = (
        f'key_provider "pbkdf2" "ci" {{ passphrase = "{PASS_B}" }}\n'
        'method "aes_gcm" "ci" { keys = key_provider.pbkdf2.ci }\n'
        "state { method = method.aes_gcm.ci }\n"
    )
    env = {"MLFORM_ENCRYPTION": config}
    res = mlform.ok("apply", "--auto-approve", env=env)
    assert_sealed(workdir, PASS_B)
    assert envelope(workdir / "mlform.state.json")["key_provider"] == "pbkdf2.ci"
    assert json.loads(mlform.ok("state", "pull", env=env).out)["serial"] == 1
    assert mlform("state", "pull").code == 1
    bad = mlform("plan", env={"MLFORM_ENCRYPTION": config.replace("ci }", "ci")})
    assert bad.code == 1 and "Invalid MLFORM_ENCRYPTION" in bad.err
    assert PASS_B not in res.all + bad.all


def wait_for(pred, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_killed_apply_leaves_a_sealed_journal_that_is_replayed(
    mlform, write, workdir, store
) -> None:
    n = 30
    write(encryption() + VARIABLES + resources(count=n, latency_ms=100))
    proc = mlform.popen("apply", "--auto-approve", "--parallelism", "5", env=keys())
    try:
        wait_for(lambda: store.count() >= 10 or proc.poll() is not None)
        assert proc.poll() is None, "apply finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]
    assert store.count() < n
    journal = workdir / "mlform.state.json.journal"
    assert journal.exists()
    assert_sealed(workdir, PASS_A)
    assert len(journal.read_bytes().splitlines()) > 10  # one sealed line per entry

    # Without the key, the journal is not touched either.
    before = snapshot(workdir)
    assert mlform("plan", env=keys(a="a wrong passphrase, quite long")).code == 1
    assert snapshot(workdir) == before

    res = mlform.ok("apply", "--auto-approve", env=keys())
    assert "Recovered from an interrupted run" in res.out
    objects = store.objects()
    assert len(objects) == n  # nothing created twice
    assert state_ids(workdir) == set(objects)
    assert not journal.exists()
    assert_sealed(workdir, PASS_A)
    assert mlform("plan", "--detailed-exitcode", env=keys()).code == 0


def state_ids(workdir: Path) -> set[str]:
    """The object ids of the (sealed) state, read through the CLI's own backend."""
    import os

    from mlform.engine.operation import Operations

    old = os.getcwd()
    os.environ["MLFORM_VAR_pass_a"] = PASS_A
    try:
        os.chdir(workdir)
        ops = Operations(workdir)
        state = ops.backend().read()
    finally:
        os.chdir(old)
        del os.environ["MLFORM_VAR_pass_a"]
    assert state is not None
    return {i.id for _, _, i in state.all_instances()}
