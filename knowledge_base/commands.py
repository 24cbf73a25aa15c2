"""`flask kb ...`: rebuild the search indexes."""
from __future__ import annotations

import time

import click
from flask import current_app
from flask.cli import AppGroup

from helpdesk import jobs as helpdesk_jobs

cli = AppGroup("kb", help="Knowledge base and search.")


@cli.command("reindex")
@click.option("--queue", is_flag=True, help="Put the rebuild on the `search` queue instead of running it here.")
def reindex_command(queue: bool) -> None:
    """Rebuild the article and case indexes from the database, with a progress bar.

    It runs the `search` queue's own job in this process; stop the search worker meanwhile when
    it is busy, or use --queue to let the worker do it.
    """
    from knowledge_base.jobs import reindex_all

    if queue:
        if helpdesk_jobs.redis_connection() is None:
            raise click.UsageError("--queue needs HELPDESK_REDIS_URL; without Redis the rebuild runs here.")
        helpdesk_jobs.enqueue(reindex_all)
        click.echo("The rebuild is on the search queue.")
        return
    bars: dict[str, click.progressbar] = {}
    started = time.monotonic()

    def progress(what: str, done: int, total: int) -> None:
        bar = bars.get(what)
        if bar is None:
            bar = bars[what] = click.progressbar(length=max(total, 1), label=f"Indexing {what}", show_pos=True)
            bar.__enter__()
        bar.update(done - bar.pos)
        if done >= total:
            bar.__exit__(None, None, None)

    counts = reindex_all(progress=progress)
    for bar in bars.values():
        if not bar.finished:
            bar.__exit__(None, None, None)
    click.echo(f"Indexed {counts['articles']} articles and {counts['cases']} cases in "
               f"{time.monotonic() - started:.1f} s into {current_app.config['KB_SEARCH_INDEX_DIR']}.")
