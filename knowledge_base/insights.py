"""The knowledge base's part of the self-service insights: searches, zero-result queries and
article feedback in the range, and article titles for the core's deflection tables.

Searches are read from their rollup (kb_search_days, kb_search_queries: per local day of the
reporting time zone, and per day and query), which refresh_searches keeps up to date from the
search log; the insights' periodic job and `flask insights rebuild` call it (insights.rollups)."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, time, timedelta

from flask import Flask
from sqlalchemy import Date, and_, case, delete, func, insert, literal, select, text, union_all

from helpdesk.extensions import db
from helpdesk.insights.boards import link
from helpdesk.insights.dashboard import Cell, Chart, Figure, Filters, Section, Series, Table, format_count, format_percent
from helpdesk.insights.localtime import month_pieces
from helpdesk.insights.models import InsightState
from helpdesk.insights.rollups import Rollup, mark_rebuilt
from helpdesk.insights.services import reporting_zone
from helpdesk.types import utcnow
from knowledge_base.models import (
    Article,
    ArticleFeedback,
    SearchLogEntry,
    kb_search_days,
    kb_search_queries,
    kb_search_query_months,
)

S = SearchLogEntry
D, Q, M = kb_search_days, kb_search_queries, kb_search_query_months
TOP = 20
CUSTOMER_AUDIENCES = ("public", "customer")


def init_app(app: Flask) -> None:
    """Add the searches to the self-service dashboard and name articles in its tables; keep
    the searches' rollup with the insights' others."""
    app.extensions.setdefault("insight_sections", {}).setdefault("self-service", []).append(searches_section)
    app.extensions.setdefault("insight_labels", {})["article"] = article_labels
    app.extensions.setdefault("insight_rollups", []).append(Rollup("kb-searches", refresh_searches, rebuild_searches))


def article_labels(ids: list[int]) -> dict[int, tuple[str, str]]:
    rows = db.session.execute(select(Article.id, Article.title).where(Article.id.in_(ids))).all()
    return {article_id: (title, link("kb.show_article", article_id=article_id)) for article_id, title in rows}


def searches_section(filters: Filters) -> Section:
    searches, zero = _totals(filters)
    helpful, not_helpful = _feedback_totals(filters)
    figures = [
        Figure("Searches", format_count(searches), searches),
        Figure("Zero-result rate", format_percent(zero, searches), round(100 * zero / searches, 1) if searches else None,
               hint=f"{format_count(zero)} searches found nothing"),
        Figure("Helpful votes", format_count(helpful), helpful,
               hint=f"{format_percent(helpful, helpful + not_helpful)} of {format_count(helpful + not_helpful)} votes"),
        Figure("Not helpful votes", format_count(not_helpful), not_helpful),
    ]
    items = [_per_day_chart(filters), _top_searches(filters), _zero_result_queries(filters), _feedback_table(filters)]
    return Section("Knowledge base", items, figures=figures,
                   note="Searches by customers and visitors (staff searches are left out); votes on articles. "
                        "Group and agent filters do not apply.")


# --- the searches' rollup ----------------------------------------------------------------------

MARK = "kb_search_log"  # InsightState: at = the latest created_at seen; number = searches within OVERLAP of it
OVERLAP = timedelta(minutes=5)
_COLUMNS = (S.query, S.results, S.created_at)


def refresh_searches() -> int:
    """Recompute the local days of the searches logged since the watermark; how many days."""
    _lock()
    state = db.session.get(InsightState, MARK)
    if state is None or state.at is None:
        rebuild_searches()
        return -1
    new = db.session.execute(select(S.created_at).where(S.created_at >= state.at - OVERLAP)).scalars().all()
    if not new:
        state.number = 0
        return 0
    if len(new) == state.number and all(at <= state.at for at in new):
        return 0  # the same searches as last time: nothing committed since (late or not)
    tz = reporting_zone()
    days = sorted({at.astimezone(tz).date() for at in new})
    for day in days:
        start = datetime.combine(day, time.min, tz)
        end = datetime.combine(day + timedelta(days=1), time.min, tz)
        db.session.execute(delete(kb_search_days).where(kb_search_days.c.day == day))
        db.session.execute(delete(kb_search_queries).where(kb_search_queries.c.day == day))
        _insert_searches(db.session.execute(select(*_COLUMNS).where(
            S.created_at >= start, S.created_at < end, S.audience.in_(CUSTOMER_AUDIENCES))), tz)
    _recompute_months({day.replace(day=1) for day in days})
    state.at = max(state.at, max(new))
    state.number = sum(1 for at in new if at >= state.at - OVERLAP)
    db.session.flush()
    return len(days)


def rebuild_searches() -> int:
    """Forget the searches' rollup and count every logged search again."""
    _lock()
    latest = db.session.scalar(select(func.max(S.created_at)))
    db.session.execute(delete(kb_search_days))
    db.session.execute(delete(kb_search_queries))
    db.session.execute(delete(M))
    tz = reporting_zone()
    rows = db.session.execute(select(*_COLUMNS).where(S.audience.in_(CUSTOMER_AUDIENCES))
                              .execution_options(yield_per=10000))
    count = _insert_searches(rows, tz)
    _recompute_months(db.session.scalars(select(D.c.day)).all())
    mark_rebuilt(MARK, latest or utcnow())
    return count


