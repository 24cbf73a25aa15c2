"""The SLA dashboard: compliance per policy, priority, group and agent; the breaches of the
period with their reasons; cases at risk and overdue now; time to breach."""
from __future__ import annotations

from sqlalchemy import func, select

from helpdesk.cases.models import Case, Priority
from helpdesk.extensions import db
from helpdesk.insights import queries, services
from helpdesk.insights.case_drilldown import DUE_BUCKETS, case_link, linker
from helpdesk.insights.dashboard import (
    Cell, Chart, Dashboard, Figure, Filters, Section, Series, Table, format_count, format_percent,
)
from helpdesk.insights.helpdesk_dashboard import _names, _ratio
from helpdesk.people.models import Group, User
from helpdesk.sla.models import Clock, EventKind, SLAEvent, SLAPolicy
from helpdesk.types import utcnow

BREACH_LIST = 200
NOTE = ("A clock counts on the day it was met (fulfilled in time) or breached; compliance is met "
        "out of met and breached.")


def build(filters: Filters) -> Dashboard:
    now = utcnow()
    by_group = {k[0]: t for k, t in queries.rollup(filters, "all", by=("group_id",)).items()}
    by_agent = {k[0]: t for k, t in queries.rollup(filters, "all", by=("agent_id",)).items()}
    totals = queries.total(by_group.values())
    due = queries.time_to_breach(filters, now)
    risk = queries.at_risk(filters, now)
    policy_rows = {k[0]: t for k, t in queries.rollup(filters, "policy").items()}
    by_clock = _breach_counts(filters, policy_rows)
    breaches = _newest_breaches(filters)
    breach_count = sum(by_clock.values())

    base = linker(filters)
    link = lambda metric, **dims: base(metric, board="sla", **dims)  # noqa: E731
    decided = totals.sla_met + totals.sla_breached
    figures = [
        Figure("SLA compliance", format_percent(totals.sla_met, decided), _ratio(totals.sla_met, decided),
               link("sla_met"), hint=f"{totals.sla_met:,} of {decided:,} clocks met"),
        Figure("First response compliance", format_percent(totals.fr_met, totals.fr_met + totals.fr_breached),
               _ratio(totals.fr_met, totals.fr_met + totals.fr_breached), link("sla_met", clock="first_response")),
        Figure("Resolution compliance", format_percent(totals.res_met, totals.res_met + totals.res_breached),
               _ratio(totals.res_met, totals.res_met + totals.res_breached), link("sla_met", clock="resolution")),
        Figure("Breaches", format_count(breach_count), breach_count, link("breached"), hint="recorded in the period"),
        Figure("At risk now", format_count(risk), risk, link("at_risk"), hint="past the warning, not yet due"),
        Figure("Overdue now", format_count(due["overdue"]), due["overdue"], link("overdue")),
    ]
    ttb = Chart(
        id="time-to-breach", title="Open cases by time to breach, now", kind="bar", unit="cases",
        labels=[label for label, _, _ in DUE_BUCKETS.values()],
        series=[Series("Cases", [due[b] for b in DUE_BUCKETS], [link("due", bucket=b) for b in DUE_BUCKETS])],
    )
    priority_rows = {k[0]: t for k, t in queries.rollup(filters, "priority").items()}
    policy_names = _names(SLAPolicy, policy_rows)
    sections = [
        Section("Now", [ttb]),
        Section("Compliance", [
            _compliance("by-policy", "By policy", "Policy", filters, "policy",
                        sorted(policy_rows.items(), key=lambda kv: str(policy_names.get(kv[0], "~"))),
                        lambda k: policy_names.get(k) or "(no policy)", int),
            _compliance("by-priority", "By priority", "Priority", filters, "priority",
                        sorted(priority_rows.items(), key=lambda kv: -int(kv[0])),
                        lambda k: str(Priority(int(k)).label), int),
            _compliance("by-group", "By group", "Group", filters, "group",
                        sorted(by_group.items(), key=lambda kv: -(kv[1].sla_met + kv[1].sla_breached)),
                        lambda k, n=_names(Group, by_group): n.get(k) or "(no group)", int),
            _compliance("by-agent", "By agent", "Agent", filters, "agent",
                        sorted(by_agent.items(), key=lambda kv: -(kv[1].sla_met + kv[1].sla_breached)),
                        lambda k, n=_names(User, by_agent): n.get(k) or "(unassigned)", int),
        ], note=NOTE),
        Section("Breaches", [_clock_table(filters, by_clock), _breach_table(filters, breaches)]),
    ]
    return Dashboard(key="sla", title="SLA", filters=filters, figures=figures, sections=sections,
                     as_of=services.as_of())


