"""`mlform metrics [ADDR] [--format table|json|png|html] [--out FILE]`: a training job's metrics
across the state history, one point per run."""

from __future__ import annotations

import base64
import html
import json
import struct
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mlform.cli.common import handle_errors

if TYPE_CHECKING:
    from mlform.lineage.metrics import Series


def metrics_html(series: list[Series], title: str) -> str:
    """A self-contained page: the chart (an inline PNG) and a table per job."""
    from mlform.lineage.metrics import png

    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>"
        "body{font-family:system-ui,sans-serif;margin:16px;color:#263238}"
        "table{border-collapse:collapse;font-size:12px;margin-bottom:12px}"
        "th,td{text-align:left;padding:2px 10px 2px 0}td{font-family:monospace}"
        "</style></head><body>"
        f"<h1>{html.escape(title)}</h1>{metrics_section(series, png(series))}</body></html>\n"
    )


def metrics_section(series: list[Series], chart: bytes) -> str:
    """The metrics of `series` as HTML: the chart and a table per job (run, who, CI run)."""
    from mlform.lineage.render import time_text

    width, height = struct.unpack(">II", chart[16:24])  # from the PNG's header
    # The chart is inside the page (an SVG image with a data: URL): nothing is loaded from
    # elsewhere, so the page can be mailed or archived as it is.
    parts = [
        '<section class="metrics" id="metrics"><h2>Metrics across serials</h2>'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="metrics chart"><image width="{width}" height="{height}" '
        f'href="data:image/png;base64,{base64.b64encode(chart).decode()}"/></svg>'
    ]
    for s in series:
        names = s.metric_names()
        head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
        rows = []
        for p in s.points:
            cells = "".join(
                f"<td>{p.metrics[n]:.6g}</td>" if n in p.metrics else "<td>-</td>" for n in names
            )
            rows.append(
                f"<tr><td>{p.serial}</td><td>{html.escape(time_text(p.at))}</td>"
                f"<td>{html.escape(p.run_id)}</td><td>{html.escape(p.who)}</td>"
                f"<td>{html.escape(p.ci)}</td>{cells}</tr>"
            )
        parts.append(
            f"<h3>{html.escape(s.address)}</h3><table><tr><th>serial</th><th>time</th>"
            f"<th>run</th><th>applied by</th><th>CI</th>{head}</tr>{''.join(rows)}</table>"
        )
    parts.append("</section>")
    return "".join(parts)


@click.command("metrics")
@click.argument("address", required=False, metavar="[ADDR]")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "png", "html"]),
    default="table",
    show_default=True,
    help="png: a line chart per metric; html: a page with the chart and the tables.",
)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to FILE instead of standard output (needed for png on a terminal).",
)
def command(address: str | None, fmt: str, out: Path | None) -> None:
    """Show a training job's metrics across the state history: one point per run.

    Without ADDR, every training job. Each run appears once, at the first serial that
    recorded it, with who applied it and from which CI run.

    \b
    Examples:
      mlform metrics training_job.digits
      mlform metrics --format json | jq '.[0].points[-1].metrics'
      mlform metrics training_job.digits --format png --out metrics.png
    """
    from mlform.cli.state_cmd import backend_and_workspace
    from mlform.lineage import fail
    from mlform.lineage import metrics as m

    with handle_errors():
        backend, ws = backend_and_workspace()
        backend.require_workspace(ws)
        try:
            series = m.collect(backend, ws, address)
        except m.MetricsError as exc:
            fail(exc.summary, exc.detail)
        data: bytes
        if fmt == "table":
            data = m.table(series).encode()
        elif fmt == "json":
            data = (json.dumps(m.to_json(series), indent=2) + "\n").encode()
        elif fmt == "png":
            data = m.png(series)
            if out is None and click.get_text_stream("stdout").isatty():
                fail(
                    "Refusing to write a PNG to the terminal",
                    "Give a file with --out metrics.png, or redirect the output.",
                )
        else:
            data = metrics_html(series, f"Metrics of {address or 'every training job'}").encode()
        if out is not None:
            out.write_bytes(data)
            click.echo(f"Wrote {out}", err=True)
        else:
            click.get_binary_stream("stdout").write(data)
