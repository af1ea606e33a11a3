"""A new user's mistakes in addresses given to state commands: each is one readable sentence
after another, with the column of a bad quoted key, and nothing in state changes."""

from __future__ import annotations

CONFIG = """
provider "test" { store = "objects.json" }
resource "test_object" "a" { value = "x" }
"""


def test_address_that_is_not_a_resource_reads_as_sentences(mlform, write) -> None:
    write(CONFIG)
    mlform.ok("apply", "--auto-approve")
    res = mlform("state", "show", "foo")
    assert res.code == 1, str(res)
    assert 'raw["a"]. Addresses look like' in res.err, str(res)


def test_unterminated_quoted_key_names_its_column(mlform, write, workdir) -> None:
    write(CONFIG)
    mlform.ok("apply", "--auto-approve")
    before = (workdir / "mlform.state.json").read_bytes()
    res = mlform("state", "rm", 'test_object.a["x')
    assert res.code == 1, str(res)
    assert "bad quoted key at column 15: unterminated string. Addresses" in res.err, str(res)
    assert "starting at" not in res.err
    assert (workdir / "mlform.state.json").read_bytes() == before
