"""`mlform state …`, `show`, `taint`/`untaint`, `force-unlock` and `history` end to end.

Each test builds a state through the state API (a session and `put_instance`) in a temporary
working folder, runs the real command through click's runner, and checks what it printed and
what the state holds afterwards. Rendered views are compared with golden files in
tests/testdata/state_cmds/ (set MLFORM_UPDATE_GOLDEN=1 to rewrite them after a deliberate change).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from mlform import __version__
from mlform.cli.main import cli
from mlform.state import InstanceRecord, OutputRecord
from mlform.state.backends.local import LocalBackend
from mlform.state.model import TAINTED, State
from mlform.state.session import StateSession
from mlform.ui.json_plan import TERRAFORM_COMPAT_VERSION

GOLDEN = Path(__file__).parent.parent / "testdata" / "state_cmds"
P = 'provider["test"]'


# --- helpers ---------------------------------------------------------------------------------


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input)


def golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("MLFORM_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def no_times(text: str) -> str:
    return re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "<time>", text)


def backend(workdir: Path | str = ".") -> LocalBackend:
    return LocalBackend({}, Path(workdir))


def build_state(workspace: str = "default") -> State:
    """The state most tests start from: managed, keyed, module and data instances, outputs."""
    with StateSession.open(backend(), workspace, operation="apply") as sess:
        sess.put_instance(
            "dataset.digits",
            'provider["local"]',
            InstanceRecord(
                id="sha256:ab12",
                attributes={
                    "id": "sha256:ab12",
                    "source": "./data/digits",
                    "files": 1797,
                    "bytes": 1.5e6,
                    "include": ["*.csv"],
                    "exclude": [],
                    "version": None,
                },
                lineage={"source": "./data/digits", "digest": "sha256:ab12", "files": 1797},
            ),
        )
        sess.put_instance(
            "training_job.digits",
            'provider["local"]',
            InstanceRecord(
                id="job-1",
                attributes={
                    "id": "job-1",
                    "command": "python train.py",
                    "params": {"c": 1.0, "kernel": "rbf"},
                    "env": {"API_KEY": "s3cret", "MODE": "fast"},
                    "script": "set -e\npython train.py\n",
                    "seed": 42,
                },
                sensitive_paths=[["env", "API_KEY"]],
                dependencies=["dataset.digits"],
                lineage={
                    "run_id": "run-7",
                    "fingerprint": "sha256:9f3c",
                    "fingerprint_inputs": {"code": "sha256:1"},
                    "params": {"c": 1.0, "kernel": "rbf"},
                    "seed": 42,
                    "datasets": {"train": {"id": "sha256:ab12", "uri": "/store/ab12"}},
                    "metrics": {"accuracy": 0.97},
                },
            ),
        )
        for i in range(2):
            sess.put_instance(
                f"test_object.many[{i}]",
                P,
                InstanceRecord(id=f"obj-{i}", attributes={"id": f"obj-{i}", "value": i}),
            )
        for key in ("a", "b"):
            sess.put_instance(
                f'module.team["{key}"].test_object.member',
                P,
                InstanceRecord(id=f"m-{key}", attributes={"id": f"m-{key}", "value": key}),
            )
        sess.put_instance(
            "data.test_object.lookup",
            P,
            InstanceRecord(id="l", attributes={"id": "l", "value": True}),
        )
        sess.set_outputs(
            {
                "endpoint": OutputRecord("http://127.0.0.1:8080", "string"),
                "token": OutputRecord("abc", "string", sensitive=True),
                "sizes": OutputRecord({"a": 1, "b": 2.5}, ["map", "number"]),
            }
        )
        return sess.commit({"summary": "+7 ~0 -0"})


def addresses(workspace: str = "default") -> list[str]:
    state = backend().read(workspace)
    assert state is not None
    return [str(a) for a, _, _ in state.all_instances()]


def serial(workspace: str = "default") -> int:
    state = backend().read(workspace)
    assert state is not None
    return state.serial


def failed(result: Result, summary: str) -> None:
    """A user mistake: exit 1, a diagnostic on stderr, nothing on stdout, no traceback."""
    assert result.exit_code == 1, result.output
    assert f"Error: {summary}" in result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.output
    assert "internal error" not in result.stderr


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFORM_WORKSPACE", raising=False)
    monkeypatch.delenv("MLFORM_IN_AUTOMATION", raising=False)
    for var in ("CI", "GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE", "CIRCLECI", "JENKINS_URL"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


ALL = [
    "data.test_object.lookup",
    "dataset.digits",
    "test_object.many[0]",
    "test_object.many[1]",
    "training_job.digits",
    'module.team["a"].test_object.member',
    'module.team["b"].test_object.member',
]


# --- state list ------------------------------------------------------------------------------


def test_list_every_instance_in_address_order() -> None:
    build_state()
    result = run("state", "list")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == ALL


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["test_object.many"], ["test_object.many[0]", "test_object.many[1]"]),
        (["test_object.many[1]"], ["test_object.many[1]"]),
        (["module.team"], ALL[5:]),
        (['module.team["b"]'], ALL[6:]),
        (["dataset.digits", "data.test_object.lookup"], ALL[:2]),
        (["--id", "job-1"], ["training_job.digits"]),
        (["nothing.here"], []),
    ],
)
def test_list_filters(args: list[str], expected: list[str]) -> None:
    build_state()
    result = run("state", "list", *args)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == expected


def test_list_without_state_is_an_error() -> None:
    failed(run("state", "list"), "No state file was found!")


def test_list_bad_address() -> None:
    build_state()
    failed(run("state", "list", "test_object.many[x"), "Invalid address: test_object.many[x")


# --- state show ------------------------------------------------------------------------------


def test_show_instance_golden() -> None:
    build_state()
    result = run("state", "show", "training_job.digits")
    assert result.exit_code == 0, result.stderr
    out = no_times(result.stdout)
    assert "s3cret" not in out
    golden("state_show_training_job.txt", out)


def test_show_tainted_keyed_instance() -> None:
    build_state()
    assert run("taint", 'module.team["a"].test_object.member').exit_code == 0
    result = run("state", "show", 'module.team["a"].test_object.member')
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == '# module.team["a"].test_object.member: (tainted)'
    assert lines[1] == 'resource "test_object" "member" {'
    assert "# status:   tainted" in lines


def test_show_resource_with_several_instances_names_them() -> None:
    build_state()
    result = run("state", "show", "test_object.many")
    failed(result, "No instance found for the given address")
    assert "test_object.many[0], test_object.many[1]" in result.stderr


def test_show_missing_instance_suggests() -> None:
    build_state()
    result = run("state", "show", "dataset.digit")
    failed(result, "No instance found for the given address")
    assert 'Did you mean "dataset.digits"?' in result.stderr


# --- state mv --------------------------------------------------------------------------------


def test_mv_renames_and_writes_a_serial() -> None:
    build_state()
    result = run("state", "mv", "dataset.digits", "dataset.mnist")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        'Move "dataset.digits" to "dataset.mnist"\nSuccessfully moved 1 object(s).\n'
    )
    state = backend().read()
    assert state is not None
    assert state.serial == 2
    assert state.meta["operation"] == "state mv"
    assert state.instance("dataset.mnist") is not None
    assert state.instance("dataset.digits") is None
    # what depended on it follows it
    job = state.instance("training_job.digits")
    assert job is not None and job.dependencies == ["dataset.mnist"]


def test_mv_module_moves_every_instance_inside() -> None:
    build_state()
    result = run("state", "mv", 'module.team["a"]', "module.crew")
    assert result.exit_code == 0, result.stderr
    assert "module.crew.test_object.member" in addresses()
    assert 'module.team["a"].test_object.member' not in addresses()


def test_mv_dry_run_changes_nothing() -> None:
    build_state()
    result = run("state", "mv", "--dry-run", "test_object.many[0]", 'test_object.many["x"]')
    assert result.exit_code == 0, result.stderr
    assert result.stdout == 'Would move "test_object.many[0]" to "test_object.many[\\"x\\"]"\n'
    assert serial() == 1
    assert addresses() == ALL


def test_mv_never_overwrites() -> None:
    build_state()
    result = run("state", "mv", "test_object.many[0]", "test_object.many[1]")
    failed(result, "Cannot move to test_object.many[1]: that address already exists in state")
    assert serial() == 1


def test_mv_keeps_the_type() -> None:
    build_state()
    failed(
        run("state", "mv", "dataset.digits", "test_object.digits"),
        "Cannot move dataset.digits to test_object.digits: resource types do not match",
    )


# --- state rm --------------------------------------------------------------------------------


def test_rm_forgets_instances() -> None:
    build_state()
    result = run("state", "rm", "test_object.many", 'module.team["b"]')
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        "Removed test_object.many[0]\n"
        "Removed test_object.many[1]\n"
        'Removed module.team["b"].test_object.member\n'
        "Successfully removed 3 resource instance(s).\n"
    )
    assert addresses() == [a for a in ALL if "many" not in a and '"b"' not in a]
    state = backend().read()
    assert state is not None and state.meta["operation"] == "state rm"


def test_rm_unkeyed_module_address_takes_every_instance() -> None:
    build_state()
    result = run("state", "rm", "module.team")
    assert result.exit_code == 0, result.stderr
    assert not [a for a in addresses() if a.startswith("module.")]


def test_rm_dry_run() -> None:
    build_state()
    result = run("state", "rm", "--dry-run", "dataset.digits")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "Would remove dataset.digits\n"
    assert serial() == 1


def test_rm_refuses_when_any_address_matches_nothing() -> None:
    build_state()
    failed(
        run("state", "rm", "dataset.digits", "dataset.nope"),
        "No matching objects in state for dataset.nope",
    )
    assert addresses() == ALL


def test_rm_needs_an_address() -> None:
    result = run("state", "rm")
    assert result.exit_code == 1
    assert "Missing argument" in result.stderr


# --- locking ---------------------------------------------------------------------------------


def test_edit_waits_for_the_lock_and_names_the_holder() -> None:
    build_state()
    with StateSession.open(backend(), operation="apply", lock_timeout=0) as holder:
        assert holder.lock_info is not None
        result = run("state", "rm", "--lock-timeout", "0s", "dataset.digits")
        failed(result, "Error acquiring the state lock")
        assert holder.lock_info.id in result.stderr
        # --lock=false goes ahead (the user said nothing else uses the state)
        result = run("state", "rm", "--lock=false", "dataset.digits")
        assert result.exit_code == 0, result.stderr
    assert "dataset.digits" not in addresses()


def test_bad_lock_timeout() -> None:
    build_state()
    failed(
        run("state", "rm", "--lock-timeout", "soon", "dataset.digits"),
        "Invalid value for --lock-timeout",
    )


# --- state pull / push -----------------------------------------------------------------------


def test_pull_prints_the_stored_state() -> None:
    build_state()
    result = run("state", "pull")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == json.loads(Path("mlform.state.json").read_text())


def test_pull_without_state_prints_nothing() -> None:
    result = run("state", "pull")
    assert result.exit_code == 0
    assert result.stdout == ""


def test_push_round_trip_writes_a_new_serial() -> None:
    build_state()
    data = json.loads(run("state", "pull").stdout)
    data["resources"] = [r for r in data["resources"] if r["type"] != "dataset"]
    Path("edited.json").write_text(json.dumps(data))
    result = run("state", "push", "edited.json")
    assert result.exit_code == 0, result.stderr
    state = backend().read()
    assert state is not None
    assert state.serial == 2
    assert state.meta["operation"] == "state push"
    assert "dataset.digits" not in addresses()
    assert [e.serial for e in backend().history()] == [1, 2]


def test_push_from_stdin() -> None:
    build_state()
    pulled = run("state", "pull").stdout
    result = run("state", "push", "-", input=pulled)
    assert result.exit_code == 0, result.stderr
    assert serial() == 2


def test_push_refuses_another_lineage_unless_forced() -> None:
    build_state()
    other = State.empty()
    other.serial = 9
    Path("other.json").write_text(json.dumps(other.to_json()))
    failed(run("state", "push", "other.json"), "Cannot push a state with a different lineage")
    assert serial() == 1
    result = run("state", "push", "--force", "other.json")
    assert result.exit_code == 0, result.stderr
    state = backend().read()
    assert state is not None and state.lineage == other.lineage and len(state) == 0


def test_push_refuses_an_older_serial() -> None:
    build_state()
    old = Path("old.json")
    old.write_text(run("state", "pull").stdout)
    assert run("taint", "dataset.digits").exit_code == 0
    failed(run("state", "push", str(old)), "Cannot push serial 1 over serial 2")


@pytest.mark.parametrize(
    ("content", "summary"),
    [
        ("{not json", "bad.json is not a state file"),
        ("[1, 2]", "bad.json is not a state file"),
        ('{"resources": []}', "bad.json is not an mlform state"),
        ('{"format_version": 1, "resources": []}', "bad.json is not a valid mlform state"),
    ],
)
def test_push_bad_file(content: str, summary: str) -> None:
    build_state()
    Path("bad.json").write_text(content)
    failed(run("state", "push", "bad.json"), summary)
    assert serial() == 1


def test_push_missing_file() -> None:
    failed(run("state", "push", "nope.json"), "Cannot read nope.json")


# --- taint / untaint -------------------------------------------------------------------------


def test_taint_and_untaint() -> None:
    build_state()
    result = run("taint", "test_object.many[1]")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "Resource instance test_object.many[1] has been marked as tainted.\n"
    state = backend().read()
    assert state is not None
    inst = state.instance("test_object.many[1]")
    assert inst is not None and inst.status == TAINTED
    assert state.meta["operation"] == "taint"

    result = run("untaint", "test_object.many[1]")
    assert result.exit_code == 0, result.stderr
    assert (
        result.stdout == "Resource instance test_object.many[1] has been successfully untainted.\n"
    )
    state = backend().read()
    assert state is not None
    inst = state.instance("test_object.many[1]")
    assert inst is not None and not inst.tainted
    assert state.serial == 3


def test_untaint_of_a_ready_instance_is_refused() -> None:
    build_state()
    failed(run("untaint", "dataset.digits"), "Resource instance is not tainted")
    assert serial() == 1


def test_taint_refusals() -> None:
    build_state()
    failed(run("taint", "dataset.nope"), "No instance dataset.nope in state")
    failed(run("taint", "data.test_object.lookup"), "Cannot taint data.test_object.lookup")
    failed(run("taint", "module.team"), "module.team is a module")
    assert serial() == 1


def test_taint_allow_missing_warns() -> None:
    build_state()
    result = run("taint", "--allow-missing", "dataset.nope")
    assert result.exit_code == 0
    assert "Warning: No such resource instance" in result.stderr
    assert result.stdout == ""
    assert serial() == 1


# --- show ------------------------------------------------------------------------------------


def test_show_human_golden() -> None:
    build_state()
    result = run("show", "--no-color")
    assert result.exit_code == 0, result.stderr
    assert "s3cret" not in result.stdout and '"abc"' not in result.stdout
    golden("show.txt", result.stdout)


def test_show_json_golden() -> None:
    build_state()
    result = run("show", "--json")
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) == 1
    data = json.loads(result.stdout)
    assert data["terraform_version"] == TERRAFORM_COMPAT_VERSION
    assert data["mlform_version"] == __version__
    data["mlform_version"] = "<version>"
    # As in a JSON plan's prior_state: sensitive values are never written, only marked.
    assert "s3cret" not in result.stdout and '"abc"' not in result.stdout
    assert data["values"]["outputs"]["token"] == {"sensitive": True, "type": "string"}
    job = next(r for r in data["values"]["root_module"]["resources"] if r["type"] == "training_job")
    assert job["sensitive_values"]["env"] == {"API_KEY": True}
    assert job["depends_on"] == ["dataset.digits"]
    golden("show.json", json.dumps(data, indent=2) + "\n")


def test_show_without_state() -> None:
    assert run("show").stdout == "No state.\n"
    assert json.loads(run("show", "--json").stdout) == {"format_version": "1.0"}


def test_show_empty_state() -> None:
    with StateSession.open(backend()) as sess:
        sess.commit(force=True)
    assert run("show").stdout == "The state file is empty. No resources are represented.\n"


def test_show_a_state_file_given_as_argument() -> None:
    build_state()
    Path("copy.json").write_text(Path("mlform.state.json").read_text())
    Path("mlform.state.json").unlink()
    result = run("show", "copy.json")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("# data.test_object.lookup:\n")


def test_show_missing_plan_file() -> None:
    failed(run("show", "nope.plan"), "No such file: nope.plan")


# --- history ---------------------------------------------------------------------------------


def _history_setup() -> None:
    build_state()
    assert run("taint", "training_job.digits").exit_code == 0
    assert run("state", "mv", "dataset.digits", "dataset.mnist").exit_code == 0
    assert run("state", "rm", "test_object.many[0]").exit_code == 0


def test_history_lists_every_serial() -> None:
    _history_setup()
    result = run("history")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["SERIAL", "TIME", "WHO", "OPERATION", "SUMMARY"]
    rows = [re.split(r"\s{2,}", line) for line in lines[1:]]
    assert [(r[0], r[3], r[4]) for r in rows] == [
        ("1", "apply", "+7 ~0 -0"),
        ("2", "taint", "tainted training_job.digits"),
        ("3", "state mv", "moved dataset.digits to dataset.mnist"),
        ("4", "state rm", "removed test_object.many[0]"),
    ]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", r[1]) for r in rows)


def test_history_of_one_address() -> None:
    _history_setup()
    result = run("history", "training_job.digits")
    assert result.exit_code == 0, result.stderr
    rows = [re.split(r"\s{2,}", line) for line in result.stdout.splitlines()[1:]]
    assert [(r[0], r[-1]) for r in rows] == [
        ("1", "training_job.digits created"),
        ("2", "training_job.digits tainted"),
        # the move rewrote its dependency on dataset.digits
        ("3", "training_job.digits updated"),
    ]
    moved = run("history", "dataset.mnist")
    assert [re.split(r"\s{2,}", x)[-1] for x in moved.stdout.splitlines()[1:]] == [
        "dataset.mnist moved here"
    ]


def test_history_json_and_ci() -> None:
    build_state()
    env = {"GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "77", "GITHUB_REPOSITORY": "org/ml"}
    result = CliRunner(env=env).invoke(cli, ["taint", "dataset.digits"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(run("history", "--json").stdout)
    assert [d["serial"] for d in data] == [1, 2]
    assert data[1]["operation"] == "taint"
    ci = data[1]["ci"]
    assert (ci["system"], ci["run_id"], ci["repository"]) == ("github-actions", "77", "org/ml")
    assert set(data[1]) == {"serial", "time", "who", "operation", "ci", "summary", "lineage"}
    table = run("history").stdout.splitlines()
    assert table[0].split() == ["SERIAL", "TIME", "WHO", "OPERATION", "CI", "SUMMARY"]
    assert "github-actions org/ml run 77" in table[2]
    only = json.loads(run("history", "--json", "dataset.digits").stdout)
    assert [(d["serial"], d["changes"]) for d in only] == [
        (1, {"dataset.digits": "created"}),
        (2, {"dataset.digits": "tainted"}),
    ]


def test_history_without_serials() -> None:
    result = run("history")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "no serials yet" in result.stderr


# --- force-unlock ----------------------------------------------------------------------------

HOLD = """
import sys, time
from mlform.state.backends.local import LocalBackend
from mlform.state.session import StateSession
sess = StateSession.open(LocalBackend({}, "."), operation="apply", lock_timeout=0)
print(sess.lock_info.id, flush=True)
time.sleep(60)
"""


def _stale_lock() -> str:
    """A lock left by a run that was killed: its ID."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    lock_id = proc.stdout.readline().strip()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return lock_id


