"""The workspace side of SLAs: the due-time filter and the deadline preview before a priority change."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text
from werkzeug.datastructures import MultiDict

from helpdesk.cases import queries, services
from helpdesk.cases.models import Priority, Status
from helpdesk.extensions import db
from helpdesk.sla.models import SLAEvent

ROME = ZoneInfo("Europe/Rome")
ALWAYS = {str(d): [["00:00", "24:00"]] for d in range(7)}


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.fixture
def due_cases(clock, make_hours, make_policy, make_case):
    """Cases opened at different times under a 24x7 one-hour first response (warning at 75%),
    looked at on 2 June 2025 at 09:00 UTC."""
    make_policy(make_hours(timezone="UTC", weekly=ALWAYS), first=60, warning_percent=75)
    made = {}
    for name, opened in {"overdue": utc(2025, 6, 2, 7, 0), "at_risk": utc(2025, 6, 2, 8, 10),
                         "soon": utc(2025, 6, 2, 8, 45), "afternoon": utc(2025, 6, 2, 14, 0),
                         "tomorrow": utc(2025, 6, 3, 10, 0), "paused": utc(2025, 6, 2, 8, 0)}.items():
        clock.set(opened)
        made[name] = make_case(None, subject=f"The {name} case")
    clock.set(utc(2025, 6, 2, 8, 5))
    services.change_status(None, made["paused"], Status.WAIT_CUSTOMER)
    clock.set(utc(2025, 6, 2, 9, 0))
    db.session.flush()
    return made


@pytest.mark.parametrize("due, expected", [
    ("overdue", {"overdue"}),
    ("hour", {"at_risk", "soon"}),
    ("today", {"at_risk", "soon", "afternoon"}),
    ("at_risk", {"at_risk"}),
    ("", {"overdue", "at_risk", "soon", "afternoon", "tomorrow", "paused"}),
])
def test_the_due_filter_picks_cases_by_their_running_deadline(due_cases, make_user, due, expected):
    agent = make_user()
    f = queries.CaseFilter(queue="open", due=due, sort="due")
    found = {name for name, case in due_cases.items() if case in queries.case_page(agent, f).cases}
    assert found == expected


def test_the_due_filter_is_in_the_filter_bar_and_the_url(due_cases, client, login, make_user):
    login(make_user())
    html = client.get("/cases?queue=open&due=overdue").get_data(as_text=True)
    assert '<label class="form-label mb-0" for="filter-due">SLA due</label>' in html
    assert '<option value="overdue" selected>Overdue</option>' in html
    assert "The overdue case" in html and "The soon case" not in html
    assert "Filters (1)" in html
    partial = client.get("/cases?queue=open&due=hour", headers={"HX-Request": "true", "HX-Target": "case-list"}).get_data(as_text=True)
    assert "The soon case" in partial and "The at_risk case" in partial and "The overdue case" not in partial
    assert "<html" not in partial
    # An unknown window is ignored, not an error.
    assert queries.CaseFilter.from_args(MultiDict({"due": "soonish"})).due == ""


@pytest.mark.parametrize("due", ["overdue", "hour", "today", "at_risk"])
def test_the_due_filter_walks_the_sla_due_index(app, make_user, due):
    f = queries.CaseFilter(queue="open", due=due, sort="due")
    stmt = queries.filtered_cases(make_user(), f).order_by(*queries._order("due", queries._sort_columns("due"))).limit(51)
    sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
    if db.engine.dialect.name == "sqlite":
        plan = " ".join(r[3] for r in db.session.execute(text("EXPLAIN QUERY PLAN " + sql)))
        assert "USING INDEX ix_cases_open_sla_due (is_open=? AND sla_due_at" in plan and "TEMP B-TREE" not in plan
    else:  # a tiny table may be scanned whatever the indexes: check the condition is a plain range
        assert "cases.sla_due_at <" in sql or "cases.sla_due_at >=" in sql


@pytest.fixture
def rome_policy(make_hours, make_policy):
    """Rome office hours with a lunch break; Normal answers in 4 h and resolves in 16 h,
    Urgent in 1 h and 4 h."""
    policy = make_policy(make_hours(), first=240, resolution=960, priorities=(2,), name="Standard")
    policy.targets = {"2": {"first_response": 240, "resolution": 960}, "4": {"first_response": 60, "resolution": 240},
                      "1": {"resolution": 1920}}
    db.session.flush()
    return policy


def test_preview_shows_the_new_deadlines_and_writes_nothing(rome_policy, client, login, make_user, make_case, clock):
    clock.set(datetime(2025, 6, 2, 9, 0, tzinfo=ROME))  # a Monday
    case = make_case(None)
    assert case.first_response_due_at == datetime(2025, 6, 2, 13, 0, tzinfo=ROME)
    login(make_user())  # commits: the policy's recompute job runs now, not during the preview
    events = db.session.scalar(select(func.count()).where(SLAEvent.case_id == case.id))
    version = case.version
    response = client.get(f"/cases/{case.id}/sla-preview?priority=4", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.startswith('<div id="sla-preview"')
    assert "If saved as Urgent" in html
    # One business hour from 9:00 in Rome is 10:00 (08:00 UTC); four are 13:00 (11:00 UTC),
    # twelve business hours before Tuesday 18:00, which sixteen hours of Normal gave.
    assert "First response:</span>\n      due <time datetime=\"2025-06-02T08:00:00+00:00\">2025-06-02 08:00 UTC</time>" in html
    assert "(now 2025-06-02 11:00 UTC)" in html and "3 h of business time earlier" in html
    assert '<time datetime="2025-06-02T11:00:00+00:00">' in html and "(now 2025-06-03 16:00 UTC)" in html
    assert "12 h of business time earlier" in html
    db.session.refresh(case)
    assert case.priority == Priority.NORMAL and case.version == version
    assert case.first_response_due_at == datetime(2025, 6, 2, 13, 0, tzinfo=ROME)
    assert db.session.scalar(select(func.count()).where(SLAEvent.case_id == case.id)) == events
    # Saving that priority gives exactly the deadlines the preview showed.
    services.change_priority(None, case, Priority.URGENT)
    assert case.first_response_due_at == utc(2025, 6, 2, 8, 0) and case.resolution_due_at == utc(2025, 6, 2, 11, 0)


def test_preview_says_when_a_deadline_would_be_overdue_or_has_no_target(rome_policy, client, login, make_user,
                                                                         make_case, clock):
    clock.set(datetime(2025, 6, 2, 9, 0, tzinfo=ROME))
    case = make_case(None)
    clock.set(datetime(2025, 6, 2, 11, 0, tzinfo=ROME))
    login(make_user())
    html = client.get(f"/cases/{case.id}/sla-preview?priority=4").get_data(as_text=True)
    assert "overdue by 1 h" in html
    html = client.get(f"/cases/{case.id}/sla-preview?priority=1").get_data(as_text=True)
    assert "no target for Low priority" in html and "16 h of business time later" in html


def test_the_priority_control_asks_for_the_preview(rome_policy, client, login, make_user, make_case):
    case = make_case(None)
    login(make_user())
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert f'hx-get="/cases/{case.id}/sla-preview"' in html and 'hx-target="#sla-preview"' in html
    assert '<div id="sla-preview"' in html


@pytest.mark.parametrize("query, code", [("priority=9", 422), ("priority=x", 422), ("", 422)])
def test_preview_refuses_a_bad_priority(rome_policy, client, login, make_user, make_case, query, code):
    case = make_case(None)
    login(make_user())
    assert client.get(f"/cases/{case.id}/sla-preview?{query}").status_code == code


def test_preview_needs_a_signed_in_agent_and_a_real_case(rome_policy, client, login, make_user, make_case):
    case = make_case(None)
    assert client.get(f"/cases/{case.id}/sla-preview?priority=4").status_code == 302
    login(make_user())
    assert client.get("/cases/999999/sla-preview?priority=4").status_code == 404


def test_due_today_ends_at_midnight_utc(clock, make_hours, make_policy, make_case, make_user):
    make_policy(make_hours(timezone="UTC", weekly=ALWAYS), first=60)
    clock.set(utc(2025, 6, 2, 22, 50))
    tonight = make_case(None)  # due 23:50
    clock.set(utc(2025, 6, 2, 23, 10))
    after_midnight = make_case(None)  # due 00:10
    clock.set(utc(2025, 6, 2, 23, 30))
    cases = queries.case_page(make_user(), queries.CaseFilter(queue="open", due="today")).cases
    assert tonight in cases and after_midnight not in cases