def _insert_searches(rows, tz) -> int:
    days: dict = defaultdict(lambda: [0, 0])
    queries: dict = defaultdict(lambda: [0, 0, 0])
    count = 0
    for query, results, created_at in rows:
        day = created_at.astimezone(tz).date()
        zero = 1 if results == 0 else 0
        days[day][0] += 1
        days[day][1] += zero
        counts = queries[(day, query)]
        counts[0] += 1
        counts[1] += results or 0
        counts[2] += zero
        count += 1
    if days:
        db.session.execute(insert(kb_search_days), [dict(day=d, searches=n, zero=z) for d, (n, z) in days.items()])
    values = [dict(day=d, query=q, searches=n, results_sum=r, zero=z) for (d, q), (n, r, z) in queries.items()]
    for i in range(0, len(values), 5000):
        db.session.execute(insert(kb_search_queries), values[i:i + 5000])
    return count


def _recompute_months(days) -> None:
    """The monthly rows are the sums of their month's daily rows."""
    for month in sorted({day.replace(day=1) for day in days}):
        following = (month + timedelta(days=32)).replace(day=1)
        db.session.execute(delete(M).where(M.c.month == month))
        db.session.execute(insert(M).from_select(
            ["month", "query", "searches", "results_sum", "zero"],
            select(literal(month, Date), Q.c.query, func.sum(Q.c.searches), func.sum(Q.c.results_sum),
                   func.sum(Q.c.zero))
            .where(Q.c.day >= month, Q.c.day < following).group_by(Q.c.query)))


def _by_query(filters: Filters, zero_only: bool = False):
    """(query, searches, results_sum, zero) rows over the range: whole months from their monthly
    rows, the other days from the daily ones (to be summed per query)."""
    parts = []
    for monthly, first, last in month_pieces(filters.start, filters.end):
        table, day = (M, M.c.month) if monthly else (Q, Q.c.day)
        part = (select(table.c.query, table.c.searches, table.c.results_sum, table.c.zero)
                .where(day >= first, day <= last))
        parts.append(part.where(table.c.zero > 0) if zero_only else part)
    return union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()


