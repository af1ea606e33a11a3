"""`mlform metrics`: a training job's metrics across serials, through the CLI with the local
provider: the table, JSON (with who applied and from which CI run), a PNG chart drawn without
any plotting library, an HTML page, and the metrics section of the lineage page."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import pytest
from cli_harness import Mlform

pytest.importorskip("mlform_local", reason="the local provider is not installed")

CONFIG = """
variable "scale" {
  type    = number
  default = 1
}

resource "environment" "bare" {
}

resource "training_job" "fit" {
  environment = environment.bare.id
  code        = "./src"
  command     = "python train.py"
  params      = { scale = var.scale }
}

resource "training_job" "other" {
  environment = environment.bare.id
  code        = "./src"
  command     = "python train.py"
  params      = { scale = 10 }
}
"""

TRAIN = """
import json, os
scale = json.loads(os.environ["MLFORM_PARAMS"])["scale"]
open(os.path.join(os.environ["MLFORM_OUTPUT_DIR"], "model.json"), "w").write(json.dumps(scale))
open(os.environ["MLFORM_METRICS_FILE"], "w").write(
    json.dumps({"loss": 1 / scale, "accuracy": scale / 10, "note": "text is skipped"})
)
"""

CI = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_RUN_ID": "777",
    "GITHUB_REPOSITORY": "acme/models",
    "GITHUB_ACTOR": "octo",
    "GITHUB_REF": "refs/pull/42/merge",
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("metrics")
    (d / "src").mkdir()
    (d / "main.mlf.hcl").write_text(CONFIG)
    (d / "src" / "train.py").write_text(TRAIN)
    m = Mlform(d)
    m.ok("apply", "--auto-approve", timeout=300)
    m.ok("apply", "--auto-approve", "--var", "scale=2", timeout=300)
    m.ok("apply", "--auto-approve", "--var", "scale=4", env=CI, timeout=300)
    # A serial that runs nothing new adds no point.
    m.ok("apply", "--auto-approve", "--var", "scale=4", "--refresh-only", timeout=300)
    return d


def _png_pixels(data: bytes) -> tuple[int, int, bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        tag, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(tag + body) & 0xFFFFFFFF
        if tag == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
            assert (depth, color) == (8, 2)
        elif tag == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    assert len(raw) == height * (1 + width * 3)
    return width, height, raw


def test_table_lists_one_row_per_run(project: Path) -> None:
    out = Mlform(project).ok("metrics", "training_job.fit").out
    lines = out.strip().splitlines()
    assert lines[0] == "training_job.fit"
    assert lines[1].split() == ["SERIAL", "TIME", "RUN", "ACCURACY", "LOSS"]
    rows = [line.split() for line in lines[2:]]
    assert [r[0] for r in rows] == ["1", "2", "3"]
    assert [r[3:] for r in rows] == [["0.1", "1"], ["0.2", "0.5"], ["0.4", "0.25"]]
    assert "NOTE" not in out  # not a number
    # Without ADDR, every job; the unchanged one has one run.
    every = Mlform(project).ok("metrics").out
    assert "training_job.fit" in every and "training_job.other" in every


def test_json_says_who_applied_and_from_which_ci_run(project: Path) -> None:
    (series,) = json.loads(
        Mlform(project).ok("metrics", "training_job.fit", "--format", "json").out
    )
    assert series["address"] == "training_job.fit"
    assert series["metrics"] == ["accuracy", "loss"]
    last = series["points"][-1]
    assert last["serial"] == 3 and last["metrics"] == {"loss": 0.25, "accuracy": 0.4}
    assert last["who"] == "octo" and last["ci"] == "github-actions acme/models run 777 PR #42"
    assert len({p["run_id"] for p in series["points"]}) == 3


def test_png_chart(project: Path) -> None:
    out = project / "metrics.png"
    Mlform(project).ok("metrics", "--format", "png", "--out", str(out))
    width, height, raw = _png_pixels(out.read_bytes())
    # Two panels (accuracy, loss) under a two-job legend.
    assert width == 640 and height > 480
    # The first job's line color is drawn, and the second's.
    assert bytes((21, 101, 192)) in raw and bytes((216, 67, 21)) in raw


def test_html_page_and_lineage_section(project: Path) -> None:
    m = Mlform(project)
    page = m.ok("metrics", "training_job.fit", "--format", "html").out
    assert page.startswith("<!DOCTYPE html>") and "data:image/png;base64," in page
    assert "<td>octo</td><td>github-actions acme/models run 777 PR #42</td>" in page
    lineage = m.ok("lineage", "training_job.fit", "--format", "html").out
    assert '<section class="metrics" id="metrics">' in lineage
    assert "data:image/png;base64," in lineage


def test_unknown_address_is_a_clear_error(project: Path) -> None:
    res = Mlform(project)("metrics", "training_job.nope")
    assert res.code == 1
    assert "No metrics recorded for training_job.nope" in res.err
    assert "Traceback" not in res.err
