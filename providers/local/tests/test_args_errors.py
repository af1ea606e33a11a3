"""Every local kind words refused arguments as the engine's own checks do, through the one
translation of pydantic's errors (`mlform.sdk.schema.parse_config`): a summary, a detail per
problem naming the argument as the user wrote it, and the argument the engine points at."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from mlform_local import cluster, dataset, environment, training

from mlform.kinds import training_job
from mlform.sdk import ConfigError


def _training(args: dict[str, Any]) -> Any:
    return training.validate_args(training_job.Args, args)


@pytest.mark.parametrize(
    "parse, args, attribute, detail",
    [
        (
            dataset.parse_args,
            {"source": "data", "include": "*.csv"},
            "include",
            'Inappropriate value for argument "include": a list is required.',
        ),
        (
            cluster.parse_args,
            {"nodes": "many"},
            "nodes",
            'Inappropriate value for argument "nodes": a whole number is required.',
        ),
        (
            environment.parse_args,
            {"packages": {"numpy": "2"}},
            "packages",
            'Inappropriate value for argument "packages": a list is required.',
        ),
        (
            _training,
            {"command": "python train.py", "retries": "often"},
            "retries",
            'Inappropriate value for argument "retries": a whole number is required.',
        ),
        (
            dataset.parse_args,
            {"source": "data", "exclude": ["a"], "colour": "red"},
            "colour",
            'An argument named "colour" is not expected here.',
        ),
    ],
)
def test_refused_arguments_are_config_errors_in_the_engines_words(
    parse: Callable[[dict[str, Any]], Any], args: dict[str, Any], attribute: str, detail: str
) -> None:
    with pytest.raises(ConfigError) as err:
        parse(args)
    assert err.value.attribute == attribute
    assert err.value.detail.splitlines()[0] == detail
    assert "Input should be" not in err.value.summary + err.value.detail  # pydantic's own words


def test_every_problem_is_listed() -> None:
    with pytest.raises(ConfigError) as err:
        _training({"command": "python train.py", "retries": "often", "nodes": "two"})
    assert {line.split('"')[1] for line in err.value.detail.splitlines()} == {"retries", "nodes"}
