"""parse_file_cached: same trees as parsing, stored by content, never in the user's way."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hcl_tree_dump import dump_body

from mlform.config import parse_cache
from mlform.config.parse_cache import parse_file_cached
from mlform.config.parser import parse_file
from mlform.config.syntax import Body
from mlform.lang import ast

SAMPLES = Path(__file__).parents[2] / "testdata" / "parser"

CONFIG = """\
variable "seed" {
  default = 42
}

locals {
  names  = [for i, n in var.names : "${i}-${upper(n)}" if n != ""]
  by_key = { for k, v in var.m : k => v... }
  x      = a.b[0]["k"].*.c
  y      = x[*].id[0]
  z      = !a && -b > 1.5e3 ? f(1, [2]...) : (null)
  w      = provider::p::f(x[var.i].y)
  t      = "%{ if a ~} yes %{~ else }no%{ endif } ${~ b }"
  h      = <<-EOT
    a ${b}
      c
  EOT
}

resource "training_job" "digits" {
  params = { c = 1.0, "d" : 2, (e) = 3 }
  lifecycle {
    ignore_changes = [params]
  }
}
"""


def all_ranges(body: Body) -> list[str]:
    """Every range in a body, as text, in a fixed order."""
    out = [str(body.range)]
    for a in body.attributes.values():
        out += [str(a.range), str(a.name_range)]
        for e in ast.walk(a.expr):
            out.append(f"{type(e).__name__} {e.range}")
            if isinstance(e, ast.ScopeTraversal):
                out += [str(e.root_range)] + [str(s.range) for s in e.steps]
            if isinstance(e, ast.FunctionCall):
                out.append(str(e.name_range))
            if isinstance(e, ast.Template):
                out += [str(p.range) for p in e.parts]
    for b in body.blocks:
        out += [str(b.range), str(b.type_range)] + [str(r) for r in b.label_ranges]
        out += all_ranges(b.body)
    return out


def entries(cache: Path) -> list[Path]:
    return sorted(p for p in cache.rglob("*") if p.is_file())


def test_cached_tree_equals_parsed_tree(tmp_path: Path) -> None:
    src = tmp_path / "main.mlf.hcl"
    src.write_text(CONFIG)
    cache = tmp_path / "cache"
    parsed, diags = parse_file(src)
    assert diags == []
    first, diags = parse_file_cached(src, cache_dir=cache)
    assert diags == [] and len(entries(cache)) == 1
    second, diags = parse_file_cached(src, cache_dir=cache)
    assert diags == []
    assert second is not first
    assert dump_body(second.body) == dump_body(parsed.body)
    assert all_ranges(second.body) == all_ranges(parsed.body)
    assert second.source == CONFIG and second.filename == str(src)
    lit = second.body.blocks[0].body.attributes["default"].expr
    assert (
        isinstance(lit, ast.Literal)
        and lit.value == parsed.body.blocks[0].body.attributes["default"].expr.value
    )  # type: ignore[attr-defined]


@pytest.mark.parametrize("sample", sorted(SAMPLES.glob("*.*")), ids=lambda p: p.name)
def test_samples_round_trip_through_the_cache(sample: Path, tmp_path: Path) -> None:
    parsed, diags = parse_file(sample)
    assert diags == []
    parse_file_cached(sample, cache_dir=tmp_path)
    again, _ = parse_file_cached(sample, cache_dir=tmp_path)
    assert dump_body(again.body) == dump_body(parsed.body)
    assert all_ranges(again.body) == all_ranges(parsed.body)


def test_changed_content_is_a_new_entry(tmp_path: Path) -> None:
    src = tmp_path / "a.mlf.hcl"
    cache = tmp_path / "c"
    parse_file_cached(src, "a = 1\n", cache)
    f, _ = parse_file_cached(src, "a = 2\n", cache)
    assert dump_body(f.body) == ["a = 2"]
    assert len(entries(cache)) == 2


def test_files_with_errors_are_not_cached(tmp_path: Path) -> None:
    cache = tmp_path / "c"
    f, diags = parse_file_cached(tmp_path / "a.mlf.hcl", "a = \n", cache)
    assert diags[0].summary == "Invalid expression"
    assert entries(cache) == []
    f, diags = parse_file_cached(tmp_path / "a.mlf.hcl", "a = \n", cache)
    assert diags[0].summary == "Invalid expression"


def test_a_damaged_entry_is_ignored(tmp_path: Path) -> None:
    cache = tmp_path / "c"
    parse_file_cached(tmp_path / "a.mlf.hcl", "a = 1\n", cache)
    (entry,) = entries(cache)
    entry.write_bytes(b"not marshal data")
    f, diags = parse_file_cached(tmp_path / "a.mlf.hcl", "a = 1\n", cache)
    assert diags == [] and dump_body(f.body) == ["a = 1"]


def test_an_unwritable_cache_is_ignored(tmp_path: Path) -> None:
    blocker = tmp_path / "c"
    blocker.write_text("a file where the cache folder should be")
    f, diags = parse_file_cached(tmp_path / "a.mlf.hcl", "a = 1\n", blocker)
    assert diags == [] and dump_body(f.body) == ["a = 1"]


def test_default_cache_folder_and_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    src = tmp_path / "main.mlf.json"
    src.write_text('{"locals": {"a": "${b}"}}')
    f, diags = parse_file_cached(src)
    assert diags == [] and f.body.from_json
    assert len(entries(tmp_path / parse_cache.DEFAULT_CACHE_DIR)) == 1
    again, _ = parse_file_cached(src)
    assert again.body.from_json and again.body.blocks[0].body.from_json
    assert dump_body(again.body) == dump_body(f.body)


def test_missing_file_reports_through_the_parser(tmp_path: Path) -> None:
    _, diags = parse_file_cached(tmp_path / "nope.mlf.hcl", cache_dir=tmp_path / "c")
    assert diags[0].summary == "Failed to read file"
    assert not os.path.exists(tmp_path / "c")
