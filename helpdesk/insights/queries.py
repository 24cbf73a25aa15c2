"""Reads the help desk and SLA dashboards share: sums of the daily rollup, live counts of open cases."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select, text

from helpdesk.cases.models import Case
from helpdesk.extensions import db
from helpdesk.insights.case_drilldown import AGE_BUCKETS, DUE_BUCKETS, live_open
from helpdesk.insights.dashboard import Filters
from helpdesk.insights.facts import ANY
from helpdesk.insights.models import MEASURES, DailyCases
from helpdesk.people.models import Group, User
from helpdesk.types import UTCDateTime


class Totals:
    """The summed measures of some rollup rows, with the ratios the dashboards show."""

    __slots__ = MEASURES

    def __init__(self, values: Iterable[int | None] = ()):
        values = list(values) or [0] * len(MEASURES)
        for name, value in zip(MEASURES, values):
            setattr(self, name, int(value or 0))

    def add(self, other: Totals) -> None:
        for name in MEASURES:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def avg(self, name: str) -> float | None:
        count = self.frt_count if name.startswith("frt") else self.res_count
        return getattr(self, name) / count if count else None

    @property
    def sla_met(self) -> int:
        return self.fr_met + self.res_met

    @property
    def sla_breached(self) -> int:
        return self.fr_breached + self.res_breached


def rollup(filters: Filters, dimension: str = "all", by: Iterable[str] = ("key",)) -> dict[tuple, Totals]:
    """{(values of `by`...): Totals} over the filters' days, group and agent. `by` may name
    group_id or agent_id: the rows split by that column (within the other filter)."""
    by = list(by)
    columns = [getattr(DailyCases, name) for name in by]
    sums = [func.sum(getattr(DailyCases, m)) for m in MEASURES]
    query = select(*columns, *sums).where(DailyCases.dimension == dimension, DailyCases.day >= filters.start,
                                          DailyCases.day <= filters.end)
    for name, wanted in (("group_id", filters.group_id), ("agent_id", filters.agent_id)):
        column = getattr(DailyCases, name)
        if name in by:
            # Every group (or agent) and none, spelled as a list so the key is sought per value.
            model = Group if name == "group_id" else User
            query = query.where(column == wanted) if wanted else \
                query.where(column.in_([0, *db.session.scalars(select(model.id).order_by(model.id))]))
        else:
            query = query.where(column == (wanted or ANY))
    n = len(columns)
    return {tuple(row[:n]): Totals(row[n:]) for row in db.session.execute(query.group_by(*columns))}


def total(rows: Iterable[Totals]) -> Totals:
    out = Totals()
    for row in rows:
        out.add(row)
    return out


def _case_scope(query, filters: Filters):
    if filters.group_id:
        query = query.where(Case.group_id == filters.group_id)
    if filters.agent_id:
        query = query.where(Case.assignee_id == filters.agent_id)
    return query


def _bucket_counts(column: str, index: str, bounds: dict[str, tuple], filters: Filters) -> dict[str, int]:
    """Live open cases per bucket of `column` (name -> (lower, upper) instants, either None),
    one range count each, so each reads its slice of the live-open `index`, in one statement.
    Written out because SQLite must be told the index (it would take is_open's, whose rows
    it then has to read) and SQLAlchemy renders no index hints for SQLite."""
    sqlite = db.session.get_bind().dialect.name == "sqlite"
    live = f"is_open IS {'1' if sqlite else 'true'} AND deleted_at IS NULL AND merged_into_id IS NULL"
    params: dict = {}
    if filters.group_id:
        live += " AND group_id = :group_id"
        params["group_id"] = filters.group_id
    if filters.agent_id:
        live += " AND assignee_id = :agent_id"
        params["agent_id"] = filters.agent_id
    source = f"cases INDEXED BY {index}" if sqlite else "cases"
    parts, binds = [], []
    for i, (low, high) in enumerate(bounds.values()):
        where = [live, f"{column} IS NOT NULL"]
        if low is not None:
            where.append(f"{column} > :low{i}")
            params[f"low{i}"] = low
            binds.append(bindparam(f"low{i}", type_=UTCDateTime))
        if high is not None:
            where.append(f"{column} <= :high{i}")
            params[f"high{i}"] = high
            binds.append(bindparam(f"high{i}", type_=UTCDateTime))
        parts.append(f"(SELECT count(*) FROM {source} WHERE {' AND '.join(where)})")
    row = db.session.execute(text(f"SELECT {', '.join(parts)}").bindparams(*binds), params).one()
    return dict(zip(bounds, (int(n or 0) for n in row)))


def backlog_by_age(filters: Filters, now: datetime) -> dict[str, int]:
    """Live open cases now, by age bucket (through the live-open created_at index)."""
    bounds = {name: (None if high is None else now - timedelta(hours=high), now - timedelta(hours=low))
              for name, (_, low, high) in AGE_BUCKETS.items()}
    return _bucket_counts("created_at", "ix_cases_live_open_created", bounds, filters)


def time_to_breach(filters: Filters, now: datetime) -> dict[str, int]:
    """Live open cases with a running SLA clock now, by time until the soonest deadline
    (through the live-open sla_due_at index)."""
    bounds = {name: (None if low is None else now + timedelta(hours=low),
                     None if high is None else now + timedelta(hours=high))
              for name, (_, low, high) in DUE_BUCKETS.items()}
    bounds["overdue"] = (None, now)
    return _bucket_counts("sla_due_at", "ix_cases_live_open_due", bounds, filters)


def at_risk(filters: Filters, now: datetime) -> int:
    query = _case_scope(live_open(select(func.count())).where(Case.sla_warn_at <= now, Case.sla_due_at > now), filters)
    return db.session.scalar(query) or 0
