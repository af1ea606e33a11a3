"""The HCL tokenizer: token kinds and spans, modes, significant newlines, lexical errors."""

from __future__ import annotations

import pytest

from mlform.config.lexer import is_identifier, tokenize, tokenize_template


def kinds(text: str, newlines: bool = True) -> list[str]:
    return tokenize(text, newlines=newlines).kinds


def spans(text: str) -> list[tuple[str, str]]:
    t = tokenize(text)
    return [(k, text[s:e]) for k, s, e in zip(t.kinds, t.starts, t.ends, strict=True)]


def test_basic_tokens_and_spans() -> None:
    assert spans('a = "x" # c\nb-2 = 1.5e3') == [
        ("IDENT", "a"),
        ("=", "="),
        ("OQUOTE", '"'),
        ("QLIT", "x"),
        ("CQUOTE", '"'),
        ("NL", "\n"),
        ("IDENT", "b-2"),
        ("=", "="),
        ("NUMBER", "1.5e3"),
        ("EOF", ""),
    ]


@pytest.mark.parametrize(
    "op",
    [
        "==",
        "!=",
        "<=",
        ">=",
        "&&",
        "||",
        "=>",
        "...",
        "::",
        "+",
        "-",
        "*",
        "/",
        "%",
        "<",
        ">",
        "!",
        "?",
        ":",
        ".",
        ",",
    ],
)
def test_operators(op: str) -> None:
    assert kinds(f"a {op} b") == ["IDENT", op, "IDENT", "EOF"]


def test_numbers_and_identifiers() -> None:
    assert spans("0 12 3.25 1e-3 4E+2")[:-1] == [
        ("NUMBER", "0"),
        ("NUMBER", "12"),
        ("NUMBER", "3.25"),
        ("NUMBER", "1e-3"),
        ("NUMBER", "4E+2"),
    ]
    assert spans("a.0.b")[:-1] == [
        ("IDENT", "a"),
        (".", "."),
        ("NUMBER", "0"),
        (".", "."),
        ("IDENT", "b"),
    ]
    assert spans("_x ÿname for_each")[:-1] == [
        ("IDENT", "_x"),
        ("IDENT", "ÿname"),
        ("IDENT", "for_each"),
    ]
    assert is_identifier("for_each") and is_identifier("a-b") and is_identifier("é")
    assert not is_identifier("1a") and not is_identifier("-a") and not is_identifier("a.b")


def test_comments() -> None:
    assert kinds("a # one\n// two\n/* three\nlines */ b") == ["IDENT", "NL", "NL", "IDENT", "EOF"]
    t = tokenize("a /* never closed")
    assert t.errors[0].summary == "Unterminated comment"
    assert (t.errors[0].start, t.errors[0].end) == (2, 4)


def test_newlines_only_where_they_separate_items() -> None:
    assert kinds("a {\n b = [\n 1,\n 2\n ]\n}\n") == [
        "IDENT",
        "{",
        "NL",
        "IDENT",
        "=",
        "[",
        "NUMBER",
        ",",
        "NUMBER",
        "]",
        "NL",
        "}",
        "NL",
        "EOF",
    ]
    assert kinds("f(\n1\n)") == ["IDENT", "(", "NUMBER", ")", "EOF"]
    assert kinds("{\n a = 1\n}") == ["{", "NL", "IDENT", "=", "NUMBER", "NL", "}", "EOF"]
    assert kinds("{\n for x in y : x => 1\n}") == [
        "{",
        "IDENT",
        "IDENT",
        "IDENT",
        "IDENT",
        ":",
        "IDENT",
        "=>",
        "NUMBER",
        "}",
        "EOF",
    ]
    assert kinds("[ {\n a = 1\n} ]") == [
        "[",
        "{",
        "NL",
        "IDENT",
        "=",
        "NUMBER",
        "NL",
        "}",
        "]",
        "EOF",
    ]
    assert kinds("a\nb", newlines=False) == ["IDENT", "IDENT", "EOF"]
    assert kinds("a\r\nb") == ["IDENT", "NL", "IDENT", "EOF"]


