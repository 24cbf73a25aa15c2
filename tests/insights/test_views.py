"""The insights pages: who may see them, filters, htmx partials, CSV exports and drill-down lists.

The dashboards here come from a small fake builder, so these tests check the presentation
whatever the real builders compute (their figures are tested next to them).
"""
from __future__ import annotations

import csv
import io
import sys
import types
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from helpdesk.cases.models import Case
from helpdesk.errors import ValidationFailed
from helpdesk.insights import boards
from helpdesk.insights.dashboard import Cell, Chart, Dashboard, Figure, Section, Series, Table

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="session")
def _app(tmp_path_factory, database_url):
    """The shared test app with the portal loaded too: a signed-in customer must not get in."""
    from helpdesk import create_app
    from helpdesk.extensions import db
    from tests.conftest import app_config

    folder = tmp_path_factory.mktemp("insights-app")
    app = create_app(app_config(folder, database_url, EDGE_PACKAGES=["knowledge_base", "portal"],
                                KB_SEARCH_INDEX_DIR=str(folder / "index")))
    with app.app_context():
        db.create_all()
    return app


def fake_build(filters):
    args = filters.to_args()
    return Dashboard(
        key="helpdesk", title="Help desk", filters=filters, as_of=datetime(2026, 11, 20, 9, 58, tzinfo=timezone.utc),
        figures=[Figure("New cases", "1,204", 1204, boards.link("insights.cases", metric="created", **args)),
                 Figure("First response (median)", "2 h 10 min", 130, hint="business time")],
        sections=[
            Section("Volume", [
                Chart("per-day", "New and solved per day", "line", ["18 Nov", "19 Nov"],
                      [Series("New", [3, 5], [boards.link("insights.cases", metric="created", day="2026-11-18", **args),
                                             boards.link("insights.cases", metric="created", day="2026-11-19", **args)]),
                       Series("Solved", [2, None])], unit="cases"),
                Chart("hour-of-week", "Chats by hour", "heatmap", ["0", "1"],
                      [Series("Mon", [4, 0]), Series("Tue", [1, 7])], y_labels=["Monday", "Tuesday"]),
                Table("by-org", "By organization", ["Organization", "New", "Solved"], [
                    [Cell("=HYPERLINK(\"http://evil\")"), Cell(12, "12", "/insights/cases?metric=created&organization=1"),
                     Cell(3)],
                    [Cell("Globex, Inc."), Cell(-4), Cell(0.5, "50.0 %")],
                ], note="Business time"),
            ]),
        ])


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setitem(boards.BUILDERS, "helpdesk", fake_build)
    return fake_build


@pytest.fixture
def clock(freeze_clock):
    return freeze_clock(NOW)


@pytest.fixture
def manager_client(app, make_user, login):
    return login(make_user(role="manager"))


# --- who may see ---------------------------------------------------------------------------------

PAGES = ["/insights/", "/insights/helpdesk", "/insights/helpdesk/by-org.csv", "/insights/reports",
         "/insights/reports/new"]


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_managers_and_admins_see_the_dashboard(app, fake, clock, make_user, login, role):
    client = login(make_user(role=role))
    for path in PAGES:
        assert client.get(path).status_code == 200, path


@pytest.mark.parametrize("path", PAGES)
def test_agents_are_refused(app, fake, make_user, login, path):
    client = login(make_user(role="agent"))
    response = client.get(path)
    assert response.status_code == 403
    assert "New cases" not in response.get_data(as_text=True)