def _lock() -> None:
    """One refresh of the searches' rollup at a time (two would insert the same day's rows)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(7301009)"))
    else:
        db.session.execute(text("UPDATE insight_state SET number = number WHERE 0"))


# --- reading -----------------------------------------------------------------------------------


def _days(filters: Filters, table=D):
    return and_(table.c.day >= filters.start, table.c.day <= filters.end)


def _totals(filters: Filters) -> tuple[int, int]:
    searches, zero = db.session.execute(select(func.sum(D.c.searches), func.sum(D.c.zero)).where(_days(filters))).one()
    return int(searches or 0), int(zero or 0)


def _feedback_totals(filters: Filters) -> tuple[int, int]:
    F = ArticleFeedback  # noqa: N806
    helpful, not_helpful = db.session.execute(
        select(func.sum(case((F.helpful.is_(True), 1), else_=0)), func.sum(case((F.helpful.is_(False), 1), else_=0)))
        .where(F.created_at >= filters.start_at, F.created_at < filters.end_at)).one()
    return int(helpful or 0), int(not_helpful or 0)


# --- presenting --------------------------------------------------------------------------------


def _per_day_chart(filters: Filters) -> Chart:
    per_day = {day: (int(n), int(zero)) for day, n, zero in
               db.session.execute(select(D.c.day, D.c.searches, D.c.zero).where(_days(filters)))}
    days = filters.days
    return Chart("searches-per-day", "Searches per day", "line", [d.isoformat() for d in days],
                 [Series("Searches", [per_day[d][0] if d in per_day else 0 for d in days]),
                  Series("Found nothing", [per_day[d][1] if d in per_day else 0 for d in days])], unit="searches")


def _search_link(query: str) -> str:
    return link("kb.search", q=query, go="0")


def _top_searches(filters: Filters) -> Table:
    found = _by_query(filters)
    n = func.sum(found.c.searches)
    rows = db.session.execute(select(found.c.query, n, func.sum(found.c.results_sum) * 1.0 / n, func.sum(found.c.zero))
                              .group_by(found.c.query).order_by(n.desc(), found.c.query).limit(TOP)).all()
    return Table("top-searches", "Top searches", ["Search", "Searches", "Results (average)", "Found nothing"],
                 [[Cell(query, href=_search_link(query)), Cell(int(count), format_count(count)),
                   Cell(round(float(avg or 0), 1), f"{float(avg or 0):.1f}"), Cell(int(zero or 0), format_count(zero or 0))]
                  for query, count, avg, zero in rows])


def _zero_result_queries(filters: Filters) -> Table:
    found = _by_query(filters, zero_only=True)
    n = func.sum(found.c.zero)
    rows = db.session.execute(select(found.c.query, n).group_by(found.c.query).order_by(n.desc(), found.c.query)
                              .limit(TOP)).all()
    return Table("zero-result-searches", "Searches that found nothing", ["Search", "Searches"],
                 [[Cell(query, href=_search_link(query)), Cell(int(count), format_count(count))] for query, count in rows],
                 note="Candidates for new articles or synonyms.")


def _feedback_table(filters: Filters) -> Table:
    F = ArticleFeedback  # noqa: N806
    helpful = func.sum(case((F.helpful.is_(True), 1), else_=0))
    not_helpful = func.sum(case((F.helpful.is_(False), 1), else_=0))
    rows = db.session.execute(
        select(Article.id, Article.title, helpful, not_helpful).join(Article, Article.id == F.article_id)
        .where(F.created_at >= filters.start_at, F.created_at < filters.end_at)
        .group_by(Article.id, Article.title).order_by(not_helpful.desc(), helpful, Article.title).limit(TOP)).all()
    table_rows = []
    for article_id, title, yes, no in rows:
        yes, no = int(yes or 0), int(no or 0)
        table_rows.append([Cell(title, href=link("kb.show_article", article_id=article_id)), Cell(yes, format_count(yes)),
                           Cell(no, format_count(no)),
                           Cell(round(100 * yes / (yes + no), 1) if yes + no else None, format_percent(yes, yes + no))])
    return Table("article-feedback", "Article feedback", ["Article", "Helpful", "Not helpful", "Helpful share"],
                 table_rows, note="Most not-helpful votes first.")
