"""A generic dependency graph and its parallel walker.

Nodes are any hashable values; the graph knows nothing about resources. An edge
`add_edge(dependent, dependency)` means *dependent waits for dependency*. The engine builds one
graph per operation, asks it for cycles (reported with their path, so a user sees
`local.a -> local.b -> local.a`), and walks it with `walk`: a bounded pool of threads runs a
visit function on each node once all of its dependencies succeeded. A failure skips everything
that depends on it, transitively, while independent work goes on; a cancel event stops new work
and lets the visits in flight finish.

The walker is driven by a ready queue guarded by one condition variable, so a node starts the
moment its last dependency finishes: there is no polling interval to add latency per node.
"""

from __future__ import annotations

import enum
import threading
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

N = TypeVar("N", bound=Hashable)


class CycleError(Exception):
    """The graph has at least one cycle; `cycles` holds each one as a path."""

    def __init__(self, cycles: list[list[Any]]):
        self.cycles = cycles
        super().__init__("; ".join(format_cycle(c) for c in cycles))


def format_cycle(cycle: list[Any]) -> str:
    """`a -> b -> a` for a cycle path as returned by `Graph.find_cycles`."""
    return " -> ".join(str(n) for n in cycle)


class Graph(Generic[N]):
    """A directed graph of dependencies. Iteration orders follow insertion order, so that
    everything derived from a graph (cycle reports, topological orders) is deterministic."""

    __slots__ = ("_deps", "_rdeps")

    def __init__(self) -> None:
        # node -> its dependencies / its dependents; dicts used as ordered sets.
        self._deps: dict[N, dict[N, None]] = {}
        self._rdeps: dict[N, dict[N, None]] = {}

    # -- building --------------------------------------------------------------------------

    def add_node(self, node: N) -> N:
        if node not in self._deps:
            self._deps[node] = {}
            self._rdeps[node] = {}
        return node

    def add_edge(self, dependent: N, dependency: N) -> None:
        """`dependent` waits for `dependency`. Both nodes are added when missing."""
        self.add_node(dependent)
        self.add_node(dependency)
        self._deps[dependent][dependency] = None
        self._rdeps[dependency][dependent] = None

    def remove_edge(self, dependent: N, dependency: N) -> None:
        self._deps.get(dependent, {}).pop(dependency, None)
        self._rdeps.get(dependency, {}).pop(dependent, None)

    def remove_node(self, node: N) -> None:
        for dep in self._deps.pop(node, {}):
            self._rdeps[dep].pop(node, None)
        for dependent in self._rdeps.pop(node, {}):
            self._deps[dependent].pop(node, None)

    def copy(self) -> Graph[N]:
        g: Graph[N] = Graph()
        g._deps = {n: dict(d) for n, d in self._deps.items()}
        g._rdeps = {n: dict(d) for n, d in self._rdeps.items()}
        return g

    # -- reading ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._deps)

    def __contains__(self, node: object) -> bool:
        return node in self._deps

    def __iter__(self) -> Iterator[N]:
        return iter(self._deps)

    def nodes(self) -> list[N]:
        return list(self._deps)

    def edges(self) -> list[tuple[N, N]]:
        """Every edge as (dependent, dependency)."""
        return [(n, d) for n, deps in self._deps.items() for d in deps]

    def edge_count(self) -> int:
        return sum(len(d) for d in self._deps.values())

    def has_edge(self, dependent: N, dependency: N) -> bool:
        return dependency in self._deps.get(dependent, {})

    def dependencies(self, node: N) -> list[N]:
        """What `node` waits for (direct only)."""
        return list(self._deps[node])

    def dependents(self, node: N) -> list[N]:
        """What waits for `node` (direct only)."""
        return list(self._rdeps[node])

    def roots(self) -> list[N]:
        """Nodes with no dependencies: the ones a walk starts with."""
        return [n for n, d in self._deps.items() if not d]

    def ancestors(self, *nodes: N) -> set[N]:
        """Everything the given nodes depend on, transitively (not the nodes themselves unless
        a cycle leads back to them). `--target X` keeps X plus `ancestors(X)`."""
        return self._closure(nodes, self._deps)

    def descendants(self, *nodes: N) -> set[N]:
        """Everything that depends on the given nodes, transitively. Destroying X with
        `--target` also destroys `descendants(X)`."""
        return self._closure(nodes, self._rdeps)

    @staticmethod
    def _closure(start: Iterable[N], adj: dict[N, dict[N, None]]) -> set[N]:
        seen: set[N] = set()
        stack = [m for n in start for m in adj[n]]
        while stack:
            n = stack.pop()
            if n in seen:
                continue
            seen.add(n)
            stack.extend(adj[n])
        return seen

    def subgraph(self, keep: Iterable[N]) -> Graph[N]:
        """The graph restricted to `keep` (edges between kept nodes only)."""
        keep_set = set(keep)
        g: Graph[N] = Graph()
        for n in self._deps:
            if n in keep_set:
                g.add_node(n)
        for n in g._deps:
            for d in self._deps[n]:
                if d in keep_set:
                    g.add_edge(n, d)
        return g

    def reverse(self) -> Graph[N]:
        """The same nodes with every edge turned around: the order in which to destroy."""
        g: Graph[N] = Graph()
        g._deps = {n: dict(d) for n, d in self._rdeps.items()}
        g._rdeps = {n: dict(d) for n, d in self._deps.items()}
        return g

    # -- analysis --------------------------------------------------------------------------

    def find_cycles(self) -> list[list[N]]:
        """Each cycle as a path that starts and ends with the same node, following dependency
        edges (`[a, b, a]`: a waits for b, which waits for a). One path is reported per
        strongly connected component, plus every self-loop."""
        cycles: list[list[N]] = []
        for comp in self._strongly_connected():
            if len(comp) == 1:
                n = comp[0]
                if n in self._deps[n]:
                    cycles.append([n, n])
                continue
            cycles.append(self._cycle_through(comp))
        return cycles

    def _cycle_through(self, comp: list[N]) -> list[N]:
        # The shortest cycle through the component's first node (in insertion order).
        members = set(comp)
        start = comp[0]
        prev: dict[N, N] = {}
        queue: deque[N] = deque([start])
        while queue:
            n = queue.popleft()
            for d in self._deps[n]:
                if d not in members:
                    continue
                if d == start:
                    path = [n]
                    while path[-1] != start:
                        path.append(prev[path[-1]])
                    path.reverse()
                    return [*path, start]
                if d not in prev:
                    prev[d] = n
                    queue.append(d)
        raise AssertionError("a strongly connected component without a cycle")

    def _strongly_connected(self) -> list[list[N]]:
        """Tarjan's algorithm, iterative so that long chains do not hit the recursion limit.
        Components come out in insertion order of their first node."""
        order = {n: i for i, n in enumerate(self._deps)}
        index: dict[N, int] = {}
        low: dict[N, int] = {}
        on_stack: set[N] = set()
        stack: list[N] = []
        comps: list[list[N]] = []
        counter = 0
        for root in self._deps:
            if root in index:
                continue
            work: list[tuple[N, Iterator[N]]] = [(root, iter(self._deps[root]))]
            index[root] = low[root] = counter
            counter += 1
            stack.append(root)
            on_stack.add(root)
            while work:
                node, it = work[-1]
                advanced = False
                for d in it:
                    if d not in index:
                        index[d] = low[d] = counter
                        counter += 1
                        stack.append(d)
                        on_stack.add(d)
                        work.append((d, iter(self._deps[d])))
                        advanced = True
                        break
                    if d in on_stack:
                        low[node] = min(low[node], index[d])
                if advanced:
                    continue
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    comp: list[N] = []
                    while True:
                        m = stack.pop()
                        on_stack.discard(m)
                        comp.append(m)
                        if m == node:
                            break
                    comp.sort(key=order.__getitem__)
                    comps.append(comp)
        comps.sort(key=lambda c: order[c[0]])
        return comps

    def topological_order(self) -> list[N]:
        """Every node after all of its dependencies (Kahn's algorithm, ties in insertion
        order). Raises CycleError naming the cycles when there is none."""
        remaining = {n: len(d) for n, d in self._deps.items()}
        queue: deque[N] = deque(n for n, c in remaining.items() if c == 0)
        out: list[N] = []
        while queue:
            n = queue.popleft()
            out.append(n)
            for m in self._rdeps[n]:
                remaining[m] -= 1
                if remaining[m] == 0:
                    queue.append(m)
        if len(out) != len(self._deps):
            raise CycleError(self.find_cycles())
        return out

    def transitive_reduction(self) -> Graph[N]:
        """The acyclic graph with every edge implied by a longer path removed: what `mlform
        graph` draws so that a picture stays readable."""
        order = self.topological_order()
        pos = {n: i for i, n in enumerate(order)}
        g = self.copy()
        for n in order:
            direct = sorted(self._deps[n], key=pos.__getitem__, reverse=True)
            reach: set[N] = set()
            for d in direct:
                if d in reach:
                    g.remove_edge(n, d)
                    continue
                reach.add(d)
                reach |= self.ancestors(d)
        return g


