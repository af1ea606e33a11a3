"""`mlform lineage ADDR [--serial N] [--downstream] [--format tree|json|dot|mermaid|html]`.

Upstream (the default): what produced ADDR at one serial, with every digest and the hardware.
Downstream: every job and deployment, in any serial, that consumed any version of ADDR.
"""

from __future__ import annotations

from typing import Any

import click

from mlform.cli.common import handle_errors


@click.command("lineage")
@click.argument("address", metavar="ADDR")
@click.option("--serial", type=int, default=None, help="Read this serial (default: the latest).")
@click.option(
    "--downstream",
    is_flag=True,
    help="Show what consumed any version of ADDR, across every serial.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["tree", "json", "dot", "mermaid", "html"]),
    default="tree",
    show_default=True,
    help="html: one self-contained page (redirect it to a file).",
)
def command(address: str, serial: int | None, downstream: bool, fmt: str) -> None:
    """Show what produced ADDR (a model, a deployment), or with --downstream what consumed it.

    \b
    Examples:
      mlform lineage deployment.api
      mlform lineage training_job.digits --serial 3 --format json
      mlform lineage dataset.digits --downstream
      mlform lineage deployment.api --format html > lineage.html
    """
    from mlform.cli.state_cmd import backend_and_workspace
    from mlform.lineage import fail
    from mlform.lineage import query as q
    from mlform.lineage.render import html_page, render

    with handle_errors():
        backend, ws = backend_and_workspace()
        try:
            if downstream:
                kept = q.serials(backend, ws)
                if serial is not None:
                    kept = [s for s in kept if s <= serial]
                states = (backend.read_serial(ws, s) for s in kept)
                graph = q.downstream(states, address, latest_serial=kept[-1] if kept else None)
            else:
                state = q.load_serial(backend, ws, serial)
                graph = q.upstream(state, address)
        except q.LineageError as exc:
            fail(exc.summary, exc.detail)
        if fmt == "html":
            click.echo(html_page(graph, _metrics_html(backend, ws, graph)), nl=False)
            return
        click.echo(render(graph, fmt), nl=False)


def _metrics_html(backend: Any, ws: str, graph: Any) -> str:
    """The metrics section of the lineage page: the training jobs of the graph across every
    serial (empty when none recorded metrics)."""
    from mlform.cli.metrics_cmd import metrics_section
    from mlform.lineage import metrics as m

    jobs = {n.addr for n in graph.nodes.values() if n.kind == "training_job"}
    if not jobs:
        return ""
    try:
        every = m.collect(backend, ws, None)  # one read of the history for every job
    except m.MetricsError:
        return ""
    series = [s for s in every if s.address in jobs]
    return metrics_section(series, m.png(series)) if series else ""
