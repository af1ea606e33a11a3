"""Include/exclude patterns, gitignore style."""

from __future__ import annotations

import pytest

from mlform.kinds.digest import PathFilter, validate_glob


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("*.csv", "a.csv", True),
        ("*.csv", "deep/er/a.csv", True),  # no slash: any depth
        ("*.csv", "a.csv.bak", False),
        ("/a.csv", "sub/a.csv", False),  # leading slash: anchored
        ("/a.csv", "a.csv", True),
        ("data/*.csv", "data/a.csv", True),
        ("data/*.csv", "data/x/a.csv", False),  # * stays within a name
        ("data/**/*.csv", "data/x/y/a.csv", True),
        ("data/**/*.csv", "data/a.csv", True),  # ** may span no folder
        ("**/test", "a/b/test/file", True),  # a folder covers what is under it
        ("logs/", "logs/today.txt", True),
        ("logs/", "logs", False),  # folder-only patterns do not match a file
        ("img?.png", "img1.png", True),
        ("img[0-3].png", "img4.png", False),
        ("img[!0-3].png", "img4.png", True),
    ],
)
def test_patterns(pattern, path, matches):
    assert PathFilter(include=[pattern])(path) is matches


def test_include_then_exclude():
    f = PathFilter(include=["*.csv"], exclude=["tmp/"])
    assert f("a.csv") and not f("tmp/a.csv") and not f("a.txt")
    assert f.excludes_dir("tmp") and not f.excludes_dir("data")


def test_no_patterns_take_everything():
    assert PathFilter()("any/thing")


def test_validate_glob():
    assert validate_glob("*.csv") is None
    assert validate_glob("  ") is not None
