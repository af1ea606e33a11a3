"""Tree digests and the stat cache: the digest format, what changes it, and that an unchanged
folder is not read again."""

from __future__ import annotations

import hashlib
import os
import threading
import time

import pytest

from mlform.kinds.digest import (
    Cancelled,
    DigestError,
    StatCache,
    digest_tree,
    stat_cache_path,
    tree_changes,
)


def write(path, data: bytes, *, age_s: float = 5.0):
    """Write a file and date it `age_s` seconds back (older than the racy window)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    t = time.time() - age_s
    os.utime(path, (t, t))


def expected_digest(files: dict[str, bytes]) -> str:
    h = hashlib.sha256()
    for rel in sorted(files):
        data = files[rel]
        h.update(f"{rel}\0{len(data)}\0{hashlib.sha256(data).hexdigest()}\n".encode())
    return "sha256:" + h.hexdigest()


@pytest.fixture
def tree(tmp_path):
    files = {"a.csv": b"x,y\n1,2\n", "sub/b.bin": os.urandom(3000), "sub/deeper/c.txt": b"hello"}
    root = tmp_path / "src"
    for rel, data in files.items():
        write(root / rel, data)
    return root, files


def test_digest_format(tree):
    root, files = tree
    d = digest_tree(root)
    assert d.digest == expected_digest(files)
    assert [f.path for f in d.files] == sorted(files)
    assert d.bytes == sum(len(v) for v in files.values())
    assert d.count == 3 and not d.single_file


def test_single_file(tree):
    root, files = tree
    d = digest_tree(root / "a.csv")
    assert d.single_file and d.digest == expected_digest({"a.csv": files["a.csv"]})


def test_threads_do_not_change_the_digest(tree):
    root, _ = tree
    assert digest_tree(root, threads=1).digest == digest_tree(root, threads=4).digest


def test_rename_and_edit_change_the_digest(tree):
    root, _ = tree
    before = digest_tree(root).digest
    (root / "a.csv").rename(root / "a2.csv")
    renamed = digest_tree(root).digest
    assert renamed != before
    write(root / "a2.csv", b"x,y\n1,3\n")
    assert digest_tree(root).digest not in (before, renamed)


def test_timestamps_alone_do_not_change_it(tree):
    root, _ = tree
    before = digest_tree(root).digest
    os.utime(root / "a.csv", None)
    assert digest_tree(root).digest == before


def test_stat_cache_skips_unchanged_files(tree, tmp_path):
    root, files = tree
    with StatCache(stat_cache_path(tmp_path / "data")) as cache:
        first = digest_tree(root, cache=cache)
        assert first.hashed_bytes == first.bytes
        second = digest_tree(root, cache=cache)
        assert second.hashed_bytes == 0 and second.digest == first.digest
        # Same size, new content, new mtime: read again.
        write(root / "sub/deeper/c.txt", b"HELLO", age_s=2.0)
        third = digest_tree(root, cache=cache)
        assert third.hashed_bytes == 5
        assert third.digest == expected_digest({**files, "sub/deeper/c.txt": b"HELLO"})


def test_stat_cache_survives_reopening(tree, tmp_path):
    root, _ = tree
    db = stat_cache_path(tmp_path / "data")
    with StatCache(db) as cache:
        digest_tree(root, cache=cache)
    with StatCache(db) as cache:
        assert digest_tree(root, cache=cache).hashed_bytes == 0


def test_same_mtime_and_size_but_new_inode_is_read_again(tree, tmp_path):
    root, _ = tree
    with StatCache(stat_cache_path(tmp_path / "data")) as cache:
        digest_tree(root, cache=cache)
        target = root / "a.csv"
        st = target.stat()
        replacement = root / "a.tmp"
        replacement.write_bytes(b"x,y\n9,9\n")  # same size
        os.utime(replacement, ns=(st.st_atime_ns, st.st_mtime_ns))
        os.replace(replacement, target)
        d = digest_tree(root, cache=cache)
        assert d.hashed_bytes == 8
        assert d.files[0].sha256 == hashlib.sha256(b"x,y\n9,9\n").hexdigest()


def test_recently_modified_files_are_not_cached(tmp_path):
    root = tmp_path / "src"
    write(root / "fresh.txt", b"now", age_s=0)
    with StatCache(stat_cache_path(tmp_path / "data")) as cache:
        digest_tree(root, cache=cache)
        # Within the racy window a same-size edit could keep its mtime: it must be read again.
        assert digest_tree(root, cache=cache).hashed_bytes == 3


def test_include_exclude(tree):
    root, files = tree
    only_csv = digest_tree(root, include=["*.csv"])
    assert [f.path for f in only_csv.files] == ["a.csv"]
    no_sub = digest_tree(root, exclude=["sub/"])
    assert [f.path for f in no_sub.files] == ["a.csv"]
    deep = digest_tree(root, include=["sub/**/*.txt"])
    assert [f.path for f in deep.files] == ["sub/deeper/c.txt"]


def test_symlinked_folder_loop_is_visited_once(tree):
    root, _ = tree
    os.symlink(root, root / "sub" / "loop")
    d = digest_tree(root)
    assert {f.path for f in d.files} >= {"a.csv", "sub/b.bin"}
    assert not any(p.path.startswith("sub/loop/sub/loop") for p in d.files)


def test_missing_source(tmp_path):
    with pytest.raises(DigestError, match="does not exist"):
        digest_tree(tmp_path / "nope")


def test_progress_for_large_reads(tmp_path, monkeypatch):
    import mlform.kinds.digest as digest_mod

    monkeypatch.setattr(digest_mod, "PROGRESS_MIN_BYTES", 1)
    root = tmp_path / "src"
    for i in range(3):
        write(root / f"f{i}", os.urandom(1 << 20))
    calls = []
    digest_tree(root, progress=lambda d, t, m: calls.append((d, t, m)))
    assert calls and calls[-1][0] == calls[-1][1] == 3 << 20


def test_cancel(tmp_path):
    root = tmp_path / "src"
    write(root / "big", os.urandom(4 << 20))
    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled):
        digest_tree(root, cancelled=stop.is_set)


def test_tree_changes(tree):
    root, _ = tree
    old = digest_tree(root).files
    write(root / "a.csv", b"changed!")
    (root / "sub/b.bin").unlink()
    write(root / "new.txt", b"n")
    ch = tree_changes(old, digest_tree(root).files)
    assert (ch.added, ch.removed, ch.changed) == (("new.txt",), ("sub/b.bin",), ("a.csv",))
    assert ch.summary() == "1 file changed, 1 added, 1 removed"


def test_stat_cache_forgets_removed_files(tree, tmp_path):
    root, _ = tree
    with StatCache(stat_cache_path(tmp_path / "data")) as cache:
        digest_tree(root, cache=cache)
        (root / "a.csv").unlink()
        digest_tree(root, cache=cache)
        assert len(cache.lookup_under(str(root.resolve()))) == 2


def test_filtered_digest_keeps_other_entries(tree, tmp_path):
    root, _ = tree
    with StatCache(stat_cache_path(tmp_path / "data")) as cache:
        digest_tree(root, cache=cache)
        digest_tree(root, cache=cache, include=["*.csv"])
        assert digest_tree(root, cache=cache).hashed_bytes == 0


def test_links_that_loop_are_a_digest_error_naming_them(tmp_path):
    write(tmp_path / "d" / "a.txt", b"a")
    os.symlink("self", tmp_path / "d" / "self")
    with pytest.raises(DigestError) as err:
        digest_tree(tmp_path / "d")
    assert err.value.relpath == "self" and "loops" in str(err.value)
    # Excluded, it is not looked at.
    assert digest_tree(tmp_path / "d", exclude=["self"]).count == 1


def test_dangling_links_are_skipped_or_refused(tmp_path):
    write(tmp_path / "d" / "a.txt", b"a")
    os.symlink("missing", tmp_path / "d" / "gone")
    assert digest_tree(tmp_path / "d").count == 1
    with pytest.raises(DigestError) as err:
        digest_tree(tmp_path / "d", dangling="error")
    assert err.value.relpath == "gone" and "does not exist" in str(err.value)


def test_hashing_reads_into_the_threads_buffer_not_a_new_one_per_file(tmp_path):
    """A fresh 1 MiB bytes object per file is mapped and zeroed by the kernel each time: on
    10,000 small files that cost more than the hashing (the first plan of a dataset ran at a
    fraction of one core's read-and-hash speed)."""
    import tracemalloc

    from mlform.kinds.digest import hash_file

    for i in range(3):
        write(tmp_path / f"f{i}.bin", os.urandom(100_000))
    hash_file(tmp_path / "f0.bin")  # the thread's buffer is made once
    tracemalloc.start()
    try:
        for i in (1, 2):
            assert (
                hash_file(tmp_path / f"f{i}.bin")
                == hashlib.sha256((tmp_path / f"f{i}.bin").read_bytes()).hexdigest()
            )
            tracemalloc.reset_peak()
            hash_file(tmp_path / f"f{i}.bin")
            _, peak = tracemalloc.get_traced_memory()
            assert peak < 64 * 1024, peak
    finally:
        tracemalloc.stop()
