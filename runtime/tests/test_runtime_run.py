"""`mlform-runtime run`: a real run of a tiny job, and what it leaves at the output location."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

from mlform_runtime import EXIT_BUSY, EXIT_CANCELLED, EXIT_FAILED, EXIT_OK, EXIT_TIMEOUT
from mlform_runtime.digest import digest_tree
from mlform_runtime.stores import LocalStore
from runtime_helpers import cli, output_of, read_json, start, wait_for

TRAIN = r"""
import json, os, sys
from pathlib import Path
keys = [k for k in os.environ if k.startswith(("MLFORM_", "RANK", "WORLD_SIZE", "LOCAL_",
        "MASTER_", "NODE_RANK", "PYTHONHASHSEED", "VIRTUAL_ENV", "CUDA_VISIBLE"))]
seen = {k: os.environ[k] for k in keys}
seen["executable"] = sys.executable
seen["model_dir_empty"] = os.listdir(os.environ["MLFORM_OUTPUT_DIR"]) == []
seen["train"] = Path(os.environ["MLFORM_DATA_TRAIN"]).read_text() if os.path.isfile(os.environ["MLFORM_DATA_TRAIN"]) else sorted(os.listdir(os.environ["MLFORM_DATA_TRAIN"]))
seen["cwd_files"] = sorted(os.listdir("."))
seen["data_dir"] = sorted(os.listdir(os.environ["MLFORM_DATA_DIR"]))
with open(os.environ["COUNT_FILE"], "a") as f:
    f.write("run\n")