def test_force_unlock() -> None:
    build_state()
    holder = subprocess.Popen([sys.executable, "-c", HOLD], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        lock_id = holder.stdout.readline().strip()
        blocked = run("taint", "dataset.digits")
        failed(blocked, "Error acquiring the state lock")
        # No terminal to confirm on here: the command shown is one that works here.
        assert f"mlform force-unlock --force {lock_id}" in blocked.stderr
        # without a terminal it will not ask
        failed(run("force-unlock", lock_id), "Cannot ask for confirmation to force-unlock")
        # a wrong ID shows the holder
        wrong = run("force-unlock", "--force", "not-the-id")
        failed(wrong, "Lock ID 'not-the-id' does not match the lock held")
        assert lock_id in wrong.stderr
        # the holder is alive: its lock is not removed
        failed(run("force-unlock", "--force", lock_id), "The lock is held by a running mlform")
        assert backend().lock_info() is not None
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()

    # Killed: its record is left, and force-unlock removes it.
    result = run("force-unlock", "--force", lock_id)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("mlform state has been successfully unlocked!")
    assert backend().lock_info() is None
    assert run("taint", "dataset.digits").exit_code == 0
    failed(run("force-unlock", "--force", lock_id), "The state is not locked")


def test_a_killed_runs_lock_is_taken_over_with_a_warning() -> None:
    build_state()
    lock_id = _stale_lock()
    result = run("taint", "dataset.digits")
    assert result.exit_code == 0, result.stderr
    assert "Replaced the lock of a run that ended without releasing it" in result.stderr
    assert f"Lock ID {lock_id}" in result.stderr
    assert backend().lock_info() is None


def test_force_unlock_asks_on_a_terminal(workdir: Path) -> None:
    """Through a pseudo-terminal, as a person would: only `yes` unlocks."""
    pty = pytest.importorskip("pty")
    build_state()
    lock_id = _stale_lock()
    mlform = Path(sys.executable).with_name("mlform")

    def answer(text: str) -> tuple[int, str]:
        pid, fd = pty.fork()
        if pid == 0:  # the child: mlform on the terminal
            os.environ.pop("MLFORM_IN_AUTOMATION", None)
            os.execv(str(mlform), [str(mlform), "force-unlock", lock_id])
        out = b""
        sent = False
        while True:
            try:
                chunk = os.read(fd, 1024)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            if not sent and b"Enter a value" in out:
                os.write(fd, text.encode() + b"\n")
                sent = True
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status), out.decode(errors="replace")

    code, out = answer("no")
    assert code == 1 and "force-unlock cancelled." in out
    assert backend().lock_info() is not None
    code, out = answer("yes")
    assert code == 0, out
    assert "successfully unlocked" in out
    assert backend().lock_info() is None


