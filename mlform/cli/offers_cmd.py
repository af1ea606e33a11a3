"""`mlform offers [--gpu A100:8] [--provider aws] [--region R] [--spot] [--cpu N] [--memory GiB]
[--nodes N] [--max-price USD] [--json]`: the machines installed providers offer for a request,
with their prices, cheapest first (see `mlform.kinds.offers`)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from mlform.cli.common import handle_errors

if TYPE_CHECKING:
    from mlform.kinds.offers import Candidate, Offer


def _fail(summary: str, detail: str = "") -> None:
    from mlform.diagnostics import DiagnosticsError, error

    raise DiagnosticsError([error(summary, detail)])


def provider_offers(names: tuple[str, ...]) -> tuple[list[Offer], list[str]]:
    """The offers of the named providers (default: every installed one but `test`), and the
    names asked."""
    from mlform.sdk.plugins import PluginError, installed_providers, load_provider

    chosen = list(names) or [p.name for p in installed_providers() if p.name != "test"]
    offers: list[Offer] = []
    for name in chosen:
        try:
            cls = load_provider(name)
        except PluginError as exc:
            _fail(f'Provider "{name}" is not available', str(exc))
        try:
            offers.extend(cls().offers())
        except Exception as exc:  # noqa: BLE001 - a provider's bug is reported, not a traceback
            _fail(
                f'Provider "{name}" could not list its offers',
                f"{type(exc).__name__}: {exc}. This is a bug in the provider.",
            )
    return offers, chosen


def _dates(found: list[Candidate], offers: list[Offer]) -> str:
    dates: dict[str, set[str]] = {}
    for o in offers:
        if o.catalog_date:
            dates.setdefault(o.provider, set()).add(o.catalog_date)
    if not dates:
        return ""
    parts = [f"{p} as of {max(d)}" for p, d in sorted(dates.items())]
    return (
        f"Prices (USD per hour, all nodes): {'; '.join(parts)}. Prices change: see "
        "docs/offers.md to refresh a catalog.\n"
    )


@click.command("offers")
@click.option("--gpu", default="any", show_default=True, help='"A100:8", "H100", "any", "none".')
@click.option(
    "--provider",
    "providers",
    multiple=True,
    metavar="NAME",
    help="Only this provider's offers (repeatable). Default: every installed provider.",
)
@click.option("--region", default=None, help="Only offers in this region.")
@click.option("--spot", is_flag=True, help="Spot / preemptible prices instead of on-demand.")
@click.option("--cpu", default=None, metavar="N", help="At least this many vCPUs.")
@click.option(
    "--memory", default=None, metavar="SIZE", help='At least this memory: 64 (GiB), "256Gi".'
)
@click.option("--nodes", default=1, show_default=True, type=click.IntRange(min=1), help="Machines.")
@click.option(
    "--max-price",
    "max_price",
    default=None,
    type=click.FloatRange(min=0),
    metavar="USD",
    help="Only offers at most this much per hour (all nodes).",
)
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=0), help="0: all.")
@click.option("--json", "as_json", is_flag=True, help="Print the candidates as JSON.")
def command(
    gpu: str,
    providers: tuple[str, ...],
    region: str | None,
    spot: bool,
    cpu: str | None,
    memory: str | None,
    nodes: int,
    max_price: float | None,
    limit: int,
    as_json: bool,
) -> None:
    """List the machines that fit a request, with their prices, cheapest first.

    The request reads as a cluster's arguments do (gpu, cpu, memory, region, spot, nodes,
    max_price_per_hour); a cluster with them gets the first line. The local provider offers
    this host, at no cost, when it fits.

    \b
    Examples:
      mlform offers --gpu A100:8
      mlform offers --gpu H100:8 --provider aws --region us-west-2 --spot
      mlform offers --gpu T4 --cpu 16 --memory 64 --json
    """
    from mlform.kinds.offers import OfferRequest, candidates, offers_table

    with handle_errors():
        try:
            req = OfferRequest.from_args(
                {
                    "gpu": gpu,
                    "cpu": cpu,
                    "memory": float(memory) if _is_number(memory) else memory,
                    "region": region,
                    "spot": spot,
                    "nodes": nodes,
                    "max_price_per_hour": max_price,
                }
            )
        except ValueError as exc:
            _fail("Invalid request", f"{exc}.")
        offers, names = provider_offers(providers)
        found = candidates(offers, req)
        shown = found[:limit] if limit else found
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "request": req.describe(),
                        "providers": names,
                        "offers": [c.to_json() for c in shown],
                        "more": len(found) - len(shown),
                    },
                    indent=2,
                )
            )
            return
        if not found:
            click.echo(
                f"No offer of {', '.join(names) or 'any installed provider'} fits {req.describe()}."
            )
            if not offers:
                click.echo(
                    "None of these providers lists offers; cloud providers ship a catalog "
                    "(pip install mlform-provider-aws)."
                )
            return
        click.echo(offers_table(shown), nl=False)
        if len(found) > len(shown):
            click.echo(f"… and {len(found) - len(shown)} more (--limit 0 shows all).")
        click.echo("\n" + _dates(found, offers), nl=False)


def _is_number(text: str | None) -> bool:
    if text is None:
        return False
    try:
        float(text)
    except ValueError:
        return False
    return True