# -- the walker ----------------------------------------------------------------------------------


class Outcome(enum.Enum):
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"  # a dependency failed or was skipped
    NOT_STARTED = "not_started"  # the walk was cancelled before this node could start


@dataclass(frozen=True, slots=True)
class NodeResult:
    outcome: Outcome
    # The visit's return value when OK.
    value: Any = None
    # The exception the visit raised when FAILED.
    error: BaseException | None = None
    # For SKIPPED: the failed node that caused the skip (the root cause, not the nearest
    # skipped dependency).
    because: Any = None


@dataclass
class WalkResult(Generic[N]):
    results: dict[N, NodeResult] = field(default_factory=dict)
    cancelled: bool = False
    # Ctrl-C reached the walking thread: the walk stopped starting work, as if cancelled.
    interrupted: bool = False

    def outcome(self, node: N) -> Outcome:
        return self.results[node].outcome

    def _with(self, outcome: Outcome) -> list[N]:
        return [n for n, r in self.results.items() if r.outcome is outcome]

    @property
    def ok(self) -> list[N]:
        return self._with(Outcome.OK)

    @property
    def failed(self) -> dict[N, BaseException]:
        return {
            n: r.error
            for n, r in self.results.items()
            if r.outcome is Outcome.FAILED and r.error is not None
        }

    @property
    def skipped(self) -> dict[N, Any]:
        """Skipped node -> the failed node it was skipped because of."""
        return {n: r.because for n, r in self.results.items() if r.outcome is Outcome.SKIPPED}

    @property
    def not_started(self) -> list[N]:
        return self._with(Outcome.NOT_STARTED)

    @property
    def success(self) -> bool:
        """Every node visited without error."""
        return all(r.outcome is Outcome.OK for r in self.results.values())


