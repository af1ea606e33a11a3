"""A bounded fuzz run in the suite: mutated and generated configurations through parse, decode,
validate, fmt and the console's evaluation, in this process, with `scripts/fuzz.py`'s inputs
and checks (its own run covers 20,000 inputs; see bench/README.md). Nothing may escape but
diagnostics, and nothing may take more than 5 seconds."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# Imported before hypothesis runs: it raises Python's frame limit once (see the module).
from mlform.lang import limits  # noqa: F401

ROOT = Path(__file__).resolve().parents[3]


def _load_fuzz() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mlform_fuzz", ROOT / "scripts" / "fuzz.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["mlform_fuzz"] = module
    spec.loader.exec_module(module)
    return module


fuzz = _load_fuzz()
CORPUS = fuzz.corpus()
TEXTS = [t for _, t in CORPUS]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _check(name: str, text: str, is_expr: bool, workdir: Path) -> None:
    failures = fuzz.check_in_process(name, text, is_expr, workdir)
    assert not failures, "\n".join(f"[{f.stage}] {f.what}" for f in failures)


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=st.integers(0, 2**32 - 1), kind=st.sampled_from(["bytes", "tokens", "generated"]))
def test_fuzzed_inputs_end_in_diagnostics(seed: int, kind: str, workdir: Path) -> None:
    import random

    rng = random.Random(seed)
    if kind == "generated":
        name, text, is_expr = fuzz.generated(rng)
    else:
        name, text = rng.choice(CORPUS)
        text = (
            fuzz.mutate_bytes(rng, text)
            if kind == "bytes"
            else fuzz.mutate_tokens(rng, text, TEXTS)
        )
        is_expr = False
    _check(f"{kind}:{name}", text[: fuzz.MAX_BYTES], is_expr, workdir)


@pytest.mark.parametrize("fragment", fuzz.FRAGMENTS)
def test_each_fragment_alone_and_in_a_file(fragment: str, workdir: Path) -> None:
    _check("fragment", fragment, True, workdir)
    _check(
        "fragment-in-file",
        f'resource "dataset" "d" {{\n  source = {fragment}\n}}\n',
        False,
        workdir,
    )


def test_the_script_reproduces_its_inputs() -> None:
    first = list(fuzz.inputs(30, 5))
    assert first == list(fuzz.inputs(30, 5))
    assert all(len(text.encode()) <= fuzz.MAX_BYTES * 4 for _, text, _ in first)