def test_quoted_templates() -> None:
    assert spans('"a ${b} c"')[:-1] == [
        ("OQUOTE", '"'),
        ("QLIT", "a "),
        ("TINTERP", "${"),
        ("IDENT", "b"),
        ("TSEQEND", "}"),
        ("QLIT", " c"),
        ("CQUOTE", '"'),
    ]
    assert spans('"${~ {a = 1} ~}"')[:-1] == [
        ("OQUOTE", '"'),
        ("TINTERP", "${~"),
        ("{", "{"),
        ("IDENT", "a"),
        ("=", "="),
        ("NUMBER", "1"),
        ("}", "}"),
        ("TSEQEND", "~}"),
        ("CQUOTE", '"'),
    ]
    assert spans('"%{ if x }y%{ endif }"')[:-1] == [
        ("OQUOTE", '"'),
        ("TCONTROL", "%{"),
        ("IDENT", "if"),
        ("IDENT", "x"),
        ("TSEQEND", "}"),
        ("QLIT", "y"),
        ("TCONTROL", "%{"),
        ("IDENT", "endif"),
        ("TSEQEND", "}"),
        ("CQUOTE", '"'),
    ]
    # Escapes stay in the literal token; $${ and %%{ do not open sequences.
    assert spans(r'"a\"b $${c} %%{d} $ %"')[:-1] == [
        ("OQUOTE", '"'),
        ("QLIT", r"a\"b $${c} %%{d} $ %"),
        ("CQUOTE", '"'),
    ]
    # A nested string inside an interpolation.
    assert kinds('"${f("x")}"') == [
        "OQUOTE",
        "TINTERP",
        "IDENT",
        "(",
        "OQUOTE",
        "QLIT",
        "CQUOTE",
        ")",
        "TSEQEND",
        "CQUOTE",
        "EOF",
    ]


def test_unterminated_string() -> None:
    t = tokenize('a = "abc\nb = 1\n')
    assert [(e.summary, e.start, e.end) for e in t.errors] == [
        ("Unterminated template string", 4, 8)
    ]
    # The string ends at the line end and the next line tokenizes normally.
    assert t.kinds == [
        "IDENT",
        "=",
        "OQUOTE",
        "QLIT",
        "CQUOTE",
        "NL",
        "IDENT",
        "=",
        "NUMBER",
        "NL",
        "EOF",
    ]


def test_heredocs() -> None:
    text = "a = <<EOT\nline ${x}\n  EOT\nb = 1\n"
    assert spans(text) == [
        ("IDENT", "a"),
        ("=", "="),
        ("OHEREDOC", "<<EOT"),
        ("HLIT", "line "),
        ("TINTERP", "${"),
        ("IDENT", "x"),
        ("TSEQEND", "}"),
        ("HLIT", "\n"),
        ("CHEREDOC", "EOT"),
        ("NL", "\n"),
        ("IDENT", "b"),
        ("=", "="),
        ("NUMBER", "1"),
        ("NL", "\n"),
        ("EOF", ""),
    ]
    # One literal token per line; a line that only starts with the marker is content.
    assert spans("<<-X\n  a\n  Xb\n  X")[:-1] == [
        ("OHEREDOC", "<<-X"),
        ("HLIT", "  a\n"),
        ("HLIT", "  Xb\n"),
        ("CHEREDOC", "X"),
    ]
    t = tokenize("a = <<EOT\nxyz\n")
    assert t.errors[0].summary == "Unterminated template string"
    assert t.kinds[-2:] == ["CHEREDOC", "EOF"]


def test_bare_templates() -> None:
    t = tokenize_template("a ${b}\n%{ if c }d%{ endif }")
    assert t.kinds == [
        "HLIT",
        "TINTERP",
        "IDENT",
        "TSEQEND",
        "HLIT",
        "TCONTROL",
        "IDENT",
        "IDENT",
        "TSEQEND",
        "HLIT",
        "TCONTROL",
        "IDENT",
        "TSEQEND",
        "EOF",
    ]
    assert tokenize_template("").kinds == ["EOF"]


def test_invalid_characters() -> None:
    t = tokenize("a = 'x' @ b")
    assert [(e.summary, e.start, e.end) for e in t.errors] == [
        ("Invalid character", 4, 7),
        ("Invalid character", 8, 9),
    ]
    assert "Single quotes are not valid" in t.errors[0].detail
    assert t.kinds == ["IDENT", "=", "INVALID", "INVALID", "IDENT", "EOF"]
    t = tokenize("a ~} b")
    assert t.errors[0].summary == "Invalid character"


def test_unbalanced_closers_do_not_break_the_rest() -> None:
    # A "}" that closes a block while a "(" is still open: newlines count again after it.
    assert kinds("a {\n b = f(1\n}\nc = 1\n") == [
        "IDENT",
        "{",
        "NL",
        "IDENT",
        "=",
        "IDENT",
        "(",
        "NUMBER",
        "}",
        "NL",
        "IDENT",
        "=",
        "NUMBER",
        "NL",
        "EOF",
    ]


def test_a_brace_closes_its_sequence_despite_open_brackets_inside() -> None:
    assert kinds('a = "${ f( }x"\nb = 1\n') == [
        "IDENT", "=", "OQUOTE", "TINTERP", "IDENT", "(", "TSEQEND", "QLIT", "CQUOTE", "NL",
        "IDENT", "=", "NUMBER", "NL", "EOF",
    ]  # fmt: skip
    # A stray ")" does not close anything outside its brace.
    assert kinds("a {\n b = 1)\n}\n") == [
        "IDENT", "{", "NL", "IDENT", "=", "NUMBER", ")", "NL", "}", "NL", "EOF",
    ]  # fmt: skip
