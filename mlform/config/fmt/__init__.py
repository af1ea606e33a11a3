"""`mlform fmt`: rewrite HCL files in the canonical style, the same bytes `terraform fmt` writes.

Teams keep `.tf` files beside `.mlf.hcl` files, so one style serves both. Formatting is a
pipeline over a lossless token stream:

    tokens.lex        every token, comments and newlines included, with the spaces before it
    structure.scan    attributes, blocks and labels; structural syntax errors
    normalize.apply   Terraform's rewrites: "${x}" to x, legacy variable types, quoted labels
    layout.layout     indentation, spacing, alignment of `=` and trailing comments

A file with a syntax error is never rewritten: `format_source` raises `DiagnosticsError`.
"""

from __future__ import annotations

from mlform.config.fmt import layout as _layout
from mlform.config.fmt import normalize as _normalize
from mlform.config.fmt import structure as _structure
from mlform.config.fmt import tokens as _tokens
from mlform.diagnostics import Diagnostic, DiagnosticsError

__all__ = ["check_syntax", "format_source", "is_formatted"]


def _parse(
    text: str, filename: str
) -> tuple[list[_tokens.Token], _structure.Structure, list[Diagnostic]]:
    # The parser's diagnostics, where it finds a problem, are the ones every other command shows
    # for the same file; the tokenizer's and structure's own checks stand behind them.
    parser_diags = _full_parser_errors(text, filename)
    if parser_diags:
        # Nothing past them is used; the structure scan recurses per nested block, and the
        # parser refuses blocks nested too deeply for it.
        return [], _structure.Structure(), parser_diags
    toks, diags = _tokens.lex(text, filename)
    if diags:
        return toks, _structure.Structure(), parser_diags or diags
    structure, diags = _structure.scan(toks, _tokens.position_index(text, filename))
    return toks, structure, parser_diags or diags


def _full_parser_errors(text: str, filename: str) -> list[Diagnostic]:
    """Expression-level syntax errors from mlform's HCL parser, where it is available."""
    try:
        from mlform.config.parser import parse_hcl  # type: ignore[import-not-found]
    except ImportError:
        return []
    try:
        _, diags = parse_hcl(text, filename)
    except Exception:  # noqa: BLE001 - a parser fault must not block formatting valid files
        return []
    return [d for d in diags if d.is_error]


def check_syntax(text: str, filename: str = "<input>") -> list[Diagnostic]:
    """The syntax errors that stop `text` from being formatted (empty when it can be)."""
    return _parse(text, filename)[2]


def format_source(text: str, filename: str = "<input>") -> str:
    """`text` in the canonical style. Raises DiagnosticsError if it has syntax errors."""
    toks, structure, diags = _parse(text, filename)
    if diags:
        raise DiagnosticsError(diags)
    toks = _normalize.apply(toks, structure)
    _layout.layout(toks)
    return _layout.render(toks)


def is_formatted(text: str, filename: str = "<input>") -> bool:
    return format_source(text, filename) == text
