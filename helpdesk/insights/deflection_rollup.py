"""Keeping the deflection funnel's rollup (insight_deflection_days, insight_deflection_articles)
up to date.

Funnel events are only ever added. An attempt counts on the local day of its first event of
each step (and of each article it opened), and its later steps count for the day it was first
shown suggestions; so a new event can change the rows of older days. A refresh finds the
attempts with events since the watermark (created_at, with an overlap for late commits) and
recomputes every day those attempts count on, from all the events of the attempts active that
day. Recomputing a day twice is harmless. The caller commits.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from sqlalchemy import delete, func, insert, select, text

from helpdesk.extensions import db
from helpdesk.insights.models import InsightState, deflection_articles, deflection_days
from helpdesk.insights import rollups
from helpdesk.insights.services import reporting_zone
from helpdesk.satisfaction.models import DeflectionEvent, FunnelStep
from helpdesk.types import utcnow

E = DeflectionEvent
MARK = "deflection_events"  # InsightState: at = the latest created_at seen; number = events within OVERLAP of it
OVERLAP = timedelta(minutes=5)
SHOWN, OPENED = FunnelStep.SUGGESTIONS_SHOWN.value, FunnelStep.ARTICLE_OPENED.value
CREATED = FunnelStep.CASE_CREATED.value
_ALL_STEPS = [s.value for s in FunnelStep]
_COLUMNS = (E.attempt, E.step, E.article_id, E.created_at)


def refresh(now: datetime | None = None) -> int:
    """Recompute the days the attempts with new events count on; how many days."""
    now = now or utcnow()
    _lock()
    state = db.session.get(InsightState, MARK)
    if state is None or state.at is None:
        rebuild(now=now)
        return -1
    new = db.session.execute(select(E.attempt, E.created_at)
                             .where(E.step.in_(_ALL_STEPS), E.created_at >= state.at - OVERLAP)).all()
    if not new:
        state.number = 0
        return 0
    if len(new) == state.number and all(at <= state.at for _, at in new):
        return 0  # the same events as last time: nothing committed since (late or not)
    tz = reporting_zone()
    attempts = sorted({attempt for attempt, _ in new})
    days: set[date] = set()
    for i in range(0, len(attempts), 500):
        rows = db.session.execute(select(*_COLUMNS).where(E.attempt.in_(attempts[i:i + 500]))).all()
        steps, articles = _aggregate(rows, tz)
        days.update(day for day, _ in steps)
        days.update(day for day, _ in articles)
    recompute_days(days)
    state.at = max(state.at, max(at for _, at in new))
    state.number = sum(1 for _, at in new if at >= state.at - OVERLAP)
    db.session.flush()
    return len(days)


def recompute_days(days: Iterable[date]) -> None:
    tz = reporting_zone()
    days = sorted(set(days))
    for day in days:
        start = datetime.combine(day, time.min, tz)
        end = datetime.combine(day + timedelta(days=1), time.min, tz)
        active = select(E.attempt).where(E.step.in_(_ALL_STEPS), E.created_at >= start, E.created_at < end)
        rows = db.session.execute(select(*_COLUMNS).where(E.attempt.in_(active))).all()
        steps, articles = _aggregate(rows, tz)
        db.session.execute(delete(deflection_days).where(deflection_days.c.day == day))
        db.session.execute(delete(deflection_articles).where(deflection_articles.c.day == day))
        _insert({k: v for k, v in steps.items() if k[0] == day}, {k: v for k, v in articles.items() if k[0] == day})


def rebuild(now: datetime | None = None) -> int:
    """Forget the funnel rollup and compute it again from every event (streamed by attempt)."""
    now = now or utcnow()
    _lock()
    latest = db.session.scalar(select(func.max(E.created_at)))
    db.session.execute(delete(deflection_days))
    db.session.execute(delete(deflection_articles))
    tz = reporting_zone()
    steps: dict = defaultdict(lambda: [0, 0])
    articles: dict = defaultdict(lambda: [0, 0])
    batch, current, count = [], None, 0
    for row in db.session.execute(select(*_COLUMNS).order_by(E.attempt, E.id).execution_options(yield_per=5000)):
        if row.attempt != current and len(batch) >= 5000:
            _merge(_aggregate(batch, tz), steps, articles)
            batch = []
        current = row.attempt
        batch.append(row)
        count += 1
    _merge(_aggregate(batch, tz), steps, articles)
    _insert(steps, articles)
    rollups.mark_rebuilt(MARK, latest or now)
    return count


# --- internals ---------------------------------------------------------------------------------


def _aggregate(rows, tz) -> tuple[dict, dict]:
    """{(day, step): [attempts, shown_then]} and {(day, article_id): [opened, then_case]} of
    the attempts whose events are `rows` (all the events of each attempt)."""
    first: dict[str, dict[str, datetime]] = defaultdict(dict)  # attempt -> step -> first event
    opened: dict[str, dict[int, datetime]] = defaultdict(dict)  # attempt -> article -> first opening
    for attempt, step, article_id, created_at in rows:
        step = FunnelStep(step).value
        seen = first[attempt].get(step)
        if seen is None or created_at < seen:
            first[attempt][step] = created_at
        if step == OPENED and article_id is not None:
            seen = opened[attempt].get(article_id)
            if seen is None or created_at < seen:
                opened[attempt][article_id] = created_at
    steps: dict = defaultdict(lambda: [0, 0])
    articles: dict = defaultdict(lambda: [0, 0])
    for attempt, by_step in first.items():
        shown = by_step.get(SHOWN)
        shown_day = shown.astimezone(tz).date() if shown else None
        for step, at in by_step.items():
            steps[(at.astimezone(tz).date(), step)][0] += 1
            if shown_day is not None:
                steps[(shown_day, step)][1] += 1
        for article_id, at in opened.get(attempt, {}).items():
            counts = articles[(at.astimezone(tz).date(), article_id)]
            counts[0] += 1
            if CREATED in by_step:
                counts[1] += 1
    return steps, articles


def _merge(found: tuple[dict, dict], steps: dict, articles: dict) -> None:
    for source, target in zip(found, (steps, articles)):
        for key, (a, b) in source.items():
            target[key][0] += a
            target[key][1] += b


def _insert(steps: dict, articles: dict) -> None:
    rows = [dict(day=day, step=step, attempts=a, shown_then=b) for (day, step), (a, b) in steps.items()]
    for i in range(0, len(rows), 5000):
        db.session.execute(insert(deflection_days), rows[i:i + 5000])
    rows = [dict(day=day, article_id=article, opened=a, then_case=b) for (day, article), (a, b) in articles.items()]
    for i in range(0, len(rows), 5000):
        db.session.execute(insert(deflection_articles), rows[i:i + 5000])


_LOCK_KEY = 7_301_008


def _lock() -> None:
    """One funnel refresh at a time (two would insert the same day's rows)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    else:
        db.session.execute(text("UPDATE insight_state SET number = number WHERE 0"))
