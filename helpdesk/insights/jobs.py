"""Periodic jobs of the insights: bring the facts up to date; send scheduled reports."""
from __future__ import annotations

from datetime import timedelta

from helpdesk import jobs
from helpdesk.extensions import db


@jobs.periodic(every=timedelta(minutes=1))
def refresh_insights() -> int:
    """Bring the case facts and their daily rollup up to date, a batch per commit; then the
    chat, deflection and edge packages' rollups (insights.rollups)."""
    from helpdesk.insights import rollups, services

    done = services.refresh_all(commit=db.session.commit)
    rollups.refresh_all(commit=db.session.commit)
    return done


@jobs.periodic(every=timedelta(minutes=15))
def send_scheduled_reports() -> int:
    """Mail every scheduled report that is due, each once per period even when two sweeps
    overlap (a conditional UPDATE claims it); returns how many were sent."""
    from flask import current_app

    from helpdesk.insights import reports
    from helpdesk.types import utcnow

    now = utcnow()
    sent, failed = 0, []
    due = reports.due_reports(now)
    db.session.commit()  # end the read: each claim starts a transaction of its own
    for row in due:
        report_id = row.id
        try:
            sent += reports.send_due(row, now)
            db.session.commit()
        except Exception:
            # The claim rolls back with the mail, so the next sweep tries again; the other
            # reports still go out now.
            db.session.rollback()
            current_app.logger.exception("scheduled report %s failed", report_id)
            failed.append(report_id)
    if failed:
        raise RuntimeError(f"scheduled reports {failed} failed; they stay due")
    return sent
