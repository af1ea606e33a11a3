"""`mlform graph`"""

from __future__ import annotations

import click

from mlform.cli.options import ordered_var_args, var_options


@click.command("graph")
@click.option(
    "--format", "fmt", type=click.Choice(["dot", "mermaid"]), default="dot", show_default=True
)
@click.option(
    "--plan", "with_plan", is_flag=True, help="Plan first and show each resource's planned action."
)
@click.option(
    "--all",
    "show_all",
    is_flag=True,
    help="Include variables, locals and outputs, not only resources and modules.",
)
@var_options
def command(fmt: str, with_plan: bool, show_all: bool) -> None:
    """Draw the dependency graph: which resources wait for which.

    \b
    Examples:
      mlform graph | dot -Tsvg > graph.svg
      mlform graph --format mermaid --plan
    """
    from mlform.engine.graph import ExpandNode, ProviderNode, ResourceNode
    from mlform.engine.operation import Operations

    ops = Operations()
    loaded = ops.load(ordered_var_args(), interactive=False, allow_missing=not with_plan)
    g = loaded.cg.graph
    actions: dict[str, str] = {}
    if with_plan:
        from mlform.engine.planner import PlanOptions

        with ops.open_session("plan", lock=False) as sess:
            result = ops.plan(loaded, sess.state, PlanOptions())
        for ch in result.plan.changes:
            key = str(ch.addr.abs_resource.config())
            prev = actions.get(key)
            sym = ch.action.symbol.strip() or "no-op"
            actions[key] = sym if prev in (None, sym) else "~"

    def keep(n: object) -> bool:
        if isinstance(n, ProviderNode):
            return False
        return show_all or isinstance(n, ResourceNode | ExpandNode)

    nodes = [n for n in g.nodes() if keep(n)]
    kept = set(nodes)
    # Edges through hidden nodes (locals, variables) are drawn as direct edges.
    edges: set[tuple[str, str]] = set()
    for n in nodes:
        stack = list(g.dependencies(n))
        seen = set()
        while stack:
            d = stack.pop()
            if d in seen:
                continue
            seen.add(d)
            if d in kept:
                edges.add((str(n), str(d)))
            elif not isinstance(d, ProviderNode):
                stack.extend(g.dependencies(d))

    def label(n: object) -> str:
        text = str(n)
        act = actions.get(text)
        return f"{act} {text}" if act else text

    if fmt == "dot":
        click.echo('digraph mlform {\n  rankdir = "RL";\n  node [shape = box];')
        for n in sorted(nodes, key=str):
            click.echo(f'  "{n}" [label = "{label(n)}"];')
        for a, b in sorted(edges):
            click.echo(f'  "{a}" -> "{b}";')
        click.echo("}")
    else:
        ids = {str(n): f"n{i}" for i, n in enumerate(sorted(nodes, key=str))}
        click.echo("flowchart RL")
        for n in sorted(nodes, key=str):
            click.echo(f'  {ids[str(n)]}["{label(n)}"]')
        for a, b in sorted(edges):
            click.echo(f"  {ids[a]} --> {ids[b]}")
