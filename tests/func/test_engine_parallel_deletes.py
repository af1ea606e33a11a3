"""Deletes run side by side within the --parallelism limit, as creates do: `mlform destroy` and
the orphans of a shrunk `count` do not delete one instance after another."""

from __future__ import annotations

import re

CONFIG = """
provider "test" { store = "objects.json" }
resource "test_object" "o" {
  count      = %d
  value      = "v${count.index}"
  latency_ms = 100
}
"""


def most_in_flight(output: str) -> int:
    """The most deletes in progress at once, read from the order of the progress lines."""
    in_flight = peak = 0
    for line in output.splitlines():
        if re.search(r": Destroying\.\.\.", line):
            in_flight += 1
            peak = max(peak, in_flight)
        elif re.search(r": Destruction complete", line):
            in_flight -= 1
    return peak


def test_destroy_deletes_the_instances_of_a_resource_side_by_side(mlform, write, store) -> None:
    write(CONFIG % 12)
    mlform.ok("apply", "--auto-approve")
    assert store.count() == 12
    res = mlform.ok("destroy", "--auto-approve", "--parallelism", "4")
    assert "Resources: 12 destroyed." in res.out
    assert store.count() == 0
    # Never more than the limit, and more than one at a time.
    assert most_in_flight(res.out) == 4, res.out


def test_orphans_of_a_shrunk_count_are_deleted_side_by_side(mlform, write, store) -> None:
    write(CONFIG % 10)
    mlform.ok("apply", "--auto-approve")
    write(CONFIG % 2)
    res = mlform.ok("apply", "--auto-approve", "--parallelism", "3")
    assert "0 added, 0 changed, 8 destroyed." in res.out
    assert store.count() == 2
    assert most_in_flight(res.out) == 3, res.out
