"""Reads of satisfaction for managers and the portal."""
from __future__ import annotations

from sqlalchemy import func, select

from helpdesk.extensions import db
from helpdesk.satisfaction.models import DeflectionEvent, FunnelStep, Rating


def rating_of_case(case_id: int) -> Rating | None:
    return db.session.scalar(select(Rating).where(Rating.case_id == case_id))


def funnel_counts() -> dict[FunnelStep, int]:
    """How many form attempts reached each step (distinct attempts)."""
    rows = db.session.execute(
        select(DeflectionEvent.step, func.count(func.distinct(DeflectionEvent.attempt))).group_by(DeflectionEvent.step)
    ).all()
    counts = {step: 0 for step in FunnelStep}
    counts.update({FunnelStep(step): n for step, n in rows})
    return counts