_OK = NodeResult(Outcome.OK)


def walk(
    graph: Graph[N],
    visit: Callable[[N], Any],
    parallelism: int = 10,
    cancel: threading.Event | None = None,
) -> WalkResult[N]:
    """Visit every node once all of its dependencies were visited successfully, running up to
    `parallelism` visits at a time. A visit that raises fails its node; every node depending on
    it, transitively, is skipped and the rest goes on. Once `cancel` is set no new visit
    starts; visits in flight finish. Raises CycleError before visiting anything if the graph
    has a cycle. A KeyboardInterrupt in the calling thread cancels the walk the same way
    (`WalkResult.interrupted`); a second one while visits finish is raised."""
    if parallelism < 1:
        raise ValueError("parallelism must be at least 1")
    deps = graph._deps
    rdeps = graph._rdeps
    remaining: dict[N, int] = {n: len(d) for n, d in deps.items()}
    ready: deque[N] = deque(n for n, c in remaining.items() if c == 0)
    total = len(remaining)
    if total and not ready or _has_cycle(graph, remaining):
        raise CycleError(graph.find_cycles())

    result: WalkResult[N] = WalkResult()
    results = result.results
    cond = threading.Condition(threading.Lock())
    state = {"in_flight": 0, "settled": 0, "idle": 0}
    cancel_event = cancel if cancel is not None else threading.Event()

    def skip_from(failed: N) -> int:
        # Mark every transitive dependent of `failed` skipped; returns how many were marked.
        count = 0
        stack = list(rdeps[failed])
        while stack:
            m = stack.pop()
            if m in results:
                continue
            results[m] = NodeResult(Outcome.SKIPPED, because=failed)
            count += 1
            stack.extend(rdeps[m])
        return count

    def finished() -> bool:
        return state["settled"] == total or (cancel_event.is_set() and state["in_flight"] == 0)

    def worker() -> None:
        node: N | None = None
        with cond:
            while True:
                if node is not None and cancel_event.is_set():
                    ready.appendleft(node)
                    node = None
                if node is None:
                    while not ready or cancel_event.is_set():
                        if finished():
                            cond.notify_all()
                            return
                        state["idle"] += 1
                        cond.wait()
                        state["idle"] -= 1
                    node = ready.popleft()
                state["in_flight"] += 1
                cond.release()
                try:
                    try:
                        value = visit(node)
                        res = _OK if value is None else NodeResult(Outcome.OK, value=value)
                    except BaseException as exc:  # noqa: BLE001 - recorded for the caller
                        res = NodeResult(Outcome.FAILED, error=exc)
                finally:
                    cond.acquire()
                state["in_flight"] -= 1
                results[node] = res
                state["settled"] += 1
                nxt: N | None = None
                if res.outcome is Outcome.OK:
                    for m in rdeps[node]:
                        remaining[m] -= 1
                        if remaining[m] == 0 and m not in results:
                            # Keep the first newly ready node for this thread: no hand-off.
                            if nxt is None and not cancel_event.is_set():
                                nxt = m
                            else:
                                ready.append(m)
                else:
                    state["settled"] += skip_from(node)
                if ready and state["idle"]:
                    cond.notify(min(len(ready), state["idle"]))
                if finished():
                    cond.notify_all()
                    return
                node = nxt

    threads = [
        threading.Thread(target=worker, name=f"mlform-walk-{i}", daemon=True)
        for i in range(min(parallelism, max(total, 1)))
    ]
    interrupted = False
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    except KeyboardInterrupt:
        # The first Ctrl-C stops new work and lets the visits in flight finish; a second one,
        # while we wait for them, propagates and stops at once.
        interrupted = True
        cancel_event.set()
        with cond:
            cond.notify_all()
            while state["in_flight"]:
                cond.wait()
    for n in deps:
        if n not in results:
            results[n] = NodeResult(Outcome.NOT_STARTED)
    result.interrupted = interrupted
    result.cancelled = cancel_event.is_set() and any(
        r.outcome is Outcome.NOT_STARTED for r in results.values()
    )
    # Report in the graph's own order rather than completion order.
    result.results = {n: results[n] for n in deps}
    return result


def _has_cycle(graph: Graph[Any], remaining: dict[Any, int]) -> bool:
    """Whether Kahn's algorithm leaves nodes behind; cheap, linear."""
    counts = dict(remaining)
    queue = deque(n for n, c in counts.items() if c == 0)
    seen = 0
    while queue:
        n = queue.popleft()
        seen += 1
        for m in graph._rdeps[n]:
            counts[m] -= 1
            if counts[m] == 0:
                queue.append(m)
    return seen != len(counts)
