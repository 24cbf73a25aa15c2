"""The self-service dashboard over a few hand-made form attempts in Berlin: the deflection
funnel in total and per local day, suggestions shown against cases, articles opened."""
from __future__ import annotations

from datetime import date, datetime, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from flask import current_app

from helpdesk.extensions import db
from helpdesk.insights import deflection_rollup, selfservice_dashboard
from helpdesk.insights.dashboard import Filters
from helpdesk.satisfaction.models import FunnelStep
from helpdesk.satisfaction.services import record_funnel_step

BERLIN = ZoneInfo("Europe/Berlin")
NOVEMBER = Filters(start=date(2026, 11, 1), end=date(2026, 11, 30), tz=BERLIN)
SHOWN, OPENED, ABANDONED, CREATED = (FunnelStep.SUGGESTIONS_SHOWN, FunnelStep.ARTICLE_OPENED,
                                     FunnelStep.FORM_ABANDONED, FunnelStep.CASE_CREATED)


@pytest.fixture(autouse=True)
def _restore_zone(app, monkeypatch):
    monkeypatch.setitem(app.config, "TIMEZONE", app.config.get("TIMEZONE"))


def build(filters: Filters):
    """The dashboard after the refresh the periodic job runs, in the filters' zone."""
    current_app.config["TIMEZONE"] = filters.tz.key
    deflection_rollup.refresh()
    return selfservice_dashboard.build(filters)


def utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=timezone.utc)


@pytest.fixture
def attempts(app, freeze_clock, make_case):
    """a1 (2 Nov): suggestions shown twice, article 7 opened, form abandoned: deflected.
    a2 (2 Nov): shown, article 7 opened, yet a case was sent (X).
    a3 (Tue 3 Nov 23:30 UTC, Wednesday 4 Nov in Berlin): shown, case sent (Y).
    a4 (5 Nov): no suggestions, case sent (Z).
    a5 (31 Oct): shown, outside the range."""
    clock = freeze_clock(utc(11, 2, 10))
    steps = [
        ("a1", SHOWN, utc(11, 2, 10), None), ("a1", SHOWN, utc(11, 2, 10, 1), None),
        ("a1", OPENED, utc(11, 2, 10, 2), 7), ("a1", ABANDONED, utc(11, 2, 10, 5), None),
        ("a2", SHOWN, utc(11, 2, 12), None), ("a2", OPENED, utc(11, 2, 12, 1), 7),
        ("a2", CREATED, utc(11, 2, 12, 5), "X"),
        ("a3", SHOWN, utc(11, 3, 23, 30), None), ("a3", CREATED, utc(11, 3, 23, 40), "Y"),
        ("a4", CREATED, utc(11, 5, 9), "Z"),
        ("a5", SHOWN, utc(10, 31, 9), None),
    ]
    cases = {}
    for attempt, step, at, extra in steps:
        clock.set(at)
        case = None
        if step == CREATED:
            case = cases[extra] = make_case(subject=f"Case {extra}")
        record_funnel_step(attempt, step, article_id=extra if step == OPENED else None, case=case, query="printer")
    db.session.flush()
    return SimpleNamespace(**cases)


def test_funnel_figures_count_attempts_once(attempts):
    board = build(NOVEMBER)
    shown = {f.label: f.value for f in board.figures}
    assert shown == {
        "Suggestions shown": "3",  # a1 (twice), a2, a3; a5 is in October
        "Article opened": "2",
        "Form abandoned": "1",
        "Case created": "3",
        "Shown, then abandoned": "33.3 %",  # a1 of a1, a2, a3
        "Shown, then a case": "66.7 %",  # a2 and a3
    }


def test_funnel_table_sets_each_step_against_suggestions_shown(attempts):
    table = build(NOVEMBER).table("funnel")
    assert [[c.text for c in row] for row in table.rows] == [
        ["Suggestions shown", "3", "3", "100.0 %"],
        ["Article opened", "2", "2", "66.7 %"],
        ["Form abandoned", "1", "1", "33.3 %"],
        ["Case created", "3", "2", "66.7 %"],  # a4 sent a case without seeing suggestions
    ]


def test_funnel_per_local_day(attempts):
    chart = build(NOVEMBER).table("funnel-per-day")
    values = {(s.name, chart.labels[i]): v for s in chart.series for i, v in enumerate(s.values) if v}
    assert values == {
        ("Suggestions shown", "2026-11-02"): 2, ("Article opened", "2026-11-02"): 2,
        ("Form abandoned", "2026-11-02"): 1, ("Case created", "2026-11-02"): 1,
        ("Suggestions shown", "2026-11-04"): 1, ("Case created", "2026-11-04"): 1,
        ("Case created", "2026-11-05"): 1,
    }


def test_top_articles_without_the_knowledge_base_show_ids(attempts):
    table = build(NOVEMBER).table("articles-opened")
    assert [[c.text for c in row] for row in table.rows] == [["Article #7", "2", "1", "50.0 %"]]


def test_latest_portal_cases_link_to_each_case(attempts):
    table = build(NOVEMBER).table("portal-cases")
    assert [row[1].text for row in table.rows] == ["Case Z", "Case Y", "Case X"]
    assert table.rows[0][0].href == f"/cases/{attempts.Z.id}"
    assert table.rows[1][2].text == "2026-11-04 00:40"  # Berlin time


def test_case_created_figure_links_to_the_cases_list(attempts):
    figure = next(f for f in build(NOVEMBER).figures if f.label == "Case created")
    assert figure.href.startswith("/insights/cases?") and "channel=portal" in figure.href
