"""The help desk dashboard: new, solved and open cases, response and resolution times in
business and calendar time, reopen rate, breakdowns, agent performance and satisfaction."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from sqlalchemy import func, select

from helpdesk.assets.models import Product
from helpdesk.cases.models import Case, Channel, Priority
from helpdesk.contracts.models import TimeLog
from helpdesk.extensions import db
from helpdesk.insights import queries, services
from helpdesk.insights.case_drilldown import AGE_BUCKETS, case_link, linker
from helpdesk.insights.dashboard import (
    Cell, Chart, Dashboard, Figure, Filters, Section, Series, Table, format_count, format_minutes, format_percent,
)
from helpdesk.insights.queries import Totals
from helpdesk.people.models import Group, Organization, User
from helpdesk.types import utcnow

TOP = 20
TIME_NOTE = "Business time runs on each case's SLA calendar and leaves out paused spells; calendar time is wall time."


def build(filters: Filters) -> Dashboard:
    now = utcnow()
    by_day = {k[0]: t for k, t in queries.rollup(filters, "all", by=("day",)).items()}
    totals = queries.total(by_day.values())
    by_group = {k[0]: t for k, t in queries.rollup(filters, "all", by=("group_id",)).items()}
    by_agent = {k[0]: t for k, t in queries.rollup(filters, "all", by=("agent_id",)).items()}
    ages = queries.backlog_by_age(filters, now)
    open_now = sum(ages.values())

    link = linker(filters)
    figures = [
        Figure("New", format_count(totals.created), totals.created, link("created")),
        Figure("Solved", format_count(totals.solved), totals.solved, link("solved")),
        Figure("Open now", format_count(open_now), open_now, link("open")),
        Figure("Backlog change", f"{totals.created - totals.solved:+,}", totals.created - totals.solved, None,
               hint="new minus solved in the period"),
        Figure("First response (average)", format_minutes(totals.avg("frt_business_minutes")),
               _round(totals.avg("frt_business_minutes")), link("responded"), hint="business time"),
        Figure("First response (average)", format_minutes(totals.avg("frt_minutes")),
               _round(totals.avg("frt_minutes")), link("responded"), hint="calendar time"),
        Figure("Resolution (average)", format_minutes(totals.avg("res_business_minutes")),
               _round(totals.avg("res_business_minutes")), link("solved"), hint="business time"),
        Figure("Resolution (average)", format_minutes(totals.avg("res_minutes")),
               _round(totals.avg("res_minutes")), link("solved"), hint="calendar time"),
        Figure("Reopen rate", format_percent(totals.reopened, totals.solved), _ratio(totals.reopened, totals.solved),
               link("reopened"), hint=f"{totals.reopened:,} of {totals.solved:,} solved were reopened"),
        Figure("Satisfaction", format_percent(totals.rating_good, totals.rated), _ratio(totals.rating_good, totals.rated),
               link("rated_good"), hint=f"rated 4–5 in {totals.rated:,} ratings"),
    ]

    days = filters.days
    empty = Totals()
    volume = Chart(
        id="new-solved", title="New and solved per day", kind="line", unit="cases",
        labels=[d.isoformat() for d in days],
        series=[
            Series("New", [by_day.get(d, empty).created for d in days], [link("created", day=d) for d in days]),
            Series("Solved", [by_day.get(d, empty).solved for d in days], [link("solved", day=d) for d in days]),
        ],
    )
    age = Chart(
        id="backlog-age", title="Open cases by age, now", kind="bar", unit="cases",
        labels=[label for label, _, _ in AGE_BUCKETS.values()],
        series=[Series("Open cases", [ages[b] for b in AGE_BUCKETS], [link("backlog", bucket=b) for b in AGE_BUCKETS])],
    )
    satisfaction = _satisfaction_trend(filters, by_day)

    sections = [
        Section("Volume", [volume, age]),
        Section("Satisfaction", [satisfaction]),
        Section("Breakdowns", [
            _table("by-group", "By group", "Group", by_group, _names(Group, by_group), filters, "group"),
            _dimension_table("by-channel", "By channel", "Channel", filters, "channel",
                             lambda keys: {k: str(Channel(k).label) for k in keys if k in Channel._value2member_map_}),
            _dimension_table("by-priority", "By priority", "Priority", filters, "priority",
                             lambda keys: {k: str(Priority(int(k)).label) for k in keys}, order="key"),
            _dimension_table("by-product", f"By product (top {TOP})", "Product", filters, "product",
                             lambda keys: _names(Product, keys), top=TOP),
            _dimension_table("by-organization", f"By organization (top {TOP})", "Organization", filters,
                             "organization", lambda keys: _names(Organization, keys), top=TOP),
        ], note=TIME_NOTE),
        Section("Agents", [_agents_table(filters, by_agent)], note=TIME_NOTE),
    ]
    return Dashboard(key="helpdesk", title="Help desk", filters=filters, figures=figures, sections=sections,
                     as_of=services.as_of())


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _ratio(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


COLUMNS = ["New", "Solved", "Reopen rate", "First response (business)", "First response (calendar)",
           "Resolution (business)", "Resolution (calendar)", "Satisfaction"]


def _row(name: str, t: Totals, filters: Filters, dims: dict) -> list[Cell]:
    base = linker(filters)
    link = lambda metric: base(metric, **dims)  # noqa: E731
    return [
        Cell(name),
        Cell(t.created, format_count(t.created), link("created")),
        Cell(t.solved, format_count(t.solved), link("solved")),
        Cell(_ratio(t.reopened, t.solved), format_percent(t.reopened, t.solved), link("reopened")),
        Cell(_round(t.avg("frt_business_minutes")), format_minutes(t.avg("frt_business_minutes")), link("responded")),
        Cell(_round(t.avg("frt_minutes")), format_minutes(t.avg("frt_minutes")), link("responded")),
        Cell(_round(t.avg("res_business_minutes")), format_minutes(t.avg("res_business_minutes")), link("solved")),
        Cell(_round(t.avg("res_minutes")), format_minutes(t.avg("res_minutes")), link("solved")),
        Cell(_ratio(t.rating_good, t.rated), format_percent(t.rating_good, t.rated), link("rated")),
    ]


def _table(table_id: str, title: str, label: str, rows: dict, names: dict, filters: Filters, dim: str) -> Table:
    ordered = sorted(rows.items(), key=lambda kv: (-kv[1].created, -kv[1].solved, str(names.get(kv[0], ""))))
    return Table(id=table_id, title=title, columns=[label, *COLUMNS],
                 rows=[_row(names.get(k) or f"(no {label.lower()})", t, filters, {dim: k}) for k, t in ordered])


def _dimension_table(table_id: str, title: str, label: str, filters: Filters, dimension: str, namer,
                     top: int | None = None, order: str = "volume") -> Table:
    rows = {k[0]: t for k, t in queries.rollup(filters, dimension).items()}
    if order == "key":
        ordered = sorted(rows.items(), key=lambda kv: -int(kv[0]))
    else:
        ordered = sorted(rows.items(), key=lambda kv: (-kv[1].created, -kv[1].solved, kv[0]))
    if top:
        ordered = ordered[:top]
    names = namer([k for k, _ in ordered if k != "0"]) if ordered else {}
    out = []
    for key, totals in ordered:
        name = names.get(key) or names.get(int(key) if key.isdigit() else key) or f"(no {label.lower()})"
        dim_value = key if dimension == "channel" else int(key)
        out.append(_row(name, totals, filters, {dimension: dim_value}))
    return Table(id=table_id, title=title, columns=[label, *COLUMNS], rows=out)


def _names(model, keys) -> dict:
    ids = [int(k) for k in keys if k and str(k) != "0"]
    if not ids:
        return {}
    found = dict(db.session.execute(select(model.id, model.name).where(model.id.in_(ids))).all())
    return {**found, **{str(k): v for k, v in found.items()}}


def _agents_table(filters: Filters, by_agent: dict) -> Table:
    hours = _hours_logged(filters)
    ids = sorted(set(by_agent) | set(hours))
    names = _names(User, ids)
    rows = []
    base = linker(filters)
    for agent_id in sorted(ids, key=lambda a: (-(by_agent.get(a) or Totals()).solved, names.get(a, "~"))):
        t = by_agent.get(agent_id) or Totals()
        link = lambda metric: base(metric, agent=agent_id)  # noqa: E731
        minutes = hours.get(agent_id, 0)
        rows.append([
            Cell(names.get(agent_id) or "(unassigned)"),
            Cell(t.solved, format_count(t.solved), link("solved")),
            Cell(_round(t.avg("frt_business_minutes")), format_minutes(t.avg("frt_business_minutes")), link("responded")),
            Cell(_round(t.avg("frt_minutes")), format_minutes(t.avg("frt_minutes")), link("responded")),
            Cell(_round(t.avg("res_business_minutes")), format_minutes(t.avg("res_business_minutes")), link("solved")),
            Cell(_round(t.avg("res_minutes")), format_minutes(t.avg("res_minutes")), link("solved")),
            Cell(_ratio(t.rating_good, t.rated), format_percent(t.rating_good, t.rated), link("rated")),
            Cell(round(minutes / 60, 1), f"{minutes / 60:,.1f} h"),
        ])
    return Table(id="agents", title="Agent performance", rows=rows,
                 columns=["Agent", "Cases solved", "First response (business)", "First response (calendar)",
                          "Resolution (business)", "Resolution (calendar)", "Satisfaction", "Hours logged"],
                 note="Cases count for the agent they are assigned to now; hours are the time logged in the period.")


def _hours_logged(filters: Filters) -> dict[int, int]:
    query = (select(TimeLog.user_id, func.sum(TimeLog.minutes))
             .where(TimeLog.started_at >= filters.start_at, TimeLog.started_at < filters.end_at)
             .group_by(TimeLog.user_id))
    if filters.agent_id:
        query = query.where(TimeLog.user_id == filters.agent_id)
    if filters.group_id:
        query = query.join(Case, Case.id == TimeLog.case_id).where(Case.group_id == filters.group_id)
    return {user_id: int(minutes or 0) for user_id, minutes in db.session.execute(query)}


def _satisfaction_trend(filters: Filters, by_day: dict[date, Totals]) -> Chart:
    weeks: list[date] = []
    good: dict[date, int] = {}
    rated: dict[date, int] = {}
    for d in filters.days:
        week = d - timedelta(days=d.weekday())
        if week not in good:
            weeks.append(week)
            good[week] = rated[week] = 0
        t = by_day.get(d)
        if t is not None:
            good[week] += t.rating_good
            rated[week] += t.rated
    hrefs = []
    for week in weeks:
        sub = replace(filters, start=max(week, filters.start), end=min(week + timedelta(days=6), filters.end))
        hrefs.append(case_link(sub, "rated"))
    return Chart(
        id="satisfaction-trend", title="Satisfaction per week (rated 4–5)", kind="line", unit="%",
        labels=[f"Week of {w.isoformat()}" for w in weeks],
        series=[
            Series("Satisfied %", [_ratio(good[w], rated[w]) for w in weeks], hrefs),
        ],
    )