@pytest.mark.parametrize("path", PAGES + ["/insights/cases?metric=created"])
def test_anonymous_visitors_are_sent_to_sign_in(client, fake, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_a_customer_signed_in_to_the_portal_is_not_staff(app, fake, make_contact):
    from helpdesk.extensions import db
    from helpdesk.people.services import hash_password

    customer = make_contact()
    customer.portal_enabled, customer.portal_role = True, "org_manager"
    customer.portal_password_hash = hash_password("correct-horse-battery")
    customer.portal_session_token = f"token-{customer.id}"
    db.session.flush()
    client = app.test_client()
    signed_in = client.post("/portal/login", data={"email": customer.email, "password": "correct-horse-battery"})
    assert signed_in.status_code == 302
    for path in PAGES + ["/insights/cases?metric=created"]:
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path


def test_the_nav_link_shows_for_managers_only(app, fake, make_user, login):
    assert 'href="/insights/"' in login(make_user(role="manager")).get("/cases").get_data(as_text=True)
    agent = login(make_user(role="agent"), c=app.test_client())
    assert 'href="/insights/"' not in agent.get("/cases").get_data(as_text=True)


# --- the page ------------------------------------------------------------------------------------


def test_full_page_shows_figures_charts_with_their_data_and_csv_links(fake, clock, manager_client):
    response = manager_client.get("/insights/helpdesk?from=2026-11-18&to=2026-11-19")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<nav" in html and 'id="insights-board"' in html
    assert "1,204" in html and "business time" in html
    assert "/insights/cases?metric=created&amp;from=2026-11-18&amp;to=2026-11-19" in html
    assert "data-chart=" in html and "vendor/chartjs/chart.umd.min.js" in html
    # The chart's numbers are a table too, each linked to its cases.
    assert "/insights/cases?metric=created&amp;day=2026-11-19&amp;from=2026-11-18&amp;to=2026-11-19" in html
    assert 'id="table-per-day"' in html
    # A heat map is a table with the number in each cell.
    assert 'id="table-hour-of-week"' in html and ">7</a>" not in html and ">7<" in html.replace(" ", "")
    for item in ("per-day", "hour-of-week", "by-org", "figures"):
        assert f"/insights/helpdesk/{item}.csv?from=2026-11-18&amp;to=2026-11-19" in html
    assert "Data as of" in html and "2026-11-20 09:58 UTC" in html
    assert "18 Nov 2026 – 19 Nov 2026" in html


def test_htmx_gets_only_the_board(fake, clock, manager_client):
    response = manager_client.get("/insights/helpdesk?range=7d", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="insights-board">')
    assert "<nav" not in html.split('id="insights-board"')[0]
    assert "HX-Request" in response.headers["Vary"]
    assert 'value="2026-11-14"' in html and 'value="2026-11-20"' in html  # the 7 days up to today


@pytest.mark.parametrize("query, field", [
    ("from=2026-13-01", "from"), ("to=yesterday", "to"), ("from=2026-11-10&to=2026-11-01", "to"),
    ("from=2020-01-01&to=2026-11-01", "to"), ("group=abc", "group"), ("agent=-1", "agent"), ("range=forever", "range"),
])
def test_bad_filters_are_refused_naming_the_field(fake, clock, manager_client, query, field):
    response = manager_client.get(f"/insights/helpdesk?{query}")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f"<strong>{field}</strong>" in html
    assert "New cases" not in html  # no figures for a range that was not understood
    partial = manager_client.get(f"/insights/helpdesk?{query}", headers={"HX-Request": "true"})
    assert partial.status_code == 422 and f"<strong>{field}</strong>" in partial.get_data(as_text=True)


def test_presets(clock):
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Europe/Rome")
    today = NOW.date()
    got = {p: boards.filters_from_args({"range": p}, today, tz) for p, _ in boards.PRESETS}
    assert (got["7d"].start.isoformat(), got["7d"].end.isoformat()) == ("2026-11-14", "2026-11-20")
    assert (got["30d"].start.isoformat(), got["90d"].start.isoformat()) == ("2026-10-22", "2026-08-23")
    assert (got["month"].start.isoformat(), got["month"].end.isoformat()) == ("2026-11-01", "2026-11-20")
    assert (got["last-month"].start.isoformat(), got["last-month"].end.isoformat()) == ("2026-10-01", "2026-10-31")
    assert (got["12m"].start.isoformat(), got["12m"].end.isoformat()) == ("2025-12-01", "2026-11-20")
    january = boards.filters_from_args({"range": "last-month"}, today.replace(month=1, day=5), tz)
    assert (january.start.isoformat(), january.end.isoformat()) == ("2025-12-01", "2025-12-31")
    default = boards.filters_from_args({}, today, tz)
    assert (default.start.isoformat(), default.end.isoformat(), default.tz) == ("2026-10-22", "2026-11-20", tz)
    with pytest.raises(ValidationFailed) as exc:
        boards.filters_from_args({"from": "2026-11-02", "to": "2026-11-01"}, today, tz)
    assert list(exc.value.errors) == ["to"]


def test_an_unknown_dashboard_is_not_found(fake, manager_client):
    assert manager_client.get("/insights/nonsense").status_code == 404
    assert manager_client.get("/insights/helpdesk/nonsense.csv").status_code == 404


def test_link_works_without_a_request(app):
    with app.app_context():
        assert boards.link("insights.cases", metric="created", day="2026-11-03", group=None) == \
            "/insights/cases?metric=created&day=2026-11-03"
        assert boards.link("cases.show", case_id=7) == "/cases/7"


def test_sections_from_edge_packages_are_appended(app, fake, clock, manager_client):
    def searches(filters):
        return Section("Knowledge base searches", [Table("kb-zero", "Zero-result queries", ["Query", "Searches"],
                                                         [[Cell("toner"), Cell(4)]])])

    app.extensions.setdefault("insight_sections", {}).setdefault("helpdesk", []).append(searches)
    try:
        html = manager_client.get("/insights/helpdesk").get_data(as_text=True)
        assert "Knowledge base searches" in html and "/insights/helpdesk/kb-zero.csv" in html
    finally:
        app.extensions["insight_sections"]["helpdesk"].remove(searches)


# --- CSV -----------------------------------------------------------------------------------------


def _csv(response):
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_a_table_exports_its_raw_values_and_defuses_formulas(fake, clock, manager_client):
    response = manager_client.get("/insights/helpdesk/by-org.csv?from=2026-11-01&to=2026-11-19")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == \
        'attachment; filename="helpdesk-by-org-2026-11-01-to-2026-11-19.csv"'
    assert _csv(response) == [
        ["Organization", "New", "Solved"],
        ["'=HYPERLINK(\"http://evil\")", "12", "3"],
        ["Globex, Inc.", "-4", "0.5"],
    ]


def test_a_chart_exports_labels_by_series(fake, clock, manager_client):
    rows = _csv(manager_client.get("/insights/helpdesk/per-day.csv?from=2026-11-18&to=2026-11-19"))
    assert rows == [["", "New (cases)", "Solved (cases)"], ["18 Nov", "3", "2"], ["19 Nov", "5", ""]]
    heat = _csv(manager_client.get("/insights/helpdesk/hour-of-week.csv"))
    assert heat == [["", "0", "1"], ["Monday", "4", "0"], ["Tuesday", "1", "7"]]


def test_the_figures_export(fake, clock, manager_client):
    rows = _csv(manager_client.get("/insights/helpdesk/figures.csv?range=7d"))
    assert rows == [["Figure", "Value", "Note"], ["New cases", "1204", ""],
                    ["First response (median)", "130", "business time"]]


# --- drill-down ----------------------------------------------------------------------------------


@pytest.fixture
def fake_drilldown(monkeypatch):
    def select_cases(filters, args):
        if args.get("metric") != "created":
            raise ValidationFailed({"metric": "unknown metric"})
        return "New cases", (select(Case).where(Case.created_at >= filters.start_at, Case.created_at < filters.end_at)
                             .order_by(Case.created_at.desc(), Case.id.desc()))

    module = types.ModuleType("helpdesk.insights.case_drilldown")
    module.select_cases = select_cases
    monkeypatch.setitem(sys.modules, "helpdesk.insights.case_drilldown", module)


def test_the_case_list_pages_through_the_cases_behind_a_number(app, fake, fake_drilldown, clock, manager_client,
                                                               make_case, monkeypatch):
    from helpdesk.insights import views

    monkeypatch.setattr(views, "PAGE_SIZE", 3)
    made = [make_case(subject=f"Paper jam number {i}") for i in range(7)]
    for i, case in enumerate(made):
        case.created_at = datetime(2026, 11, 10, 8, i, tzinfo=timezone.utc)
    url = "/insights/cases?from=2026-11-10&to=2026-11-10&metric=created"
    first = manager_client.get(url).get_data(as_text=True)
    assert "7 cases" in first and "page 1 of 3" in first
    assert [f"Paper jam number {i}" in first for i in range(7)] == [False] * 4 + [True] * 3  # newest first
    assert f'href="/cases/{made[6].id}"' in first
    # The breadcrumb goes back to the dashboard with the same filters.
    assert 'href="/insights/helpdesk?from=2026-11-10&amp;to=2026-11-10"' in first
    assert 'rel="next"' in first and 'rel="prev"' not in first
    third = manager_client.get(url + "&page=3").get_data(as_text=True)
    assert "Paper jam number 0" in third and "Paper jam number 1" not in third
    assert 'rel="prev"' in third and 'rel="next"' not in third
    assert manager_client.get(url.replace("metric=created", "metric=bogus")).status_code == 422
    assert manager_client.get(url + "&page=0").status_code == 422


def test_the_chat_list_links_each_transcript(app, fake, clock, manager_client, monkeypatch):
    from helpdesk.chat.models import ChatSession, ChatStatus
    from helpdesk.extensions import db

    chat = ChatSession(token="t-insights-1", visitor_name="Vera Visitor", visitor_email="vera@mail.example",
                       status=ChatStatus.ENDED, created_at=datetime(2026, 11, 19, 9, 0, tzinfo=timezone.utc),
                       wait_seconds=75, duration_seconds=3720, rating=4)
    db.session.add(chat)
    db.session.flush()

    def select_chats(filters, args):
        return "Answered chats", select(ChatSession).where(ChatSession.id == chat.id)

    module = types.ModuleType("helpdesk.insights.chat_drilldown")
    module.select_chats = select_chats
    monkeypatch.setitem(sys.modules, "helpdesk.insights.chat_drilldown", module)
    html = manager_client.get("/insights/chats?metric=answered&from=2026-11-19&to=2026-11-19").get_data(as_text=True)
    assert "1 chat," in html
    assert f'href="/chat/{chat.id}"' in html and "Vera Visitor" in html
    assert "1 min 15 s" in html and "1 h 2 min" in html and ">4<" in html
    assert 'href="/insights/chat?from=2026-11-19&amp;to=2026-11-19"' in html  # back to the chat dashboard
