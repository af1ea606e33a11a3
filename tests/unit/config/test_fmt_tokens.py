"""The formatter's tokenizer and its syntax checks."""

from __future__ import annotations

import pytest

from mlform.config.fmt import check_syntax, format_source
from mlform.config.fmt import tokens as T
from mlform.config.fmt.layout import columns
from mlform.diagnostics import DiagnosticsError

SAMPLE = (
    'resource "a" "b" { # c\r\n'
    '\tx = "${var.a} $${y} 100%"  // t\n'
    "  h = <<-EOT\n    line ${z}\n    EOT\n"
    "  /* multi\n line */ o = {k: [1, 2.5e3, -x]}\n"
    "}   "
)


def test_lossless_round_trip() -> None:
    toks, diags = T.lex(SAMPLE)
    assert diags == []
    assert "".join(" " * t.spaces + t.text for t in toks) == SAMPLE.replace("\t", " ")
    assert toks[-1].type == T.EOF and toks[-1].spaces == 3


def test_split_points_follow_hcl() -> None:
    toks, _ = T.lex(SAMPLE)
    kinds = [(t.type, t.text) for t in toks]
    # a line comment owns its newline, CRLF included
    assert (T.COMMENT, "# c\r\n") in kinds
    assert (T.COMMENT, "// t\n") in kinds
    # a literal is cut at "$" escapes, as HCL's scanner cuts it
    assert (T.QUOTED_LIT, "$${") in kinds and (T.QUOTED_LIT, "y} 100") in kinds
    # the closing heredoc marker keeps its indentation and leaves the newline separate
    i = kinds.index((T.CHEREDOC, "    EOT"))
    assert kinds[i + 1] == (T.NEWLINE, "\n")
    assert (T.OHEREDOC, "<<-EOT\n") in kinds
    assert (T.NUMBER_LIT, "2.5e3") in kinds


def test_columns_count_graphemes() -> None:
    toks, _ = T.lex('"e\u0301🎉"')
    assert columns(toks[:-1]) == 4  # quote, é as two code points, emoji, quote


@pytest.mark.parametrize(
    "src,summary,line,column",
    [
        ('a = "abc\n', "Unterminated template string", 1, 5),
        ("a = <<EOT\nnever closed\n", "Unterminated template string", 1, 5),
        ("a = [1, 2\n", None, 1, 5),
        ("a = (1]\n", None, 1, None),
        ("/* open\n", "Unterminated comment", 1, 1),
        ("a = 1 $\n", None, 1, 7),
        ("block {\n  x = 1\n", None, None, None),
        ("a = 1 b = 2\n", None, 1, None),
        ("a = \n", None, None, None),
    ],
)
def test_syntax_errors_have_positions(
    src: str, summary: str | None, line: int | None, column: int | None
) -> None:
    diags = check_syntax(src, "bad.tf")
    assert diags, src
    d = diags[0]
    assert d.is_error and d.subject is not None and d.subject.filename == "bad.tf"
    if summary is not None:
        assert summary in [x.summary for x in diags]
    if line is not None:
        assert d.subject.start.line == line
    if column is not None:
        assert d.subject.start.column == column
    with pytest.raises(DiagnosticsError):
        format_source(src, "bad.tf")


def test_valid_input_has_no_errors() -> None:
    assert check_syntax(SAMPLE) == []


def test_interpolation_only_values_unwrapped_but_templates_kept() -> None:
    src = 'a = "${x}"\nb = "${x}-${y}"\nc = "${f("${y}")}"\n'
    assert format_source(src) == 'a = x\nb = "${x}-${y}"\nc = f("${y}")\n'


def test_labels_with_template_characters_are_kept() -> None:
    # Terraform drops such labels; mlform leaves them as written.
    assert format_source('resource "a$b" c {}\n') == 'resource "a$b" "c" {}\n'
