"""The self-service dashboard: the portal's deflection funnel (suggestions shown, articles opened,
forms abandoned, cases created). The knowledge base adds its searches as a section of its own.

Counts are form attempts (one visit of the new-case form), each counted once per step, on the
local day of its first event of that step; they are read from the funnel rollup that
deflection_rollup keeps up to date.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date

from flask import current_app
from sqlalchemy import and_, func, select

from helpdesk.cases.models import Case, Channel
from helpdesk.extensions import db
from helpdesk.insights.boards import link
from helpdesk.insights.case_drilldown import case_link
from helpdesk.insights.dashboard import (
    Cell,
    Chart,
    Dashboard,
    Figure,
    Filters,
    Section,
    Series,
    Table,
    format_count,
    format_percent,
)
from helpdesk.insights.models import deflection_articles, deflection_days
from helpdesk.satisfaction.models import DeflectionEvent, FunnelStep

E = DeflectionEvent
F, A = deflection_days.c, deflection_articles.c
STEPS = [FunnelStep.SUGGESTIONS_SHOWN, FunnelStep.ARTICLE_OPENED, FunnelStep.FORM_ABANDONED, FunnelStep.CASE_CREATED]
STEP_LABELS = {FunnelStep.SUGGESTIONS_SHOWN: "Suggestions shown", FunnelStep.ARTICLE_OPENED: "Article opened",
               FunnelStep.FORM_ABANDONED: "Form abandoned", FunnelStep.CASE_CREATED: "Case created"}
TOP = 10
NOTE = "Form attempts in the customer portal; group and agent filters do not apply."


def build(filters: Filters) -> Dashboard:
    totals = _totals(filters)
    after_shown = _after_suggestions(filters)
    shown = totals[FunnelStep.SUGGESTIONS_SHOWN]
    created = totals[FunnelStep.CASE_CREATED]
    portal_cases = case_link(filters, "created", channel=Channel.PORTAL.value)
    figures = [
        Figure("Suggestions shown", format_count(shown), shown, hint="form attempts that showed articles"),
        Figure("Article opened", format_count(totals[FunnelStep.ARTICLE_OPENED]), totals[FunnelStep.ARTICLE_OPENED]),
        Figure("Form abandoned", format_count(totals[FunnelStep.FORM_ABANDONED]), totals[FunnelStep.FORM_ABANDONED]),
        Figure("Case created", format_count(created), created, portal_cases,
               hint="links to the cases created in the portal in this range"),
        Figure("Shown, then abandoned", format_percent(after_shown[FunnelStep.FORM_ABANDONED], shown),
               _rate(after_shown[FunnelStep.FORM_ABANDONED], shown),
               hint=f"{format_count(after_shown[FunnelStep.FORM_ABANDONED])} of {format_count(shown)} "
                    "attempts with suggestions: likely answered"),
        Figure("Shown, then a case", format_percent(after_shown[FunnelStep.CASE_CREATED], shown),
               _rate(after_shown[FunnelStep.CASE_CREATED], shown),
               hint=f"{format_count(after_shown[FunnelStep.CASE_CREATED])} of {format_count(shown)} attempts with suggestions"),
    ]
    sections = [
        Section("Deflection funnel", [_funnel_table(totals, after_shown, portal_cases), _per_day_chart(filters)],
                note=NOTE),
        Section("Articles opened from suggestions", [_top_articles(filters)]),
        Section("Cases created from the portal form", [_recent_cases(filters)]),
    ]
    return Dashboard(key="self-service", title="Self-service", filters=filters, figures=figures, sections=sections)


# --- reading -----------------------------------------------------------------------------------
# From the funnel rollup (deflection_rollup); only the latest cases read the events themselves.


def _in_range(filters: Filters):
    return and_(E.created_at >= filters.start_at, E.created_at < filters.end_at)


def _days(filters: Filters):
    return and_(F.day >= filters.start, F.day <= filters.end)


def _totals(filters: Filters) -> dict[FunnelStep, int]:
    return _sum_by_step(filters, F.attempts)


def _after_suggestions(filters: Filters) -> dict[FunnelStep, int]:
    """Of the attempts that were first shown suggestions in the range, how many reached each step."""
    return _sum_by_step(filters, F.shown_then)


def _sum_by_step(filters: Filters, column) -> dict[FunnelStep, int]:
    rows = db.session.execute(select(F.step, func.sum(column)).where(_days(filters)).group_by(F.step)).all()
    counts = dict.fromkeys(STEPS, 0)
    counts.update({FunnelStep(step): int(n or 0) for step, n in rows})
    return counts


def _per_day(filters: Filters) -> dict[date, dict[FunnelStep, int]]:
    per_day: dict[date, dict[FunnelStep, int]] = defaultdict(lambda: dict.fromkeys(STEPS, 0))
    for day, step, n in db.session.execute(select(F.day, F.step, F.attempts).where(_days(filters))):
        per_day[day][FunnelStep(step)] += int(n)
    return per_day


# --- presenting --------------------------------------------------------------------------------


def _rate(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _funnel_table(totals: dict, after_shown: dict, portal_cases: str) -> Table:
    shown = totals[FunnelStep.SUGGESTIONS_SHOWN]
    rows = []
    for step in STEPS:
        n = totals[step]
        later = after_shown[step] if step != FunnelStep.SUGGESTIONS_SHOWN else shown
        rows.append([Cell(STEP_LABELS[step]),
                     Cell(n, format_count(n), portal_cases if step == FunnelStep.CASE_CREATED else None),
                     Cell(later, format_count(later)), Cell(_rate(later, shown), format_percent(later, shown))])
    return Table("funnel", "Funnel", ["Step", "Attempts", "Of those shown suggestions", "Share of shown"], rows)


def _per_day_chart(filters: Filters) -> Chart:
    per_day = _per_day(filters)
    days = filters.days
    series = [Series(STEP_LABELS[step], [per_day[d][step] if d in per_day else 0 for d in days]) for step in STEPS]
    return Chart("funnel-per-day", "Funnel per day", "line", [d.isoformat() for d in days], series, unit="attempts")


def _top_articles(filters: Filters) -> Table:
    """The articles customers opened from suggestions, and how often they still sent a case."""
    opened = func.sum(A.opened)
    rows = db.session.execute(
        select(A.article_id, opened, func.sum(A.then_case))
        .where(A.day >= filters.start, A.day <= filters.end)
        .group_by(A.article_id).order_by(opened.desc(), A.article_id).limit(TOP)).all()
    names = _article_names([article_id for article_id, _, _ in rows])
    table_rows = []
    for article_id, n, then_case in rows:
        n, then_case = int(n), int(then_case or 0)
        title, href = names.get(article_id, (f"Article #{article_id}", None))
        table_rows.append([Cell(title, href=href), Cell(int(n), format_count(n)), Cell(int(then_case), format_count(then_case)),
                           Cell(_rate(n - then_case, n), format_percent(n - then_case, n))])
    return Table("articles-opened", "Top articles opened from suggestions",
                 ["Article", "Opened", "Then created a case", "Deflected"], table_rows)


def _article_names(ids: list[int]) -> dict[int, tuple[str, str | None]]:
    """Titles and links of articles, from the knowledge base when it is loaded (the core cannot
    import it): app.extensions["insight_labels"]["article"](ids) -> {id: (title, href)}."""
    namer = current_app.extensions.get("insight_labels", {}).get("article")
    return namer(ids) if namer and ids else {}


def _recent_cases(filters: Filters) -> Table:
    rows = db.session.execute(
        select(Case.id, Case.number, Case.subject, E.created_at)
        .join(Case, Case.id == E.case_id)
        .where(E.step == FunnelStep.CASE_CREATED, _in_range(filters), Case.deleted_at.is_(None))
        .order_by(E.created_at.desc(), E.id.desc()).limit(20)).all()
    table_rows = [[Cell(number, href=link("cases.show", case_id=case_id)), Cell(subject),
                   Cell(created.astimezone(filters.tz).strftime("%Y-%m-%d %H:%M"))]
                  for case_id, number, subject, created in rows]
    return Table("portal-cases", "Latest cases created from the portal form", ["Case", "Subject", "Created"],
                 table_rows, note="The 20 most recent in the range.")