def _compliance(table_id, title, label, filters, dim, rows, name, cast) -> Table:
    out = []
    base = linker(filters)
    for key, t in rows:
        if not (t.sla_met + t.sla_breached):
            continue
        link = lambda metric, **more: base(metric, board="sla", **{dim: cast(key)}, **more)  # noqa: E731
        fr, res = t.fr_met + t.fr_breached, t.res_met + t.res_breached
        out.append([
            Cell(name(key)),
            Cell(_ratio(t.sla_met, t.sla_met + t.sla_breached), format_percent(t.sla_met, t.sla_met + t.sla_breached)),
            Cell(t.fr_met, format_count(t.fr_met), link("sla_met", clock="first_response")),
            Cell(t.fr_breached, format_count(t.fr_breached), link("sla_breached", clock="first_response")),
            Cell(_ratio(t.fr_met, fr), format_percent(t.fr_met, fr)),
            Cell(t.res_met, format_count(t.res_met), link("sla_met", clock="resolution")),
            Cell(t.res_breached, format_count(t.res_breached), link("sla_breached", clock="resolution")),
            Cell(_ratio(t.res_met, res), format_percent(t.res_met, res)),
        ])
    return Table(id=table_id, title=title, rows=out,
                 columns=[label, "Compliance", "First response met", "First response breached",
                          "First response compliance", "Resolution met", "Resolution breached",
                          "Resolution compliance"])


def _breach_scope(query, filters: Filters):
    query = query.where(SLAEvent.kind == EventKind.BREACHED.value, SLAEvent.at >= filters.start_at,
                        SLAEvent.at < filters.end_at)
    if filters.group_id or filters.agent_id:
        query = query.join(Case, Case.id == SLAEvent.case_id)
        if filters.group_id:
            query = query.where(Case.group_id == filters.group_id)
        if filters.agent_id:
            query = query.where(Case.assignee_id == filters.agent_id)
    return query


def _breach_counts(filters: Filters, policy_rows: dict) -> dict[tuple[str, int], int]:
    """{(clock, policy id or 0): breaches}: first response and resolution from the rollup (a
    case's clock counts once, on the day it was breached), next response from the events."""
    counts: dict[tuple[str, int], int] = {}
    for key, t in policy_rows.items():
        if t.fr_breached:
            counts[(Clock.FIRST_RESPONSE.value, int(key))] = t.fr_breached
        if t.res_breached:
            counts[(Clock.RESOLUTION.value, int(key))] = t.res_breached
    query = _breach_scope(select(SLAEvent.policy_id, func.count()), filters).where(
        SLAEvent.clock == Clock.NEXT_RESPONSE.value).group_by(SLAEvent.policy_id)
    for policy_id, n in db.session.execute(query):
        counts[(Clock.NEXT_RESPONSE.value, policy_id or 0)] = n
    return counts


def _newest_breaches(filters: Filters) -> list:
    """The newest breach events of the period, with their case."""
    newest = db.session.execute(
        _breach_scope(select(SLAEvent.id, SLAEvent.case_id, SLAEvent.clock, SLAEvent.at, SLAEvent.policy_id,
                             SLAEvent.reason), filters)
        .order_by(SLAEvent.at.desc(), SLAEvent.id.desc()).limit(BREACH_LIST)).all()
    cases = {}
    if newest:
        cases = {c.id: c for c in db.session.execute(
            select(Case.id, Case.number, Case.subject, Case.group_id, Case.assignee_id)
            .where(Case.id.in_({b.case_id for b in newest})))}
    return [(b, cases.get(b.case_id)) for b in newest]


def _clock_table(filters: Filters, counts: dict) -> Table:
    names = _names(SLAPolicy, {p for _, p in counts if p})
    rows = []
    for (clock, policy), n in sorted(counts.items(), key=lambda kv: -kv[1]):
        label = str(Clock(clock).label) if clock in Clock._value2member_map_ else str(clock)
        metric = "breached" if clock == Clock.NEXT_RESPONSE.value else "sla_breached"
        rows.append([
            Cell(label), Cell(names.get(policy) or "(no policy)"),
            Cell(n, format_count(n), case_link(filters, metric, board="sla", clock=clock, policy=policy or 0)),
        ])
    return Table(id="breaches-by-reason", title="Breaches by clock and policy", columns=["Clock missed", "Policy", "Breaches"],
                 rows=rows, note="The reason of a breach is the clock whose deadline passed, under its policy. A case's "
                      "first response or resolution counts once, on the day it was breached.")


def _breach_table(filters: Filters, breaches: list) -> Table:
    from helpdesk.insights.boards import link

    names = _names(SLAPolicy, {b.policy_id for b, _ in breaches if b.policy_id})
    rows = []
    for b, case in breaches:
        when = b.at.astimezone(filters.tz)
        case_cell = Cell(case.number if case else b.case_id, f"{case.number} {case.subject}" if case else str(b.case_id),
                         _case_href(link, b.case_id))
        rows.append([
            case_cell,
            Cell(str(Clock(b.clock).label) if b.clock in Clock._value2member_map_ else b.clock),
            Cell(when.strftime("%Y-%m-%d %H:%M"), when.strftime("%-d %b %Y %H:%M")),
            Cell(names.get(b.policy_id) or "(no policy)"),
            Cell(b.reason or ""),
        ])
    return Table(id="breaches", title=f"Breaches (newest {BREACH_LIST})", columns=["Case", "Clock", "When", "Policy", "Reason"],
                 rows=rows, note=f"Times in {filters.tz.key}.")


_SENTINEL = 987654321


def _case_href(link, case_id: int) -> str | None:
    """cases.show for the case: the URL built once with a stand-in id (200 rows, one build)."""
    global _case_path
    if _case_path is None:
        try:
            _case_path = link("cases.show", case_id=_SENTINEL)
        except Exception:  # noqa: BLE001 - a list without links is still a list
            return None
    return _case_path.replace(str(_SENTINEL), str(case_id))


_case_path: str | None = None
