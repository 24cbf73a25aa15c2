"""The knowledge base's section of the self-service insights: searches, zero-result queries and
votes in the range (local days in Berlin), and article titles in the deflection table."""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from flask import current_app

from helpdesk.extensions import db
from helpdesk.insights import boards, rollups
from helpdesk.insights.dashboard import Filters
from helpdesk.satisfaction.models import FunnelStep
from helpdesk.satisfaction.services import record_funnel_step
from knowledge_base.insights import rebuild_searches, refresh_searches, searches_section
from knowledge_base.models import (
    ArticleFeedback,
    SearchLogEntry,
    kb_search_days,
    kb_search_queries,
    kb_search_query_months,
)

BERLIN = ZoneInfo("Europe/Berlin")
NOVEMBER = Filters(start=date(2026, 11, 1), end=date(2026, 11, 30), tz=BERLIN)


@pytest.fixture(autouse=True)
def _berlin(app, monkeypatch):
    monkeypatch.setitem(app.config, "TIMEZONE", "Europe/Berlin")  # the rollups count Berlin's days


def refreshed(filters: Filters):
    """The section after the refresh the insights' periodic job runs."""
    assert current_app.config["TIMEZONE"] == filters.tz.key
    refresh_searches()
    return searches_section(filters)


def utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=timezone.utc)


def search(query: str, results: int, at: datetime, audience: str = "customer") -> None:
    db.session.add(SearchLogEntry(query=query, language="en", audience=audience, results=results, created_at=at))


@pytest.fixture
def searches(app):
    search("reset password", 3, utc(11, 2, 9))
    search("reset password", 2, utc(11, 2, 10), audience="public")
    search("fax", 0, utc(11, 2, 11))
    search("fax", 0, utc(11, 3, 23, 30))  # Wednesday 4 Nov in Berlin
    search("dark mode", 0, utc(11, 4, 8))
    search("vpn", 1, utc(11, 4, 9))
    search("fax", 0, utc(11, 4, 10), audience="staff")  # staff searches are left out
    search("fax", 0, utc(10, 31, 22, 59))  # 23:59 on 31 Oct in Berlin: outside
    db.session.flush()


def rows(table) -> list[list[str]]:
    return [[c.text for c in row] for row in table.rows]


def by_id(section, item_id):
    return next(item for item in section.items if item.id == item_id)


def test_search_figures(searches):
    section = refreshed(NOVEMBER)
    assert {f.label: f.value for f in section.figures} == {
        "Searches": "6", "Zero-result rate": "50.0 %", "Helpful votes": "0", "Not helpful votes": "0"}


def test_top_searches_and_zero_result_queries(searches):
    section = refreshed(NOVEMBER)
    assert rows(by_id(section, "top-searches")) == [
        ["fax", "2", "0.0", "2"], ["reset password", "2", "2.5", "0"], ["dark mode", "1", "0.0", "1"],
        ["vpn", "1", "1.0", "0"]]
    assert rows(by_id(section, "zero-result-searches")) == [["fax", "2"], ["dark mode", "1"]]
    assert by_id(section, "zero-result-searches").rows[0][0].href == "/kb/search?q=fax&go=0"


def test_searches_per_local_day(searches):
    chart = by_id(refreshed(NOVEMBER), "searches-per-day")
    values = {(s.name, chart.labels[i]): v for s in chart.series for i, v in enumerate(s.values) if v}
    assert values == {("Searches", "2026-11-02"): 3, ("Found nothing", "2026-11-02"): 1,
                      ("Searches", "2026-11-04"): 3, ("Found nothing", "2026-11-04"): 2}


def test_article_feedback_in_the_range(make_article):
    good, poor = make_article(title="Reset your password"), make_article(title="Fax setup")
    votes = [(good, True, utc(11, 2, 9)), (good, True, utc(11, 3, 9)), (poor, False, utc(11, 3, 10)),
             (poor, True, utc(11, 4, 10)), (poor, False, utc(10, 20, 10))]  # the last is in October
    db.session.add_all(ArticleFeedback(article_id=a.id, helpful=h, created_at=at) for a, h, at in votes)
    db.session.flush()
    section = refreshed(NOVEMBER)
    assert {f.label: f.value for f in section.figures}["Helpful votes"] == "3"
    assert {f.label: f.value for f in section.figures}["Not helpful votes"] == "1"
    table = by_id(section, "article-feedback")
    assert rows(table) == [["Fax setup", "1", "1", "50.0 %"], ["Reset your password", "2", "0", "100.0 %"]]
    assert table.rows[0][0].href == f"/kb/articles/{poor.id}"


def test_the_section_joins_the_self_service_dashboard_and_names_articles(app, searches, make_article, freeze_clock):
    article = make_article(title="Printer jams and blank pages")
    freeze_clock(utc(11, 2, 12))
    record_funnel_step("a1", FunnelStep.SUGGESTIONS_SHOWN)
    record_funnel_step("a1", FunnelStep.ARTICLE_OPENED, article_id=article.id)
    db.session.flush()
    rollups.refresh_all(commit=db.session.flush)  # the deflection funnel's and the searches' rollups
    board = boards.build("self-service", NOVEMBER)
    assert [s.title for s in board.sections][-1] == "Knowledge base"
    opened = board.table("articles-opened")
    assert rows(opened) == [["Printer jams and blank pages", "1", "0", "100.0 %"]]
    assert opened.rows[0][0].href == f"/kb/articles/{article.id}"


def test_incremental_refreshes_of_the_searches_equal_a_rebuild(searches, freeze_clock):
    clock = freeze_clock(utc(11, 4, 12))
    refresh_searches()  # the first one builds
    search("fax", 0, utc(11, 4, 12))
    search("vpn", 4, utc(11, 4, 12))
    db.session.flush()
    clock.set(utc(11, 4, 13))
    refresh_searches()
    search("printer", 1, utc(11, 6, 9))
    db.session.flush()
    refresh_searches()
    incremental = {t.name: sorted(tuple(r) for r in db.session.execute(select(t)))
                   for t in (kb_search_days, kb_search_queries, kb_search_query_months)}
    assert (date(2026, 11, 6), "printer", 1, 1, 0) in incremental["kb_search_queries"]
    rebuild_searches()
    assert {t.name: sorted(tuple(r) for r in db.session.execute(select(t)))
            for t in (kb_search_days, kb_search_queries, kb_search_query_months)} == incremental
    assert {f.label: f.value for f in searches_section(NOVEMBER).figures}["Searches"] == "9"
    assert (date(2026, 11, 1), "fax", 3, 0, 3) in incremental["kb_search_query_months"]
    # A range that is not whole months reads the days: 2-5 November leaves out nothing here.
    part = Filters(start=date(2026, 11, 2), end=date(2026, 11, 5), tz=BERLIN)
    assert rows(by_id(searches_section(part), "top-searches"))[0] == ["fax", "3", "0.0", "3"]
