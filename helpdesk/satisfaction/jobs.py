"""Satisfaction jobs: ask the customer for a rating once a case is resolved."""
from __future__ import annotations

from helpdesk.cases.models import Case
from helpdesk.extensions import db
from helpdesk.jobs import job


@job(queue="default")
def request_rating(case_id: int) -> str:
    """Safe to run twice: the email's dedupe key is the case and its resolution time."""
    from helpdesk.satisfaction.services import request_rating as ask

    case = db.session.get(Case, case_id)
    if case is None:
        return "missing"
    email = ask(case)
    db.session.commit()
    return "asked" if email is not None else "not asked"