# --- help ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["state"],
        ["state", "list"],
        ["state", "show"],
        ["state", "mv"],
        ["state", "rm"],
        ["state", "pull"],
        ["state", "push"],
        ["taint"],
        ["untaint"],
        ["force-unlock"],
        ["show"],
        ["history"],
    ],
)
def test_help_has_an_example(args: list[str]) -> None:
    result = run(*args, "--help")
    assert result.exit_code == 0
    assert "Example" in result.stdout
    assert "mlform " in result.stdout


def test_show_a_file_that_is_not_a_plan() -> None:
    Path("junk.plan").write_bytes(b"not a plan")
    failed(run("show", "junk.plan"), "junk.plan is not an mlform plan file")


# --- with the engine -------------------------------------------------------------------------

CONFIG = """
resource "test_object" "a" {
  value = "x"
}
output "v" { value = test_object.a.echo }
"""


def plan_exit(*args: str) -> subprocess.CompletedProcess[str]:
    """`mlform plan --detailed-exitcode` as a process, so its exit code is the real one."""
    mlform = Path(sys.executable).with_name("mlform")
    return subprocess.run(
        [str(mlform), "plan", "--detailed-exitcode", "--no-color", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_edits_seen_by_the_next_plan() -> None:
    """Real apply with the test provider, then hand edits that the next plan acts on."""
    Path("main.mlf.hcl").write_text(CONFIG)
    applied = run("apply", "--auto-approve", "--no-color")
    assert applied.exit_code == 0, applied.output
    assert run("state", "list").stdout == "test_object.a\n"
    assert run("output", "--raw", "v").stdout == "x"
    assert plan_exit().returncode == 0

    assert run("taint", "test_object.a").exit_code == 0
    planned = plan_exit()
    assert planned.returncode == 2, planned.stdout + planned.stderr
    assert "test_object.a is tainted, so must be replaced" in planned.stdout
    assert run("untaint", "test_object.a").exit_code == 0
    assert plan_exit().returncode == 0

    assert run("state", "mv", "test_object.a", "test_object.b").exit_code == 0
    planned = plan_exit()
    assert planned.returncode == 2, planned.stdout + planned.stderr
    assert "Plan: 1 to add, 0 to change, 1 to destroy." in planned.stdout
    ops = [e.operation for e in backend().history()]
    assert ops == ["apply", "taint", "untaint", "state mv"]
