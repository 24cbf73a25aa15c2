"""The import job: runs an ImportRun's rows on the default queue, with progress on the row."""
from __future__ import annotations

from helpdesk import jobs
from helpdesk.extensions import db
from helpdesk.imports import services
from helpdesk.imports.models import ImportRun


@jobs.job(queue="default")
def run_import(run_id: int) -> None:
    """Import the run's file. A rerun after a crash resumes after the last committed batch."""
    run = db.session.get(ImportRun, run_id)
    if run is None:
        return
    services.execute(run)
