"""Plans for the rendering golden files: each function builds one case's plan in Python.

The expected output of case NAME lives in tests/testdata/render/NAME/ (expected.txt,
expected.json). Regenerate with MLFORM_UPDATE_GOLDEN=1 after checking the new text by eye.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlform.addrs import parse_instance
from mlform.plans import Action, OutputChange, Plan, ResourceChange
from mlform.sdk import UNKNOWN
from mlform.sdk.contract import Model, arg, block, computed
from mlform.sdk.schema import BodySchema, body_schema

STAMP = "2026-01-02T03:04:05Z"
CASES: dict[str, Callable[[], Plan]] = {}
SCHEMAS: dict[str, dict[str, BodySchema]] = {}


def case(fn: Callable[[], Plan]) -> Callable[[], Plan]:
    CASES[fn.__name__] = fn
    return fn


def rc(addr: str, action: Action, **kw: Any) -> ResourceChange:
    return ResourceChange(parse_instance(addr), action, provider='provider["test"]', **kw)


def obj(value: Any, id_: Any = "0a1b2c3d", immutable: Any = None, **extra: Any) -> dict[str, Any]:
    return {
        "value": value,
        "immutable": immutable,
        "latency_ms": 0,
        "fail_on": [],
        "id": id_,
        "echo": value if id_ is not UNKNOWN else UNKNOWN,
        "created_at": "2026-01-01T00:00:00.000000Z" if id_ is not UNKNOWN else UNKNOWN,
        **extra,
    }


def plan(**kw: Any) -> Plan:
    return Plan(timestamp=STAMP, **kw)


@case
def create() -> Plan:
    after = obj("anything", UNKNOWN, immutable="x")
    return plan(
        changes=[
            rc("test_object.a", Action.CREATE, after=after),
            rc(
                'test_object.many["b"]',
                Action.CREATE,
                after=obj({"n": 1, "tags": ["x", "y"]}, UNKNOWN),
            ),
        ],
        output_changes=[OutputChange("a_id", Action.CREATE, None, UNKNOWN)],
    )


@case
def no_changes() -> Plan:
    return plan(changes=[rc("test_object.a", Action.NOOP, before=obj(1), after=obj(1))])


@case
def update_in_place() -> Plan:
    before = obj({"lr": 0.1, "layers": [64, 32, 16], "name": "m"})
    after = obj({"lr": 0.01, "layers": [64, 16, 8], "name": "m", "extra": True})
    after["echo"] = UNKNOWN
    return plan(
        changes=[
            rc(
                "test_object.job",
                Action.UPDATE,
                before=before,
                after=after,
                reasons=["value.lr changed 0.1 → 0.01", "value.layers[1] changed 32 → 16"],
            )
        ]
    )


@case
def replace() -> Plan:
    after = obj("v", UNKNOWN, immutable="y")
    return plan(
        changes=[
            rc(
                "training_job.digits",
                Action.DELETE_THEN_CREATE,
                before=obj("v", immutable="x"),
                after=after,
                replace_paths=[["immutable"]],
                reasons=["dataset.digits changed sha256:ab12… → sha256:9f3c…"],
                action_reason="replace_because_cannot_update",
            ),
            rc(
                "test_object.tainted",
                Action.DELETE_THEN_CREATE,
                before=obj(1, "t1"),
                after=obj(1, UNKNOWN),
                action_reason="replace_because_tainted",
            ),
            rc(
                "test_object.asked",
                Action.CREATE_THEN_DELETE,
                before=obj(2, "t2"),
                after=obj(2, UNKNOWN),
                action_reason="replace_by_request",
            ),
        ]
    )


@case
def delete_orphans() -> Plan:
    return plan(
        changes=[
            rc(
                "test_object.gone",
                Action.DELETE,
                before=obj({"k": "v"}, "g1"),
                action_reason="delete_because_no_resource_config",
            ),
            rc(
                "test_object.counted[3]",
                Action.DELETE,
                before=obj(3, "c3"),
                action_reason="delete_because_count_index",
            ),
            rc(
                'test_object.each["old"]',
                Action.DELETE,
                before=obj("o", "e1"),
                action_reason="delete_because_each_key",
            ),
            rc(
                "module.team.test_object.x",
                Action.DELETE,
                before=obj(None, "m1"),
                action_reason="delete_because_no_module",
            ),
        ]
    )


@case
def drift_then_update() -> Plan:
    prior = obj("configured")
    edited = obj("edited by hand")
    return plan(
        drift=[
            rc("test_object.a", Action.UPDATE, before=prior, after=edited),
            rc("test_object.b", Action.DELETE, before=obj(2, "b2")),
        ],
        changes=[
            rc(
                "test_object.a",
                Action.UPDATE,
                before=edited,
                after={**obj("configured"), "echo": UNKNOWN},
                reasons=['value changed "edited by hand" → "configured"'],
            ),
            rc("test_object.b", Action.CREATE, after=obj(2, UNKNOWN)),
        ],
    )


@case
def refresh_only() -> Plan:
    return plan(
        mode="refresh_only",
        drift=[rc("test_object.a", Action.UPDATE, before=obj("x"), after=obj("y"))],
    )


@case
def refresh_only_clean() -> Plan:
    return plan(mode="refresh_only")


@case
def destroy() -> Plan:
    return plan(
        mode="destroy",
        changes=[
            rc("test_object.a", Action.DELETE, before=obj("a", "a1")),
            rc("test_object.b", Action.DELETE, before=obj(["x"], "b1")),
        ],
        output_changes=[OutputChange("a_id", Action.DELETE, "a1", None)],
    )


@case
def destroy_nothing() -> Plan:
    return plan(mode="destroy")


@case
def sensitive_and_unknown() -> Plan:
    before = {"name": "db", "password": "hunter2", "endpoint": "db.local", "ports": [1, 2]}
    after = {"name": "db", "password": "s3cret", "endpoint": UNKNOWN, "ports": [1, UNKNOWN]}
    return plan(
        changes=[
            rc(
                "test_object.db",
                Action.UPDATE,
                before=before,
                after=after,
                before_sensitive=[["password"]],
                after_sensitive=[["password"]],
            ),
            rc(
                "test_object.newly_secret",
                Action.UPDATE,
                before={"token": "t", "id": "n1"},
                after={"token": "t", "id": "n1"},
                after_sensitive=[["token"]],
            ),
        ],
        output_changes=[
            OutputChange("endpoint", Action.UPDATE, "db.local", UNKNOWN),
            OutputChange("password", Action.UPDATE, "hunter2", "s3cret", sensitive=True),
            OutputChange("port_list", Action.CREATE, None, [1, 2]),
        ],
        variables={"seed": 42},
    )


class Health(Model):
    path: str = arg("/health")
    port: int = arg(8080)


class Volume(Model):
    name: str
    size_gb: int = 10


class DeployArgs(Model):
    image: str = arg(replace=True)
    env: dict[str, str] = arg(default_factory=dict)
    health: Health | None = block()
    volume: list[Volume] = block(default_factory=list)


class DeployAttrs(Model):
    id: str | None = computed()
    url: str | None = computed()


def _deploy_schema() -> BodySchema:
    a = body_schema(DeployArgs)
    c = body_schema(DeployAttrs, True)
    return BodySchema({**a.attributes, **c.attributes}, a.blocks)


@case
def nested_blocks() -> Plan:
    SCHEMAS["nested_blocks"] = {"deployment": _deploy_schema()}
    before = {
        "image": "api:1",
        "env": {"MODE": "prod", "DEBUG": "0"},
        "health": {"path": "/health", "port": 8080},
        "volume": [{"name": "data", "size_gb": 10}, {"name": "logs", "size_gb": 5}],
        "id": "dep-1",
        "url": "http://localhost:8000",
    }
    after = {
        "image": "api:1",
        "env": {"MODE": "prod", "DEBUG": "1", "NEW": "x"},
        "health": {"path": "/ready", "port": 8080},
        "volume": [{"name": "data", "size_gb": 20}, {"name": "logs", "size_gb": 5}],
        "id": "dep-1",
        "url": "http://localhost:8000",
    }
    return plan(
        changes=[
            rc("deployment.api", Action.UPDATE, before=before, after=after),
            rc(
                "deployment.new",
                Action.CREATE,
                after={
                    "image": "api:2",
                    "env": {},
                    "health": {"path": "/health", "port": 8080},
                    "volume": [],
                    "id": UNKNOWN,
                    "url": UNKNOWN,
                },
            ),
        ]
    )


@case
def moved_and_imported() -> Plan:
    return plan(
        changes=[
            rc(
                "test_object.new_name",
                Action.NOOP,
                prev_addr=parse_instance("test_object.old_name"),
                before=obj(1, "m1"),
                after=obj(1, "m1"),
            ),
            rc(
                "test_object.adopted",
                Action.NOOP,
                importing={"id": "i-9"},
                before=obj("found", "i-9"),
                after=obj("found", "i-9"),
            ),
            rc(
                "test_object.moved_and_changed",
                Action.UPDATE,
                prev_addr=parse_instance("test_object.before"),
                before=obj(1, "m2"),
                after=obj(2, "m2"),
            ),
        ]
    )


@case
def multiline_strings() -> Plan:
    return plan(
        changes=[
            rc(
                "test_object.script",
                Action.UPDATE,
                before=obj("line one\nline two\nline three"),
                after=obj("line one\nline 2\nline three\nline four"),
            )
        ]
    )


@case
def outputs_only() -> Plan:
    return plan(
        changes=[rc("test_object.a", Action.NOOP, before=obj(1), after=obj(1))],
        output_changes=[OutputChange("greeting", Action.UPDATE, "hi", "hello")],
    )


@case
def data_read() -> Plan:
    return plan(
        changes=[
            rc(
                "data.test_data.lookup",
                Action.READ,
                after={"input": UNKNOWN, "output": UNKNOWN},
                action_reason="read_because_config_unknown",
            ),
            rc("test_object.user", Action.CREATE, after=obj(UNKNOWN, UNKNOWN)),
        ]
    )


@case
def errored() -> Plan:
    return plan(errored=True)
