"""The dependency graph: building, cycles with their path, orders, and the parallel walker."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

import pytest

from mlform.dag import CycleError, Graph, Outcome, format_cycle, walk


def chain(*names: str) -> Graph[str]:
    g: Graph[str] = Graph()
    for n in names:
        g.add_node(n)
    for a, b in zip(names[1:], names, strict=False):
        g.add_edge(a, b)  # each waits for the one before it
    return g


def test_edges_and_neighbours() -> None:
    g: Graph[str] = Graph()
    g.add_edge("job", "data")
    g.add_edge("job", "env")
    g.add_edge("deploy", "job")
    g.add_node("lonely")
    assert g.dependencies("job") == ["data", "env"]
    assert g.dependents("job") == ["deploy"]
    assert g.dependents("data") == ["job"]
    assert set(g.roots()) == {"data", "env", "lonely"}
    assert len(g) == 5
    assert g.edge_count() == 3
    assert g.has_edge("job", "data") and not g.has_edge("data", "job")
    g.remove_node("job")
    assert g.dependents("data") == [] and g.dependencies("deploy") == []


def test_ancestors_and_descendants() -> None:
    g = chain("a", "b", "c", "d")
    g.add_edge("x", "b")
    assert g.ancestors("c") == {"a", "b"}
    assert g.descendants("b") == {"c", "d", "x"}
    assert g.ancestors("a") == set()
    assert g.descendants("c", "x") == {"d"}


def test_topological_order_puts_dependencies_first() -> None:
    g: Graph[str] = Graph()
    g.add_edge("deploy", "job")
    g.add_edge("job", "data")
    g.add_edge("job", "env")
    g.add_edge("deploy", "env")
    order = g.topological_order()
    for dependent, dependency in g.edges():
        assert order.index(dependency) < order.index(dependent)
    rev = g.reverse().topological_order()
    assert rev.index("deploy") < rev.index("job") < rev.index("data")


def test_find_cycles_reports_path() -> None:
    g: Graph[str] = Graph()
    g.add_edge("local.a", "local.b")
    g.add_edge("local.b", "local.a")
    g.add_edge("local.c", "local.a")  # depends on the cycle, not part of it
    cycles = g.find_cycles()
    assert cycles == [["local.a", "local.b", "local.a"]]
    assert format_cycle(cycles[0]) == "local.a -> local.b -> local.a"


def test_find_cycles_longer_and_several_and_self_loop() -> None:
    g: Graph[str] = Graph()
    g.add_edge("a", "b")
    g.add_edge("b", "c")
    g.add_edge("c", "a")
    g.add_edge("x", "y")
    g.add_edge("y", "x")
    g.add_edge("s", "s")
    g.add_edge("ok", "a")
    cycles = g.find_cycles()
    assert [format_cycle(c) for c in cycles] == ["a -> b -> c -> a", "x -> y -> x", "s -> s"]
    with pytest.raises(CycleError) as err:
        g.topological_order()
    assert "a -> b -> c -> a" in str(err.value)


def test_acyclic_graph_has_no_cycles_even_when_deep() -> None:
    names = [f"n{i}" for i in range(5000)]
    g = chain(*names)
    assert g.find_cycles() == []
    g.add_edge("n0", "n4999")
    (cycle,) = g.find_cycles()
    assert cycle[0] == cycle[-1] == "n0" and len(cycle) == 5001


def test_transitive_reduction_drops_implied_edges() -> None:
    g = chain("a", "b", "c")
    g.add_edge("c", "a")  # implied by c -> b -> a
    r = g.transitive_reduction()
    assert sorted(r.edges()) == [("b", "a"), ("c", "b")]


def test_subgraph_keeps_edges_between_kept_nodes() -> None:
    g = chain("a", "b", "c")
    s = g.subgraph({"a", "c"})
    assert s.nodes() == ["a", "c"] and s.edges() == []


# -- walker -------------------------------------------------------------------------------------


def test_walk_respects_dependencies() -> None:
    rng = random.Random(7)
    g: Graph[int] = Graph()
    for i in range(300):
        g.add_node(i)
        for j in rng.sample(range(i), min(i, 3)):
            g.add_edge(i, j)
    done: set[int] = set()
    lock = threading.Lock()
    violations: list[int] = []

    def visit(n: int) -> None:
        with lock:
            if any(d not in done for d in g.dependencies(n)):
                violations.append(n)
        time.sleep(0.0005)
        with lock:
            done.add(n)

    res = walk(g, visit, parallelism=8)
    assert violations == []
    assert res.success and len(res.ok) == 300


def test_walk_failure_skips_dependents_and_continues() -> None:
    g = chain("a", "b", "c")
    g.add_edge("d", "c")
    g.add_node("independent")
    g.add_edge("after_independent", "independent")
    visited: list[str] = []
    lock = threading.Lock()

    def visit(n: str) -> str:
        if n == "b":
            raise RuntimeError("boom")
        with lock:
            visited.append(n)
        return n.upper()

    res = walk(g, visit, parallelism=2)
    assert res.outcome("a") is Outcome.OK
    assert res.results["a"].value == "A"
    assert res.outcome("b") is Outcome.FAILED
    assert str(res.failed["b"]) == "boom"
    assert res.skipped == {"c": "b", "d": "b"}
    assert set(visited) == {"a", "independent", "after_independent"}
    assert not res.success and not res.cancelled


def test_walk_skips_a_node_with_one_failed_and_one_good_dependency() -> None:
    g: Graph[str] = Graph()
    g.add_edge("join", "bad")
    g.add_edge("join", "slow_good")

    def visit(n: str) -> None:
        if n == "bad":
            raise ValueError(n)
        time.sleep(0.05)

    res = walk(g, visit, parallelism=4)
    assert res.outcome("slow_good") is Outcome.OK
    assert res.skipped == {"join": "bad"}


def test_walk_cancel_stops_new_work_and_finishes_in_flight() -> None:
    g: Graph[int] = Graph()
    for i in range(100):
        g.add_node(i)
    cancel = threading.Event()
    started: list[int] = []
    finished: list[int] = []
    lock = threading.Lock()

    def visit(n: int) -> None:
        with lock:
            started.append(n)
            if len(started) == 6:
                cancel.set()
        time.sleep(0.02)
        with lock:
            finished.append(n)

    res = walk(g, visit, parallelism=4, cancel=cancel)
    assert res.cancelled
    assert sorted(started) == sorted(finished)  # every visit in flight was let finish
    assert len(started) < 12
    assert len(res.ok) == len(started)
    assert len(res.not_started) == 100 - len(started)


def test_walk_refuses_a_cycle() -> None:
    g = chain("a", "b")
    g.add_edge("a", "b")
    g.add_edge("b", "a")
    with pytest.raises(CycleError):
        walk(g, lambda n: None)


def test_walk_of_empty_graph() -> None:
    res = walk(Graph(), lambda n: None)
    assert res.results == {} and res.success


def test_walk_overhead_is_small_for_large_graphs() -> None:
    rng = random.Random(1)
    g: Graph[int] = Graph()
    for i in range(10_000):
        g.add_node(i)
    edges = 0
    while edges < 20_000:
        a, b = rng.randrange(1, 10_000), rng.randrange(10_000)
        if b < a and not g.has_edge(a, b):
            g.add_edge(a, b)
            edges += 1
    res = walk(g, lambda n: None, parallelism=10)
    assert res.success and len(res.results) == 10_000
    elapsed = best_of(3, lambda: walk(g, lambda n: None, parallelism=10))
    assert elapsed < 1.0, elapsed


def best_of(runs: int, fn: Callable[[], object]) -> float:
    """The shortest of a few timed runs: the walker's own cost, with less of the noise that
    other processes on a shared machine add."""
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


@pytest.mark.parametrize(("parallelism", "bound"), [(10, 2.0), (50, 0.4)])
def test_walk_keeps_the_pool_busy(parallelism: int, bound: float) -> None:
    g: Graph[int] = Graph()
    for i in range(1000):
        g.add_node(i)

    def run() -> None:
        assert walk(g, lambda n: time.sleep(0.02), parallelism=parallelism).success

    # The lower bound is 1000 x 20 ms / parallelism; scheduling may add a little.
    elapsed = best_of(3, run)
    assert bound <= elapsed < bound * 1.1, elapsed


def test_walk_chain_runs_one_at_a_time_without_delay() -> None:
    g = chain(*(str(i) for i in range(100)))

    def run() -> None:
        assert walk(g, lambda n: time.sleep(0.005), parallelism=10).success

    elapsed = best_of(3, run)
    assert 0.5 <= elapsed < 0.5 * 1.15, elapsed


def test_ctrl_c_while_walking_cancels_and_lets_visits_finish() -> None:
    import os
    import signal

    g: Graph[int] = Graph()
    for i in range(50):
        g.add_node(i)
    started: list[int] = []
    finished: list[int] = []
    lock = threading.Lock()

    def visit(n: int) -> None:
        with lock:
            started.append(n)
            if len(started) == 3:
                os.kill(os.getpid(), signal.SIGINT)  # delivered to the walking (main) thread
        time.sleep(0.05)
        with lock:
            finished.append(n)

    res = walk(g, visit, parallelism=3)
    assert res.interrupted and res.cancelled
    assert sorted(started) == sorted(finished)
    assert len(res.ok) == len(started) < 50
    assert len(res.not_started) == 50 - len(started)
