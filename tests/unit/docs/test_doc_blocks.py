"""The configurations shown in docs/guide.md and docs/language.md are real files.

Every ```hcl block in those pages must follow a marker naming the file it shows,
`<!-- example: docs/examples/NAME/FILE -->` (or `... FILE lines A-B` for an excerpt), and its
text must equal that file (or those lines). The files themselves are validated and applied by
tests/func/test_docs_examples.py, so what a reader copies is what the tests run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PAGES = ["docs/guide.md", "docs/language.md"]
EXAMPLES = ROOT / "docs" / "examples"

MARKER = re.compile(r"^<!-- example: (?P<path>\S+)(?: lines (?P<a>\d+)-(?P<b>\d+))? -->$")
FENCE = re.compile(r"^```(?P<info>\S*)$")


@dataclass
class Block:
    page: str
    line: int  # 1-based line of the opening fence
    info: str
    text: str
    marker: re.Match[str] | None


def blocks(page: str) -> list[Block]:
    lines = (ROOT / page).read_text(encoding="utf-8").splitlines()
    out: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start = i
        j = i + 1
        while j < len(lines) and lines[j] != "```":
            j += 1
        assert j < len(lines), f"{page}:{start + 1}: unclosed code block"
        marker = MARKER.match(lines[start - 1]) if start > 0 else None
        text = "".join(line + "\n" for line in lines[start + 1 : j])
        out.append(Block(page, start + 1, m.group("info"), text, marker))
        i = j + 1
    return out


ALL = [b for page in PAGES for b in blocks(page)]
HCL = [b for b in ALL if b.info == "hcl"]


def test_pages_show_configurations() -> None:
    assert len(HCL) >= 10


@pytest.mark.parametrize("block", HCL, ids=lambda b: f"{b.page}:{b.line}")
def test_hcl_block_equals_its_example_file(block: Block) -> None:
    where = f"{block.page} line {block.line}"
    assert block.marker is not None, (
        f"{where}: an hcl block must follow <!-- example: docs/examples/NAME/FILE --> "
        "and show that file"
    )
    path = ROOT / block.marker.group("path")
    assert path.is_file(), f"{where}: {path} does not exist"
    assert EXAMPLES in path.parents, f"{where}: examples live under docs/examples/"
    want = path.read_text(encoding="utf-8")
    if block.marker.group("a"):
        a, b = int(block.marker.group("a")), int(block.marker.group("b"))
        want = "".join(line + "\n" for line in want.splitlines()[a - 1 : b])
    assert block.text == want, f"{where} differs from {path.relative_to(ROOT)}"


def test_every_example_is_shown() -> None:
    shown = {Path(b.marker.group("path")).parts[2] for b in HCL if b.marker}
    on_disk = {p.name for p in EXAMPLES.iterdir() if p.is_dir()}
    assert on_disk <= shown, f"examples not shown in any page: {sorted(on_disk - shown)}"


def test_markers_are_followed_by_hcl_blocks() -> None:
    for page in PAGES:
        lines = (ROOT / page).read_text(encoding="utf-8").splitlines()
        for n, line in enumerate(lines):
            if MARKER.match(line):
                assert n + 1 < len(lines) and lines[n + 1] == "```hcl", (
                    f"{page} line {n + 1}: a marker must be followed by an hcl block"
                )