Path(os.environ["MLFORM_OUTPUT_DIR"], "model.json").write_text(json.dumps(seen, sort_keys=True))
Path(os.environ["MLFORM_METRICS_FILE"]).write_text(json.dumps({"loss": 0.5, "acc": [1, 2]}))
print("trained", flush=True)
"""


def _project(tmp_path: Path) -> tuple[Path, Path]:
    code = tmp_path / "src"
    code.mkdir()
    (code / "train.py").write_text(TRAIN)
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.csv").write_text("1,2\n")
    (data / "b.csv").write_text("3,4\n")
    return code, data


def test_a_job_runs_with_the_documented_variables_and_records_its_result(
    tmp_path, make_spec, runtime_env
):
    code, data = _project(tmp_path)
    store = LocalStore(tmp_path / "store")
    code_tree = store.put_tree(code)
    data_tree = store.put_tree(data)
    count = tmp_path / "count.txt"
    spec = make_spec(
        code={"digest": code_tree.digest},
        datasets={"train": {"digest": data_tree.digest}},
        params={"lr": 0.1, "name": "x", "layers": [2, 3]},
        seed=7,
        command=f"{sys.executable} -I train.py".replace(sys.executable, "python"),
        env={"COUNT_FILE": str(count)},
        visible_devices="",
    )
    proc = cli(["run", str(spec)], runtime_env)
    assert proc.returncode == EXIT_OK, proc.stdout + proc.stderr
    out = output_of(spec)
    result = read_json(out / "result.json")
    status = read_json(out / "status.json")
    assert status["state"] == result["state"] == "succeeded"
    assert result["exit_code"] == 0 and result["metrics"] == {"loss": 0.5, "acc": [1, 2]}
    assert "trained" in (out / "log.txt").read_text()
    assert status["last_log_line"].startswith("[mlform-runtime] succeeded")

    # The model is in the store under its digest, as the runtime's digest of the folder says.
    model = result["model"]
    stored = store.tree_path(model["digest"])
    assert stored is not None and digest_tree(stored).digest == model["digest"]
    seen = json.loads((stored / "model.json").read_text())
    assert seen["MLFORM_PARAMS"] == json.dumps(
        {"layers": [2, 3], "lr": 0.1, "name": "x"}, sort_keys=True
    )
    assert seen["MLFORM_PARAM_LR"] == "0.1" and seen["MLFORM_PARAM_NAME"] == "x"
    assert seen["MLFORM_SEED"] == seen["PYTHONHASHSEED"] == "7"
    assert seen["MLFORM_RUN_ID"] == "run-1"
    assert seen["MLFORM_OUTPUT_DIR"] == seen["MLFORM_MODEL_DIR"]
    assert seen["model_dir_empty"] is True
    assert seen["train"] == ["a.csv", "b.csv"]
    assert seen["data_dir"] == ["train"]
    assert not Path(seen["MLFORM_DATA_DIR"]).exists()  # the work folder goes after a success
    assert seen["cwd_files"] == ["train.py"]
    assert seen["CUDA_VISIBLE_DEVICES"] == ""
    assert "RANK" not in seen and "WORLD_SIZE" not in seen  # one node: no torch variables
    # The empty lock: a venv of its own, not the runtime's interpreter.
    assert seen["VIRTUAL_ENV"] and seen["executable"].startswith(seen["VIRTUAL_ENV"])
    assert result["lineage"]["environment"]["venv"] == seen["VIRTUAL_ENV"]
    assert result["lineage"]["host"]["python"] and "gpu_count" in result["lineage"]["hardware"]
    assert result["lineage"]["packages"] == {}  # what is installed in that venv: nothing

    # Idempotent: the same spec again does nothing.
    again = cli(["run", str(spec)], runtime_env)
    assert again.returncode == EXIT_OK and "already succeeded" in again.stdout
    assert count.read_text() == "run\n"


def test_a_single_file_dataset_is_given_as_the_file(tmp_path, make_spec, runtime_env):
    f = tmp_path / "points.txt"
    f.write_text("1 2 3")
    code = tmp_path / "c"
    code.mkdir()
    (code / "t.py").write_text(
        "import os, pathlib\n"
        "p = pathlib.Path(os.environ['MLFORM_DATA_POINTS'])\n"
        "pathlib.Path(os.environ['MLFORM_OUTPUT_DIR'], 'm').write_text(p.name + p.read_text())\n"
    )
    spec = make_spec(
        code={"uri": str(code)}, datasets={"points": {"uri": f.as_uri()}}, command="python t.py"
    )
    assert cli(["run", str(spec)], runtime_env).returncode == EXIT_OK
    model = read_json(output_of(spec) / "result.json")["model"]
    assert Path(model["path"], "m").read_text() == "points.txt1 2 3"


def test_a_failing_job_is_recorded_failed_with_its_output(tmp_path, make_spec, runtime_env):
    spec = make_spec(command="echo about to fail; exit 3")
    proc = cli(["run", str(spec)], runtime_env)
    assert proc.returncode == EXIT_FAILED
    result = read_json(output_of(spec) / "result.json")
    assert result["state"] == "failed" and result["reason"] == "exit status 3"
    assert result["model"] is None
    assert "about to fail" in (output_of(spec) / "log.txt").read_text()


def test_a_changed_input_is_refused_before_running(tmp_path, make_spec, runtime_env):
    data = tmp_path / "d"
    data.mkdir()
    (data / "x").write_text("1")
    spec = make_spec(
        datasets={"d": {"uri": str(data), "digest": "sha256:" + "1" * 64}}, command="echo ran"
    )
    proc = cli(["run", str(spec)], runtime_env)
    assert proc.returncode == 3
    result = read_json(output_of(spec) / "result.json")
    assert "changed since the spec was written" in result["reason"]
    assert "ran" not in (output_of(spec) / "log.txt").read_text()


def test_timeout_stops_the_job_and_its_children(tmp_path, make_spec, runtime_env):
    pidfile = tmp_path / "child.pid"
    spec = make_spec(command=f"sleep 30 & echo $! > {pidfile}; wait", timeout_s=0.5)
    t0 = time.monotonic()
    proc = cli(["run", str(spec)], runtime_env)
    assert proc.returncode == EXIT_TIMEOUT
    assert time.monotonic() - t0 < 15
    result = read_json(output_of(spec) / "result.json")
    assert result["state"] == "failed" and result["reason"].startswith("timed out")
    child = int(pidfile.read_text())
    wait_for(lambda: not _alive(child), 5, "the job's child to be gone")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


def test_a_cancel_object_stops_a_running_job(tmp_path, make_spec, runtime_env):
    spec = make_spec(command="echo started; sleep 30")
    p = start(["run", str(spec)], runtime_env)
    out = output_of(spec)
    wait_for(lambda: (read_json(out / "status.json") or {}).get("state") == "running", 20)
    assert cli(["cancel", str(out), "--reason", "user asked"], runtime_env).returncode == 0
    assert p.wait(20) == EXIT_CANCELLED
    result = read_json(out / "result.json")
    assert result["state"] == "cancelled" and result["reason"] == "user asked"
    assert read_json(out / "status.json")["state"] == "cancelled"


def test_sigterm_to_the_runtime_cancels_the_job(tmp_path, make_spec, runtime_env):
    pidfile = tmp_path / "job.pid"
    spec = make_spec(command=f"echo $$ > {pidfile}; sleep 30")
    p = start(["run", str(spec)], runtime_env)
    out = output_of(spec)
    wait_for(pidfile.exists, 20, "the job to start")
    p.send_signal(signal.SIGTERM)
    assert p.wait(20) == EXIT_CANCELLED
    assert read_json(out / "result.json")["state"] == "cancelled"
    wait_for(lambda: not _alive(int(pidfile.read_text())), 5, "the job to be stopped")


def test_a_second_runtime_on_the_same_output_is_refused(tmp_path, make_spec, runtime_env):
    spec = make_spec(command="sleep 30")
    p = start(["run", str(spec)], runtime_env)
    out = output_of(spec)
    try:
        wait_for(lambda: (read_json(out / "status.json") or {}).get("state") == "running", 20)
        second = cli(["run", str(spec)], runtime_env)
        assert second.returncode == EXIT_BUSY and "another runtime" in second.stderr
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(20)


def test_detach_returns_at_once_and_the_job_finishes(tmp_path, make_spec, runtime_env):
    spec = make_spec(command="sleep 1; echo done > $MLFORM_OUTPUT_DIR/m")
    t0 = time.monotonic()
    proc = cli(["run", "--detach", str(spec)], runtime_env)
    assert proc.returncode == 0 and time.monotonic() - t0 < 5
    pid = int(proc.stdout.strip())
    out = output_of(spec)
    wait_for(lambda: (read_json(out / "result.json") or {}).get("state") == "succeeded", 30)
    assert read_json(out / "status.json")["pid"] == pid
    wait_for(lambda: not _alive(pid), 10, "the detached runtime to exit")


def test_heartbeat_rewrites_the_status_while_running(tmp_path, make_spec, runtime_env):
    spec = make_spec(command="echo one; sleep 1.5; echo two")
    out = output_of(spec)
    p = start(["run", str(spec)], runtime_env)
    first = wait_for(lambda: (read_json(out / "status.json") or {}).get("job_pids"), 20)
    beats = set()
    while p.poll() is None:
        st = read_json(out / "status.json") or {}
        if st.get("state") == "running":
            beats.add(st["heartbeat_at"])
        time.sleep(0.05)
    assert first and len(beats) >= 3
    assert p.returncode == 0


def test_ranks_get_torch_variables(tmp_path, make_spec, runtime_env):
    script = (
        "import os, json, pathlib; "
        "pathlib.Path(os.environ['MLFORM_OUTPUT_DIR'], 'r' + os.environ['RANK']).write_text("
        "json.dumps({k: os.environ[k] for k in ('RANK', 'LOCAL_RANK', 'WORLD_SIZE', "
        "'LOCAL_WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT', 'NODE_RANK')}))"
    )
    spec = make_spec(nodes=2, command=f'python -c "{script}"')
    assert cli(["run", str(spec)], runtime_env).returncode == EXIT_OK
    model = Path(read_json(output_of(spec) / "result.json")["model"]["path"])
    r0, r1 = (json.loads((model / f"r{i}").read_text()) for i in (0, 1))
    assert (r0["RANK"], r1["RANK"], r1["LOCAL_RANK"]) == ("0", "1", "1")
    assert r0["WORLD_SIZE"] == r0["LOCAL_WORLD_SIZE"] == "2"
    assert r0["MASTER_ADDR"] == "127.0.0.1" and r0["MASTER_PORT"] == r1["MASTER_PORT"]


def test_a_real_lock_is_installed_cached_and_recorded(tmp_path, make_spec, runtime_env):
    """joblib from uv's cache, offline: skipped where uv or that cached wheel is missing."""
    from mlform_runtime.envs import find_uv

    if find_uv() is None:
        import pytest

        pytest.skip("uv is not installed")
    env = {**runtime_env, "UV_OFFLINE": "1", "MLFORM_RUNTIME_CACHE": str(tmp_path / "cache")}
    cmd = "python -c 'import joblib; print(joblib.__version__)'"
    spec = make_spec(environment={"lock": ["joblib==1.4.2"]}, command=cmd)
    proc = cli(["run", str(spec)], env)
    if proc.returncode == 3 and "installing the environment" in proc.stdout:
        import pytest

        pytest.skip("joblib 1.4.2 is not in uv's cache (offline)")
    assert proc.returncode == EXIT_OK, proc.stdout + proc.stderr
    result = read_json(output_of(spec) / "result.json")
    assert result["lineage"]["packages"] == {"joblib": "1.4.2"}
    assert result["lineage"]["environment"]["source"] == "built"
    again = make_spec(environment={"lock": ["joblib==1.4.2"]}, command=cmd)
    assert cli(["run", str(again)], env).returncode == EXIT_OK
    second = read_json(output_of(again) / "result.json")["lineage"]["environment"]
    assert (
        second["source"] == "cached" and second["venv"] == result["lineage"]["environment"]["venv"]
    )
