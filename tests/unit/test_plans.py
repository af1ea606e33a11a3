"""Plans: actions, summaries, unknown masks, and the saved-plan file with its staleness check."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from mlform import __version__
from mlform.addrs import parse_instance
from mlform.plans import (
    Action,
    OutputChange,
    Plan,
    PlanFileError,
    ResourceChange,
    config_digest,
    join_unknown,
    read_plan,
    split_unknown,
    stale_reasons,
    unknown_mask,
    write_plan,
)
from mlform.sdk import UNKNOWN


def rc(addr: str, action: Action, **kw: object) -> ResourceChange:
    return ResourceChange(parse_instance(addr), action, provider='provider["test"]', **kw)


def test_actions() -> None:
    assert [a.symbol for a in Action] == [" ", "+", "<=", "~", "-", "-/+", "+/-", "."]
    assert [a for a in Action if a.is_replace] == [
        Action.DELETE_THEN_CREATE,
        Action.CREATE_THEN_DELETE,
    ]
    assert Action.DELETE_THEN_CREATE.json_actions == ["delete", "create"]
    assert Action.NOOP.json_actions == ["no-op"]
    assert Action.FORGET.json_actions == ["forget"]  # a removed block with destroy = false
    for a in Action:
        assert Action.from_json_actions(a.json_actions) is a


def test_summary_counts_like_terraform() -> None:
    plan = Plan(
        changes=[
            rc("test_object.a", Action.CREATE),
            rc("test_object.b", Action.UPDATE),
            rc("test_object.c", Action.DELETE_THEN_CREATE),
            rc("test_object.d", Action.DELETE),
            rc("test_object.e", Action.NOOP),
            rc("test_object.f", Action.NOOP, importing={"id": "x"}),
            rc("data.test_data.g", Action.READ),
        ]
    )
    s = plan.summary()
    assert (s.add, s.change, s.destroy, s.import_, s.read) == (2, 1, 2, 1, 1)
    assert str(s) == "Plan: 1 to import, 2 to add, 1 to change, 2 to destroy."
    assert plan.has_changes and plan.applyable
    assert [str(c.addr) for c in plan.resource_changes()] == [
        "data.test_data.g",
        "test_object.a",
        "test_object.b",
        "test_object.c",
        "test_object.d",
        "test_object.f",
    ]


def test_no_changes() -> None:
    plan = Plan(changes=[rc("test_object.e", Action.NOOP)])
    assert not plan.has_changes and str(plan.summary()).startswith("Plan: 0 to add")
    refresh = Plan(mode="refresh_only", drift=[rc("test_object.e", Action.UPDATE)])
    assert refresh.has_changes
    outputs = Plan(output_changes=[OutputChange("x", Action.CREATE, None, 1)])
    assert outputs.has_changes


def test_moved_change_properties() -> None:
    c = rc('module.m["a"].test_object.x[2]', Action.NOOP, prev_addr=parse_instance("test_object.x"))
    assert (c.mode, c.type, c.name, c.index) == ("managed", "test_object", "x", 2)
    assert c.moved


def test_unknown_masks_follow_terraform() -> None:
    value = {"id": UNKNOWN, "tags": {"a": "b"}, "list": [1, UNKNOWN], "n": None, "e": []}
    assert unknown_mask(value) == {"id": True, "tags": {}, "list": [False, True], "e": []}
    data, mask = split_unknown(value)
    assert data == {"id": None, "tags": {"a": "b"}, "list": [1, None], "n": None, "e": []}
    back = join_unknown(data, mask)
    assert back["id"] is UNKNOWN and back["list"][1] is UNKNOWN
    assert back["tags"] == {"a": "b"} and back["n"] is None
    assert join_unknown(None, True) is UNKNOWN


def make_plan() -> Plan:
    return Plan(
        changes=[
            rc(
                'test_object.a["k"]',
                Action.DELETE_THEN_CREATE,
                before={"value": 1, "immutable": "x", "id": "i1"},
                after={"value": 1, "immutable": "y", "id": UNKNOWN, "list": [UNKNOWN, 2]},
                replace_paths=[["immutable"]],
                reasons=['immutable changed "x" → "y", forces replacement'],
                action_reason="replace_because_cannot_update",
                planned={"args": {"value": 1}, "attrs": {"id": UNKNOWN}, "private": {}},
            ),
            rc(
                "test_object.b",
                Action.CREATE,
                after={"token": UNKNOWN},
                after_sensitive=[["token"]],
            ),
        ],
        drift=[rc("test_object.c", Action.DELETE, before={"value": 3})],
        output_changes=[OutputChange("id", Action.CREATE, None, UNKNOWN, sensitive=True)],
        prior_state={"version": 4, "serial": 7, "resources": []},
        variables={"seed": 42, "later": UNKNOWN},
        targets=["test_object.a"],
        workspace="dev",
        state_serial=7,
        state_lineage="lin-1",
    )


def test_saved_plan_round_trip(tmp_path: Path) -> None:
    files = {"main.mlf.hcl": b'resource "test_object" "a" {}\n', "mod/x.mlf.hcl": b"# x\n"}
    plan = make_plan()
    path = tmp_path / "tfplan"
    write_plan(path, plan, files)
    assert zipfile.is_zipfile(path)
    saved = read_plan(path)
    assert saved.config_files == files
    back = saved.plan
    assert back.config_digest == config_digest(files)
    a, b = back.changes
    assert str(a.addr) == 'test_object.a["k"]'
    assert a.action is Action.DELETE_THEN_CREATE
    assert a.after["id"] is UNKNOWN and a.after["list"][0] is UNKNOWN and a.after["list"][1] == 2
    assert a.before == {"value": 1, "immutable": "x", "id": "i1"}
    assert a.planned is not None and a.planned["attrs"]["id"] is UNKNOWN
    assert a.replace_paths == [["immutable"]] and a.action_reason == "replace_because_cannot_update"
    assert b.after_sensitive == [["token"]] and b.after["token"] is UNKNOWN
    assert back.drift[0].action is Action.DELETE
    assert back.output_changes[0].after is UNKNOWN and back.output_changes[0].sensitive
    assert back.variables["seed"] == 42 and back.variables["later"] is UNKNOWN
    assert (back.workspace, back.state_serial, back.state_lineage) == ("dev", 7, "lin-1")
    assert back.targets == ["test_object.a"] and back.prior_state == plan.prior_state
    assert back.mlform_version == __version__ and back.timestamp == plan.timestamp
    assert stale_reasons(saved, 7, "lin-1", config_digest(files)) == []


def test_stale_plans_are_refused(tmp_path: Path) -> None:
    files = {"main.mlf.hcl": b"a"}
    write_plan(tmp_path / "p", make_plan(), files)
    saved = read_plan(tmp_path / "p")
    digest = config_digest(files)
    assert stale_reasons(saved, 8, "lin-1", digest) == [
        "the state changed since the plan was made (serial 7 then, serial 8 now)"
    ]
    assert stale_reasons(saved, 7, "lin-2", digest)[0].startswith(
        "the plan was made for a different state"
    )
    assert stale_reasons(saved, 7, "lin-1", config_digest({"main.mlf.hcl": b"b"})) == [
        "the configuration changed since the plan was made"
    ]


def test_config_digest_depends_on_names_and_contents() -> None:
    a = config_digest({"a.mlf.hcl": b"x", "b.mlf.hcl": b"y"})
    assert a == config_digest({"b.mlf.hcl": b"y", "a.mlf.hcl": b"x"})
    assert a != config_digest({"a.mlf.hcl": b"y", "b.mlf.hcl": b"x"})
    assert a.startswith("sha256:")


def test_bad_plan_files(tmp_path: Path) -> None:
    with pytest.raises(PlanFileError, match="does not exist"):
        read_plan(tmp_path / "missing")
    (tmp_path / "text").write_text("hello")
    with pytest.raises(PlanFileError, match="is not an mlform plan file"):
        read_plan(tmp_path / "text")
    with zipfile.ZipFile(tmp_path / "z", "w") as z:
        z.writestr("plan.json", '{"format_version": 99}')
    with pytest.raises(PlanFileError, match="format version 99"):
        read_plan(tmp_path / "z")
    with pytest.raises(ValueError, match="must be relative"):
        write_plan(tmp_path / "p", Plan(), {"../evil": b""})
