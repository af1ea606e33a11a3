"""Schemas derived from provider models: types, marks, validation messages, JSON."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import pytest
from pydantic import BaseModel, Field, field_validator

from mlform.lang.types import BOOL, DYNAMIC, NUMBER, STRING, ListType, MapType, ObjectType
from mlform.sdk import UNKNOWN, ConfigError, Kind, Model, Provider, arg, block, computed
from mlform.sdk.schema import (
    ArgsError,
    args_type,
    attrs_type,
    config_error,
    format_path,
    instance_type,
    kind_schema,
    parse_args,
    parse_config,
    schema_json,
    sensitive_paths,
    validate_args,
)


class Health(Model):
    path: str = arg("/health")
    port: int = arg(description="The port to probe.")


class Volume(Model):
    name: str
    size_gb: int = 10
    secret: str | None = arg(None, sensitive=True)


class Args(Model):
    source: str = arg(replace=True, description="Where the data comes from.")
    packages: list[str] = arg(default_factory=list)
    params: dict[str, float] = arg(default_factory=dict)
    seed: int | None = arg(None)
    anything: Any = arg(None)
    token: str | None = arg(None, sensitive=True)
    flag: bool = arg(False)
    klass: str = arg("a", alias="class")
    health: Health | None = block()
    volumes: Annotated[list[Volume], Field(max_length=2)] = block(default_factory=list)


class Attrs(Model):
    id: str | None = computed()
    digest: str | None = computed()
    password: str | None = computed(sensitive=True)


class Thing(Kind):
    args: ClassVar[type[BaseModel]] = Args
    attrs: ClassVar[type[BaseModel]] = Attrs
    description = "A thing."


class Conf(Model):
    region: str = arg("here", description="Where.")


class Prov(Provider):
    name = "demo"
    config = Conf
    kinds: ClassVar = {"demo_thing": Thing}


def test_types_follow_the_python_annotations() -> None:
    t = args_type(Thing)
    assert isinstance(t, ObjectType)
    a = t.attrs
    assert a["source"] == STRING
    assert a["packages"] == ListType(STRING)
    assert a["params"] == MapType(NUMBER)
    assert a["seed"] == NUMBER
    assert a["anything"] == DYNAMIC
    assert a["flag"] == BOOL
    assert a["class"] == STRING  # the alias is the name the user writes
    assert a["health"] == ObjectType.of({"path": STRING, "port": NUMBER}, {"path"})
    assert a["volumes"] == ListType(
        ObjectType.of({"name": STRING, "size_gb": NUMBER, "secret": STRING}, {"size_gb", "secret"})
    )
    assert t.optional == frozenset(a) - {"source"}
    assert attrs_type(Thing).attrs == {"id": STRING, "digest": STRING, "password": STRING}
    assert set(instance_type(Thing).attrs) == set(a) | {"id", "digest", "password"}


def test_a_free_form_dict_is_any_so_its_values_keep_their_types() -> None:
    """`dict[str, Any]` (a job's params) is Terraform's `any`, not `map(any)`: a map would unify
    `false` beside "adam" into "false" and refuse a list beside a number."""
    from typing import Any

    from mlform.sdk.schema import python_type_to_mlform

    assert python_type_to_mlform(dict[str, Any]) == DYNAMIC
    assert python_type_to_mlform(dict[str, Any] | None) == DYNAMIC
    assert python_type_to_mlform(dict) == DYNAMIC
    assert python_type_to_mlform(dict[str, str]) == MapType(STRING)


def test_marks_and_blocks() -> None:
    s = kind_schema(Thing)
    src = s.args.attributes["source"]
    assert src.required and src.replace and src.description == "Where the data comes from."
    assert s.args.attributes["token"].sensitive
    assert not s.args.attributes["packages"].required
    assert s.args.attributes["packages"].default == []
    assert set(s.args.blocks) == {"health", "volumes"}
    assert s.args.blocks["health"].nesting == "single"
    assert (s.args.blocks["health"].min_items, s.args.blocks["health"].max_items) == (0, 1)
    vol = s.args.blocks["volumes"]
    assert (vol.nesting, vol.min_items, vol.max_items) == ("list", 0, 2)
    assert s.attrs.attributes["id"].computed


def test_validate_reports_missing_unsupported_and_wrong_types() -> None:
    problems = validate_args(
        Thing,
        {"sorce": "x", "seed": "many", "health": {"port": 1.5}, "volumes": [{"nam": "a"}]},
    )
    by_path = {format_path(p.path): (p.summary, p.message) for p in problems}
    assert by_path["source"] == (
        "Missing required argument",
        'The argument "source" is required, but no definition was found.',
    )
    assert by_path["sorce"] == (
        "Unsupported argument",
        'An argument named "sorce" is not expected here. Did you mean "source"?',
    )
    assert by_path["seed"][0] == "Incorrect argument value type"
    assert "a whole number is required" in by_path["seed"][1]
    assert by_path["health.port"][1].endswith("a whole number is required.")
    assert by_path["volumes[0].name"][0] == "Missing required argument"
    assert by_path["volumes[0].nam"][1].endswith('Did you mean "name"?')


def test_validate_skips_unknown_values() -> None:
    ok = {"source": UNKNOWN, "seed": UNKNOWN, "packages": ["a", UNKNOWN], "health": UNKNOWN}
    assert validate_args(Thing, ok) == []
    bad = {"source": UNKNOWN, "seed": "x"}
    assert [format_path(p.path) for p in validate_args(Thing, bad)] == ["seed"]


def test_validate_too_many_blocks() -> None:
    problems = validate_args(Thing, {"source": "s", "volumes": [{"name": "a"}] * 3})
    assert [p.message for p in problems] == [
        'No more than 2 "volumes" blocks are allowed for volumes.'
    ]


def test_parse_args_fills_defaults_and_reports_problems() -> None:
    parsed = parse_args(Thing, {"source": "s", "class": "b"})
    assert isinstance(parsed, Args)
    assert parsed.klass == "b" and parsed.packages == [] and parsed.health is None
    try:
        parse_args(Thing, {"seed": 1})
    except ArgsError as exc:
        assert [p.summary for p in exc.problems] == ["Missing required argument"]
    else:
        raise AssertionError("a missing argument was accepted")


def test_sensitive_paths() -> None:
    data = {
        "source": "s",
        "token": "t",
        "volumes": [{"name": "a", "secret": "x"}, {"name": "b"}],
        "password": "p",
    }
    # Present values only: the second volume has no secret.
    assert sensitive_paths(Thing, data) == [["token"], ["volumes", 0, "secret"], ["password"]]


def test_schema_json_is_terraform_shaped() -> None:
    doc = schema_json(Prov)
    assert doc["provider"]["block"]["attributes"]["region"] == {
        "type": "string",
        "description": "Where.",
        "description_kind": "plain",
        "optional": True,
    }
    res = doc["resource_schemas"]["demo_thing"]["block"]
    assert res["attributes"]["source"]["required"] is True
    assert res["attributes"]["source"]["forces_replacement"] is True
    assert res["attributes"]["packages"] == {
        "type": ["list", "string"],
        "optional": True,
    }
    assert res["attributes"]["id"] == {"type": "string", "computed": True}
    assert res["attributes"]["password"]["sensitive"] is True
    assert res["block_types"]["volumes"]["nesting_mode"] == "list"
    assert res["block_types"]["volumes"]["max_items"] == 2
    assert res["block_types"]["health"]["block"]["attributes"]["port"]["required"] is True
    assert res["description"] == "A thing."
    assert doc["data_source_schemas"] == {}


def test_resource_body_merges_arguments_and_attributes() -> None:
    from mlform.sdk.schema import resource_body

    body = resource_body(Thing)
    assert {"source", "id", "password"} <= set(body.attributes)
    assert body.attributes["id"].computed and not body.attributes["source"].computed
    assert set(body.blocks) == {"health", "volumes"}


class Checked(Model):
    timeout: str = arg("1h")
    retries: int = arg(0)

    @field_validator("timeout")
    @classmethod
    def _duration(cls, value: str) -> str:
        if not value.endswith(("s", "m", "h")):
            raise ValueError(f'not a duration: "{value}"')
        return value


def test_parse_config_is_the_one_translation_of_pydantic_errors() -> None:
    """A provider's kinds refuse arguments with the engine's words: pydantic's "Value error, "
    is dropped from a validator's message, and every problem is in the detail."""
    assert parse_config(Checked, {"timeout": "2h"}).timeout == "2h"
    with pytest.raises(ConfigError) as err:
        parse_config(Checked, {"timeout": "2x", "retries": "often"})
    assert err.value.summary == "Invalid argument value"
    assert err.value.attribute == "timeout"
    assert err.value.detail.splitlines() == [
        'Invalid value for argument "timeout": not a duration: "2x".',
        'Inappropriate value for argument "retries": a whole number is required.',
    ]
    error = config_error([])
    assert error.attribute is None and error.detail == "a value is not known yet"
