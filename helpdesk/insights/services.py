"""Keeping the case facts and their daily rollup up to date: incrementally from what changed
since the stored watermarks, or rebuilt from scratch. The caller commits (per batch)."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, delete, func, insert, or_, select, text

from helpdesk.cases.models import Activity, Case
from helpdesk.extensions import db
from helpdesk.insights import facts
from helpdesk.insights.models import MEASURES, CaseFact, DailyCases, InsightState
from helpdesk.people.models import Group
from helpdesk.satisfaction.models import Rating
from helpdesk.sla.models import SLAEvent, SLAPolicy
from helpdesk.sla.services import calendar_for
from helpdesk.types import utcnow

BATCH = 2000  # cases per batch: what one refresh call reads from each source at most
_FACT_COLUMNS = [c.name for c in CaseFact.__table__.columns]
_CASE_COLUMNS = (Case.id, Case.created_at, Case.first_response_at, Case.group_id, Case.assignee_id, Case.channel,
                 Case.priority, Case.product_id, Case.organization_id, Case.sla_policy_id, Case.deleted_at,
                 Case.merged_into_id, Case.is_open)
REFRESHED = "refreshed"
REBUILDING = "rebuilding"  # at: when the rebuild under way started


def reporting_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("TIMEZONE") or "UTC")


def as_of() -> datetime | None:
    """When the facts were last brought up to date (None: never)."""
    return db.session.scalar(select(InsightState.at).where(InsightState.name == REFRESHED))


# --- incremental -------------------------------------------------------------------------------


def refresh(now: datetime | None = None, limit: int = BATCH) -> int:
    """Bring the facts of the cases changed since the watermarks up to date: at most `limit`
    new rows of each source (case activity, SLA events by id; cases, ratings by update time).
    Returns how many cases were recomputed; call again (after a commit) until it returns 0."""
    now = now or utcnow()
    _lock()
    marks = _marks()
    if marks[REBUILDING][1] is not None:
        return 0  # a rebuild is under way (or broke off: run it again); it sets the watermarks
    ids: set[int] = set()

    rows = db.session.execute(select(Activity.id, Activity.case_id).where(Activity.id > marks["activities"][0])
                              .order_by(Activity.id).limit(limit)).all()
    if rows:
        ids.update(r.case_id for r in rows)
        marks["activities"] = (rows[-1].id, None)
    rows = db.session.execute(select(SLAEvent.id, SLAEvent.case_id).where(SLAEvent.id > marks["sla_events"][0])
                              .order_by(SLAEvent.id).limit(limit)).all()
    if rows:
        ids.update(r.case_id for r in rows)
        marks["sla_events"] = (rows[-1].id, None)
    for name, model, column, case_col in (("cases", Case, Case.updated_at, Case.id),
                                          ("ratings", Rating, Rating.updated_at, Rating.case_id)):
        last_id, last_at = marks[name]
        query = select(model.id, column.label("at"), case_col.label("case_id"))
        if last_at is not None:
            query = query.where(or_(column > last_at, and_(column == last_at, model.id > last_id)))
        rows = db.session.execute(query.order_by(column, model.id).limit(limit)).all()
        if rows:
            ids.update(r.case_id for r in rows)
            marks[name] = (rows[-1].id, rows[-1].at)
    ordered = sorted(ids)
    for i in range(0, len(ordered), 500):
        chunk = ordered[i:i + 500]
        update_cases(chunk, now)
    marks[REFRESHED] = (0, now)
    _store_marks(marks)
    return len(ordered)


AUTO_REBUILD_MAX = 50_000  # cases: more than that, the first build is the command's job


def refresh_all(now: datetime | None = None, commit: Callable[[], None] | None = None) -> int:
    """refresh() until nothing is left, calling `commit` after each batch; the total recomputed.

    Never built yet: a small help desk is built from scratch here; a big one waits for
    `flask insights rebuild` (minutes), and says so in the log."""
    if as_of() is None and _marks()[REBUILDING][1] is None:
        count = db.session.scalar(select(func.count(Case.id))) or 0
        if count > AUTO_REBUILD_MAX:
            current_app.logger.warning("insights: %s cases and no facts yet; run `flask insights rebuild`", count)
            return 0
        done = rebuild(now=now, progress=lambda *_: commit() if commit else None)
        if commit is not None:
            commit()
        return done
    total = 0
    while True:
        done = refresh(now)
        if commit is not None:
            commit()
        total += done
        if not done:
            return total


def update_cases(case_ids: Iterable[int], now: datetime | None = None) -> None:
    """Recompute the facts of these cases and move their rollup contributions."""
    now = now or utcnow()
    case_ids = list(case_ids)
    if not case_ids:
        return
    old = {row["case_id"]: row for row in db.session.execute(
        select(CaseFact.__table__).where(CaseFact.case_id.in_(case_ids))).mappings()}
    new = _compute(lambda column: column.in_(case_ids), now)
    delta: dict[tuple, list[int]] = {}
    for case_id in set(old) | set(new):
        facts.add_contribution(delta, old.get(case_id), -1)
        facts.add_contribution(delta, new.get(case_id), 1)
    if old:
        db.session.execute(delete(CaseFact).where(CaseFact.case_id.in_(list(old))))
    if new:
        db.session.execute(insert(CaseFact.__table__), list(new.values()))
    _apply(delta)


# --- from scratch ------------------------------------------------------------------------------


def rebuild(batch: int = 5000, progress: Callable[[int, int], None] | None = None,
            now: datetime | None = None) -> int:
    """Forget every fact and rollup row and compute them again from the cases, `batch` cases
    at a time; progress(done, total) is called after each batch (the command commits there).
    The watermarks are taken first, so what changes meanwhile is picked up by the next refresh."""
    now = now or utcnow()
    marks = {
        "activities": (db.session.scalar(select(func.max(Activity.id))) or 0, None),
        "sla_events": (db.session.scalar(select(func.max(SLAEvent.id))) or 0, None),
    }
    for name, model, column in (("cases", Case, Case.updated_at), ("ratings", Rating, Rating.updated_at)):
        last = db.session.execute(select(column, model.id).order_by(column.desc(), model.id.desc()).limit(1)).first()
        marks[name] = (last[1], last[0]) if last else (0, None)
    _lock()
    _store_marks({REBUILDING: (0, now)})
    db.session.execute(delete(DailyCases))
    db.session.execute(delete(CaseFact))
    total = db.session.scalar(select(func.count(Case.id))) or 0
    done, last_id = 0, 0
    while True:
        ids = db.session.scalars(select(Case.id).where(Case.id > last_id).order_by(Case.id).limit(batch)).all()
        if not ids:
            break
        lo, hi = ids[0], ids[-1]
        new = _compute(lambda column: column.between(lo, hi), now)
        if new:
            db.session.execute(insert(CaseFact.__table__), list(new.values()))
        delta: dict[tuple, list[int]] = {}
        for row in new.values():
            facts.add_contribution(delta, row)
        _apply(delta)
        last_id, done = hi, done + len(ids)
        if progress is not None:
            progress(done, total)
    marks[REFRESHED] = (0, now)
    marks[REBUILDING] = (0, None)
    _store_marks(marks)
    return done


# --- internals ---------------------------------------------------------------------------------


def _compute(cond: Callable, now: datetime) -> dict[int, dict]:
    """The fact rows of the cases picked by `cond(column)` (a condition on a case id column),
    read in four queries."""
    tz = reporting_zone()
    cases = db.session.execute(select(*_CASE_COLUMNS).where(cond(Case.id))).all()
    if not cases:
        return {}
    events = defaultdict(list)
    for e in db.session.execute(
        select(SLAEvent.case_id, SLAEvent.kind, SLAEvent.clock, SLAEvent.at, SLAEvent.due_at, SLAEvent.data)
        .where(cond(SLAEvent.case_id)).order_by(SLAEvent.case_id, SLAEvent.at, SLAEvent.id)
    ):
        events[e.case_id].append(e)
    changes = defaultdict(list)
    for a in db.session.execute(
        select(Activity.case_id, Activity.created_at, Activity.old, Activity.new)
        .where(cond(Activity.case_id), Activity.field == "status")
        .order_by(Activity.case_id, Activity.created_at, Activity.id)
    ):
        changes[a.case_id].append((a.created_at, a.old, a.new))
    ratings = {r.case_id: (r.score, r.created_at) for r in db.session.execute(
        select(Rating.case_id, Rating.score, Rating.created_at).where(cond(Rating.case_id)))}
    calendars = _calendars()
    out = {}
    for case in cases:
        calendar = calendars(case.sla_policy_id, case.group_id)
        out[case.id] = facts.compute(case, events.get(case.id, []), changes.get(case.id, []), ratings.get(case.id),
                                     calendar, tz, now)
    return out


def _calendars() -> Callable:
    """(sla_policy_id, group_id) -> the BusinessCalendar the case's clocks run on, as
    sla.services.case_calendar chooses it, read once per batch."""
    policy_hours = {p.id: p.business_hours for p in db.session.scalars(select(SLAPolicy))}
    group_hours = {g.id: g.business_hours for g in db.session.scalars(select(Group))}
    cache: dict = {}

    def calendar(policy_id, group_id):
        key = (policy_id, group_id)
        found = cache.get(key)
        if found is None:
            hours = policy_hours.get(policy_id) if policy_id else None
            if hours is None and group_id:
                hours = group_hours.get(group_id)
            found = cache[key] = calendar_for(hours)
        return found

    return calendar


def _apply(delta: dict[tuple, list[int]]) -> None:
    """Add the deltas (as facts.add_contribution collects them) to the rollup rows, with
    their "any group/agent" variants (rows created when missing)."""
    rows = []
    for (dimension, day, group_id, agent_id, key), values in facts.with_variants(delta).items():
        if not any(values):
            continue
        row = dict(zip(MEASURES, values))
        row.update(dimension=dimension, day=day, group_id=group_id, agent_id=agent_id, key=key)
        rows.append(row)
    if not rows:
        return
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert
    table = DailyCases.__table__
    stmt = upsert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["dimension", "group_id", "agent_id", "day", "key"],
        set_={m: table.c[m] + stmt.excluded[m] for m in MEASURES},
    )
    for i in range(0, len(rows), 5000):
        db.session.execute(stmt, rows[i:i + 5000])


_SOURCES = ("activities", "sla_events", "cases", "ratings", REFRESHED, REBUILDING)


def _lock() -> None:
    """One refresh or rebuild at a time: each moves rollup counts by deltas, so two at once
    would count a change twice. PostgreSQL: a transaction-scoped advisory lock; SQLite: take
    the write lock before reading (an UPDATE that changes nothing)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    else:
        db.session.execute(text("UPDATE insight_state SET number = number WHERE 0"))


_LOCK_KEY = 7_301_001  # any constant, the same in every process of the app


def _marks() -> dict[str, tuple[int, datetime | None]]:
    found = {s.name: (s.number, s.at) for s in db.session.scalars(select(InsightState))}
    return {name: found.get(name, (0, None)) for name in _SOURCES}


def _store_marks(marks: dict[str, tuple[int, datetime | None]]) -> None:
    existing = {s.name: s for s in db.session.scalars(select(InsightState))}
    for name, (number, at) in marks.items():
        state = existing.get(name)
        if state is None:
            db.session.add(InsightState(name=name, number=number, at=at))
        else:
            state.number, state.at = number, at
    db.session.flush()
