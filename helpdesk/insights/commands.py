"""`flask insights refresh` and `flask insights rebuild`: the case facts behind the dashboards."""
from __future__ import annotations

import time

import click
from flask.cli import AppGroup

from helpdesk.extensions import db
from helpdesk.insights import rollups, services

insights_cli = AppGroup("insights", help="Keep the facts behind the insight dashboards up to date.")


@insights_cli.command("refresh")
def refresh_command() -> None:
    """Bring the facts up to date with what changed since the last refresh."""
    total = services.refresh_all(commit=db.session.commit)
    rollups.refresh_all(commit=db.session.commit)
    as_of = services.as_of()
    if as_of is None:
        click.echo("No facts yet: run `flask insights rebuild` first.", err=True)
        raise click.exceptions.Exit(1)
    click.echo(f"{total} cases brought up to date; as of {as_of:%Y-%m-%d %H:%M:%S} UTC.")


@insights_cli.command("rebuild")
@click.option("--batch", default=5000, show_default=True, help="Cases per batch (one commit each).")
def rebuild_command(batch: int) -> None:
    """Compute every case's facts and the daily rollup again from scratch (after a change of
    HELPDESK_TIMEZONE, or to repair). Dashboards show partial figures until it ends."""
    started = time.monotonic()

    def progress(done: int, total: int) -> None:
        db.session.commit()
        rate = done / max(time.monotonic() - started, 0.001)
        click.echo(f"{done:,}/{total:,} cases ({rate:,.0f}/s)")

    done = services.rebuild(batch=batch, progress=progress)
    db.session.commit()
    total = services.refresh_all(commit=db.session.commit)
    rollups.rebuild_all(commit=db.session.commit)
    click.echo(f"Rebuilt the facts of {done:,} cases in {time.monotonic() - started:,.0f} s"
               f" (and {total} changed meanwhile).")
