"""The local training_job through the provider contract, with real processes: a run that
succeeds (artifacts stored, digest, metrics, variables), fails, times out, is retried, is
cancelled, runs two connecting ranks; and plan's fingerprint: no-op versus replace with reasons."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest
from jobhelpers import Recorder, apply, build_env, provider, store_dataset
from mlform_local import runcache
from mlform_local.store import environment_info, environment_path

from mlform.kinds.digest import digest_tree
from mlform.sdk import UNKNOWN, ConfigError, ProviderError

JOBS = Path(__file__).parent / "data" / "jobs"


@pytest.fixture
def rec(tmp_path: Path) -> Recorder:
    return Recorder(tmp_path)


def _code(rec: Recorder, name: str) -> str:
    dest = rec.module_dir / name
    shutil.copytree(JOBS / name, dest)
    return name


def _data(rec: Recorder, rows: int = 3) -> tuple[Path, str]:
    folder = rec.module_dir / "data"
    folder.mkdir(exist_ok=True)
    (folder / "rows.csv").write_text("".join(f"{i},{i * i}\n" for i in range(rows)))
    return folder, store_dataset(rec, folder)


def _echo_job(rec: Recorder, **over):
    env_id = build_env(rec, env={"GREETING": "hello"})
    _folder, ds = _data(rec)
    desired = {
        "environment": env_id,
        "code": _code(rec, "echo_env")
        if not (rec.module_dir / "echo_env").exists()
        else "echo_env",
        "command": "python train.py",
        "datasets": {"train": ds},
        "params": {"c": 1.0, "name": "x", "seen_file": str(rec.root / "seen.json")},
        "seed": 7,
    }
    desired.update(over)
    return desired


def test_a_job_runs_in_its_environment_with_the_variables_and_stores_its_model(
    rec: Recorder,
) -> None:
    kind = provider().kind("training_job")
    desired = _echo_job(rec)
    ctx = rec.ctx("training_job.echo")
    planned = kind.plan(None, desired, ctx)
    assert planned.action == "create"
    assert planned.attrs["model"] is UNKNOWN and planned.attrs["fingerprint"].startswith("sha256:")
    state = kind.create(planned, ctx)

    a = state.attrs
    assert a["status"] == "succeeded" and a["run_id"] == state.id
    assert a["fingerprint"] == planned.attrs["fingerprint"]
    model = Path(a["model"])
    assert (model / "model.txt").read_text() == "rows=3 c=1 seed=7\n"
    assert a["model_digest"] == digest_tree(model).digest
    assert a["metrics"] == {"accuracy": 0.5, "rows": 3}
    assert a["started_at"] <= a["finished_at"]

    seen = json.loads((rec.root / "seen.json").read_text())
    env_root = environment_path(rec.data_dir, desired["environment"])
    assert seen["VIRTUAL_ENV"] == str(env_root)
    assert seen["executable"].startswith(str(env_root))
    assert seen["GREETING"] == "hello"  # the environment's env map
    assert json.loads(seen["MLFORM_PARAMS"])["c"] == 1
    assert seen["MLFORM_PARAM_C"] == "1" and seen["MLFORM_PARAM_NAME"] == "x"
    assert seen["MLFORM_SEED"] == "7" and seen["PYTHONHASHSEED"] == "7"
    assert (Path(seen["MLFORM_DATA_TRAIN"]) / "rows.csv").is_file()
    assert "CUDA_VISIBLE_DEVICES" in seen and seen["CUDA_VISIBLE_DEVICES"] is not None
    # A fresh working directory holding the code (not the user's folder).
    assert seen["cwd_files"] == ["helper.txt", "train.py"]
    assert not seen["cwd"].startswith(str(rec.module_dir))

    # Output streamed live and kept for `mlform logs`.
    assert "read 3 rows, c=1" in rec.lines and "to stderr" in rec.lines
    log = Path(a["logs"])
    # The runtime's output location of the run's (only) attempt.
    assert log.name == "log.txt" and "read 3 rows, c=1" in log.read_text()
    assert log.parent == rec.data_dir / "runs" / "training_job.echo" / state.id / "attempt-1"
    assert state.private["log_path"] == str(log)
    assert "read 3 rows, c=1" in list(kind.logs(state, ctx))

    lin = state.lineage
    assert lin["fingerprint_inputs"]["datasets"] == {"train": desired["datasets"]["train"]}
    assert lin["code"]["digest"] == a["code_digest"] and lin["code"]["files"] == 2
    assert lin["environment"]["lock_digest"].startswith("sha256:")
    assert lin["model"]["digest"] == a["model_digest"]
    assert lin["params"]["c"] == 1 and lin["seed"] == 7 and lin["command"] == "python train.py"
    assert lin["hardware"]["class"] and lin["host"]["os"]

    # read keeps the record while the model exists; gone when it was removed.
    assert kind.read(state, ctx) is state
    kind.delete(state, ctx)
    assert model.is_dir()  # delete forgets; the store keeps the artifacts
    from mlform_local.store import remove_tree

    remove_tree(model)
    assert kind.read(state, ctx) is None


def test_same_inputs_give_the_same_model_digest_and_a_noop_plan(rec: Recorder) -> None:
    kind = provider().kind("training_job")
    ctx = rec.ctx("training_job.echo")
    desired = _echo_job(rec)
    _, first = apply(kind, None, desired, ctx)
    again = kind.plan(first, desired, ctx)
    assert again.action == "noop" and again.reasons == []
    assert again.attrs["model_digest"] == first.attrs["model_digest"]
    # A setting that does not decide the result is recorded without a run.
    assert kind.plan(first, {**desired, "timeout": "1h"}, ctx).action == "update"

    # A new prior (another workspace) is restored from the run cache, not trained.
    restore = kind.plan(None, desired, rec.ctx("training_job.other"))
    assert restore.action == "create" and restore.reasons[0].startswith(
        "will be restored from the run of "
    )
    assert restore.attrs["model_digest"] == first.attrs["model_digest"]
    # Retrain on purpose (the kept result forgotten) and compare the artifacts: byte-identical.
    runcache.remove(rec.data_dir, first.attrs["fingerprint"])
    second = kind.create(kind.plan(None, desired, ctx), ctx)
    assert second.id != first.id
    assert second.attrs["model_digest"] == first.attrs["model_digest"]


def test_changed_inputs_are_a_replace_naming_each_input(rec: Recorder) -> None:
    kind = provider().kind("training_job")
    ctx = rec.ctx("training_job.echo")
    desired = _echo_job(rec)
    _, state = apply(kind, None, desired, ctx)

    p = kind.plan(state, {**desired, "params": {**desired["params"], "c": 2}}, ctx)
    assert p.action == "replace"
    assert p.reasons == ["params.c changed 1 → 2"]
    assert p.replace_paths == ["params"]
    assert p.attrs["fingerprint"] != state.attrs["fingerprint"]

    # A changed code file: the code digest, old and new.
    (rec.module_dir / "echo_env" / "helper.txt").write_text("edited\n")
    p = kind.plan(state, desired, ctx)
    assert p.action == "replace" and len(p.reasons) == 1
    assert p.reasons[0].startswith("code changed sha256:") and "→ sha256:" in p.reasons[0]
    (rec.module_dir / "echo_env" / "helper.txt").write_text("a file copied with the code\n")
    assert kind.plan(state, desired, ctx).action == "noop"
    # __pycache__ and friends are not code.
    (rec.module_dir / "echo_env" / "__pycache__").mkdir()
    (rec.module_dir / "echo_env" / "__pycache__" / "x.pyc").write_bytes(b"junk")
    assert kind.plan(state, desired, ctx).action == "noop"

    # A changed dataset, and the seed, each named with old and new.
    _folder, ds2 = _data(rec, rows=4)
    p = kind.plan(state, {**desired, "datasets": {"train": ds2}, "seed": 8}, ctx)
    assert p.action == "replace"
    assert p.reasons[0].startswith('dataset "train" changed sha256:')
    assert p.reasons[1] == "seed changed 7 → 8"
    assert p.replace_paths == ["datasets.train", "seed"]

    # An input known only after apply: the fingerprint is unknown, and the plan says why.
    p = kind.plan(state, {**desired, "datasets": {"train": UNKNOWN}}, ctx)
    assert p.action == "replace" and p.attrs["fingerprint"] is UNKNOWN
    assert 'dataset "train" is known only after apply' in p.reasons


def test_an_environment_not_built_yet_makes_the_fingerprint_unknown(rec: Recorder) -> None:
    kind = provider().kind("training_job")
    ctx = rec.ctx("training_job.echo")
    desired = _echo_job(rec)
    _, state = apply(kind, None, desired, ctx)
    p = kind.plan(state, {**desired, "environment": "env-" + "0" * 64}, ctx)
    assert p.action == "replace" and p.attrs["fingerprint"] is UNKNOWN
    assert p.reasons[0] == f"environment changed {desired['environment']} → env-{'0' * 64}"
    assert any("known only after apply" in r for r in p.reasons)


def test_a_failed_job_raises_with_its_last_lines(rec: Recorder) -> None:
    kind = provider().kind("training_job")
    ctx = rec.ctx("training_job.bad")
    desired = {
        "environment": build_env(rec),
        "code": _code(rec, "fail"),
        "command": "python train.py",
    }
    with pytest.raises(ProviderError) as err:
        kind.create(kind.plan(None, desired, ctx), ctx)
    assert err.value.summary == "training job failed: exit status 3"
    lines = err.value.detail.splitlines()
    assert "RuntimeError: loss is nan" in err.value.detail
    assert "step 39" in err.value.detail and "step 10" not in lines  # only the tail
    assert "full log: " in err.value.detail


def test_a_job_that_times_out_is_stopped_with_a_clear_error(rec: Recorder) -> None:
    kind = provider().kind("training_job")
    ctx = rec.ctx("training_job.slow")
    desired = {
        "environment": build_env(rec),
        "code": _code(rec, "slow"),
        "command": "python train.py",
        "timeout": "1s",
    }
    with pytest.raises(ProviderError) as err:
        kind.create(kind.plan(None, desired, ctx), ctx)
    assert "timed out after 1s" in err.value.summary
    assert "sleeping" in err.value.detail


def test_a_bad_timeout_is_a_config_error(rec: Recorder) -> None:
    kind = provider().kind("training_job")
    with pytest.raises(ConfigError) as err:
        kind.plan(None, {"command": "true", "timeout": "soon"}, rec.ctx("training_job.x"))
    assert err.value.attribute == "timeout"


def test_retries_rerun_a_failed_attempt(rec: Recorder) -> None:
    kind = provider().kind("training_job")
    ctx = rec.ctx("training_job.flaky")
    desired = {
        "environment": build_env(rec),
        "code": _code(rec, "retry"),
        "command": "python train.py",
        "params": {"counter": str(rec.root / "counter")},
        "retries": 1,
    }
    state = kind.create(kind.plan(None, desired, ctx), ctx)
    assert state.attrs["status"] == "succeeded"
    assert (rec.root / "counter").read_text() == "2"
    assert state.lineage["timings"]["attempts"] == 2
    log = list(kind.logs(state, ctx))
    assert log.index("first attempt fails") < log.index("retrying: attempt 2 of 2")
    assert log.index("retrying: attempt 2 of 2") < log.index("second attempt succeeds")
    # Without retries the same job fails.
    (rec.root / "counter").unlink()
    # (Other params: the same fingerprint would be restored from the run cache.)
    desired["params"] = {**desired["params"], "again": True}
    with pytest.raises(ProviderError):
        kind.create(kind.plan(None, {**desired, "retries": 0}, ctx), ctx)


def test_cancel_stops_a_running_job(rec: Recorder) -> None:
    kind = provider().kind("training_job")
    ctx = rec.ctx("training_job.slow")
    desired = {
        "environment": build_env(rec),
        "code": _code(rec, "slow"),
        "command": "python train.py",
    }
    planned = kind.plan(None, desired, ctx)
    threading.Timer(1.0, rec.cancel.set).start()
    with pytest.raises(ProviderError) as err:
        kind.create(planned, ctx)
    assert err.value.summary == "training job cancelled"


def test_two_ranks_connect_through_the_launch_variables(rec: Recorder) -> None:
    kind = provider().kind("training_job")
    ctx = rec.ctx("training_job.ddp")
    desired = {
        "environment": build_env(rec),
        "code": _code(rec, "ranks"),
        "command": "python train.py",
        "nodes": 2,
    }
    state = kind.create(kind.plan(None, desired, ctx), ctx)
    met = json.loads((Path(state.attrs["model"]) / "met.json").read_text())
    assert met == [{"rank": 1, "world": 2}]
    assert "[rank 1] rank 1 got welcome" in rec.lines
    assert any(line.startswith("[rank 0] rank 0 met") for line in rec.lines)


def test_a_job_without_code_or_artifacts_still_records_an_empty_model(rec: Recorder) -> None:
    kind = provider().kind("training_job")
    ctx = rec.ctx("training_job.echo")
    desired = {"command": "echo no code here; pwd", "seed": 1}
    state = kind.create(kind.plan(None, desired, ctx), ctx)
    assert "no code here" in rec.lines
    assert state.attrs["code_digest"] is None and state.attrs["metrics"] == {}
    model = Path(state.attrs["model"])
    assert model.is_dir() and list(model.iterdir()) == []
    assert state.attrs["model_digest"] == digest_tree(model).digest
    # Without an environment the job runs on mlform's own Python.
    assert state.lineage["environment"]["id"] is None
    assert kind.plan(state, desired, ctx).action == "noop"


def _git(cwd: Path, *args: str) -> str:
    import subprocess

    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "HOME": str(cwd),
        "PATH": "/usr/bin:/bin:/usr/local/bin",
    }
    out = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def test_code_snapshots_record_the_commit_and_uncommitted_changes(tmp_path: Path) -> None:
    from mlform_local.code_snapshot import scan_code

    repo = tmp_path / "repo"
    code = repo / "src"
    code.mkdir(parents=True)
    (code / "train.py").write_text("print('v1')\n")
    (code / ".gitignore").write_text("outputs/\n*.log\n")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "v1")
    head = _git(repo, "rev-parse", "HEAD")

    clean = scan_code(code)
    assert clean.git_commit == head and clean.git_dirty_digest is None
    # What .gitignore leaves out is not code, nor are caches.
    (code / "outputs").mkdir()
    (code / "outputs" / "big.bin").write_bytes(b"x" * 100)
    (code / "run.log").write_text("log\n")
    (code / "__pycache__").mkdir()
    (code / "__pycache__" / "train.cpython-311.pyc").write_bytes(b"pyc")
    again = scan_code(code)
    assert again.digest == clean.digest and again.git_dirty_digest is None
    assert [f.path for f in again.tree.files] == [".gitignore", "train.py"]

    # An edit: a new code digest and a dirty digest; an untracked file: another dirty digest.
    (code / "train.py").write_text("print('v2')\n")
    edited = scan_code(code)
    assert edited.digest != clean.digest and edited.git_commit == head
    assert edited.git_dirty_digest is not None and edited.git_dirty_digest.startswith("sha256:")
    (code / "util.py").write_text("X = 1\n")
    untracked = scan_code(code)
    assert untracked.git_dirty_digest not in (None, edited.git_dirty_digest)
    (code / "util.py").write_text("X = 2\n")
    assert scan_code(code).git_dirty_digest != untracked.git_dirty_digest

    # Outside a repository there is no commit to record.
    plain_dir = tmp_path / "plain"
    plain_dir.mkdir()
    (plain_dir / "a.py").write_text("")
    assert scan_code(plain_dir).git_commit is None


def test_a_run_whose_answer_was_lost_is_found_by_its_token(rec: Recorder) -> None:
    kind = provider().kind("training_job")
    ctx = rec.ctx("training_job.echo")
    ctx.idempotency_token = "tok-run"
    state = kind.create(kind.plan(None, {"command": "echo done", "seed": 3}, ctx), ctx)
    found = kind.find_by_token("tok-run", ctx)
    # The run found is pending: polling it collects the same result.
    assert found is not None and found.id == state.id and found.private["fingerprint_inputs"]
    status = kind.poll(found, ctx)
    assert status.status == "succeeded" and status.state is not None
    assert status.state.attrs == state.attrs
    assert kind.find_by_token("other", ctx) is None


def test_lineage_records_the_facts_the_worker_read(rec: Recorder) -> None:
    """GPU, driver and CUDA come from where the job ran: an nvidia-smi that only the job's
    environment has (its bin/ is first on the job's PATH) is what the record shows, not this
    process's view of the host nor the cluster's record."""
    import socket

    from kindhelpers import install_fake_nvidia_smi

    from mlform.lineage.capture import gpu_facts

    env_id = build_env(rec)
    install_fake_nvidia_smi(environment_path(rec.data_dir, env_id) / "bin", "a10g")
    cluster = {
        "id": f"local:{socket.gethostname()}",
        "hardware_class": "gpu:NVIDIA H100 80GB HBM3x1",
        "visible_devices": "0",
        "gpu_model": "NVIDIA H100 80GB HBM3",
        "gpu_count": 1,
        "driver_version": "580.95.05",
        "cuda_version": "13.0",
    }
    kind = provider().kind("training_job")
    ctx = rec.ctx("training_job.gpu", extra={"cluster.box": cluster})
    desired = {"environment": env_id, "cluster": cluster["id"], "command": "echo ok", "seed": 1}
    state = kind.create(kind.plan(None, desired, ctx), ctx)
    hw = state.lineage["hardware"]
    assert (hw["gpu_model"], hw["gpu_count"]) == ("NVIDIA A10G", 1)
    assert (hw["driver_version"], hw["cuda_version"]) == ("470.256.02", "11.4")
    assert hw["class"] == cluster["hardware_class"] and hw["visible_devices"] == "0"
    assert gpu_facts()["gpu_model"] != "NVIDIA A10G"  # what this process sees of the host
    host = state.lineage["host"]
    assert host["hostname"] == socket.gethostname() and host["python"] and host["cpu_count"]
    # The environment's exact versions, from its record.
    lock = environment_info(rec.data_dir, env_id)["lock"]
    assert state.lineage["environment"]["packages"] == lock
