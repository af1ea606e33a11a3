"""The training job fingerprint: what it covers, what it ignores, and the reasons `diff` gives."""

from __future__ import annotations

from decimal import Decimal

from mlform.kinds.fingerprint import Fingerprint, diff

D1 = "sha256:ab12cd34" + "0" * 56
D2 = "sha256:9f3c0a1b" + "1" * 56
CODE = "sha256:" + "c" * 64


def base(**over):
    kw = dict(
        code=CODE,
        environment="env-" + "e" * 64,
        environment_digest="sha256:" + "f" * 64,
        datasets={"train": D1, "test": D2},
        params={"c": 1, "opt": {"lr": 0.1}},
        seed=42,
        command="python train.py",
        nodes=1,
        hardware_class="cpu",
    )
    kw.update(over)
    return Fingerprint.of(**kw)


def test_digest_format_and_str():
    fp = base()
    assert fp.digest.startswith("sha256:") and len(fp.digest) == 71
    assert str(fp) == fp.digest


def test_equal_inputs_equal_digest():
    assert base().digest == base(datasets={"test": D2, "train": D1}).digest
    # Numbers compare by value, whatever their Python type.
    assert base(params={"c": 1.0, "opt": {"lr": Decimal("0.1")}}).digest == base().digest


def test_every_input_counts():
    ref = base().digest
    for change in (
        {"code": D1},
        {"environment": "env-" + "0" * 64},
        {"environment_digest": D2},
        {"datasets": {"train": D2, "test": D2}},
        {"params": {"c": 2, "opt": {"lr": 0.1}}},
        {"seed": 7},
        {"seed": None},
        {"command": "python train.py --fast"},
        {"nodes": 2},
        {"hardware_class": "gpu:NVIDIA H100 80GB HBM3x1"},
    ):
        assert base(**change).digest != ref, change


def test_round_trip_through_plain_data():
    fp = base()
    again = Fingerprint.from_inputs(fp.to_inputs())
    assert again == fp and again.digest == fp.digest


def test_diff_reasons():
    old = base()
    new = base(datasets={"train": D2, "test": D2}, params={"c": 2, "opt": {"lr": 0.1}})
    assert diff(old, new) == [
        'dataset "train" changed sha256:ab12cd34… → sha256:9f3c0a1b…',
        "params.c changed 1 → 2",
    ]
    assert diff(old.to_inputs(), old) == []


def test_diff_names_each_kind_of_change():
    old = base()
    new = base(
        code=D1,
        environment_digest=D2,
        datasets={"train": D1, "val": D2},
        params={"opt": {"lr": 0.2}, "depth": 3, "name": "x"},
        seed=7,
        command="python t.py",
        nodes=2,
        hardware_class="gpu:NVIDIA A10Gx1",
    )
    assert diff(old, new) == [
        "code changed sha256:cccccccc… → sha256:ab12cd34…",
        "environment packages changed sha256:ffffffff… → sha256:9f3c0a1b…",
        'dataset "test" removed (was sha256:9f3c0a1b…)',
        'dataset "val" added (sha256:9f3c0a1b…)',
        "params.c removed (was 1)",
        "params.depth added (= 3)",
        'params.name added (= "x")',
        "params.opt.lr changed 0.1 → 0.2",
        "seed changed 42 → 7",
        'command changed "python train.py" → "python t.py"',
        "nodes changed 1 → 2",
        "hardware changed cpu → gpu:NVIDIA A10Gx1",
    ]


def test_diff_environment_id_wins_over_its_digest():
    reasons = diff(base(), base(environment="env-" + "1" * 64, environment_digest=D1))
    assert reasons == [f"environment changed env-{'e' * 64} → env-{'1' * 64}"]


def test_diff_without_earlier_run():
    assert diff(None, base()) == ["no earlier run"]


def test_params_keep_their_types_and_a_changed_type_is_named():
    typed = base(params={"dropout": False, "layers": [64, 32], "lr": 0.5, "opt": "adam"})
    assert typed.params == {"dropout": False, "layers": [64, 32], "lr": 0.5, "opt": "adam"}
    # What a state recorded when params were made strings: a different fingerprint.
    strings = base(params={"dropout": "false", "layers": [64, 32], "lr": "0.5", "opt": "adam"})
    assert strings.digest != typed.digest
    assert diff(strings, typed) == [
        'params.dropout changed "false" → false (string → bool)',
        'params.lr changed "0.5" → 0.5 (string → number)',
    ]
    assert diff(base(params={"l": [1]}), base(params={"l": {"a": 1}})) == [
        'params.l changed [1] → {"a": 1} (list → object)'
    ]
