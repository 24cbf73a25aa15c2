"""SLA pages: badges and the due sort in the queues, the case's SLA section, the admin editors."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from helpdesk.cases import queries
from helpdesk.cases.models import Case
from helpdesk.extensions import db
from helpdesk.sla.models import BusinessHours, SLAPolicy

ROME = ZoneInfo("Europe/Rome")


@pytest.mark.parametrize("path", ["/admin/calendars", "/admin/calendars/new", "/admin/sla-policies", "/admin/sla-policies/new"])
@pytest.mark.parametrize("role, code", [("agent", 403), ("manager", 403), ("admin", 200)])
def test_only_admins_edit_calendars_and_policies(client, login, make_user, path, role, code):
    login(make_user(role=role))
    assert client.get(path).status_code == code


def test_anonymous_is_sent_to_login(client):
    assert client.get("/admin/sla-policies").status_code == 302


def test_admin_creates_a_calendar_imports_holidays_and_a_policy(client, login, make_user):
    login(make_user(role="admin"))
    response = client.post("/admin/calendars/new", data={
        "name": "Rome office", "timezone": "Europe/Rome", "weekly_0": "09:00-13:00, 14:00-18:00",
        "weekly_4": "09:00-24:00", "holidays": "2026-12-25 Christmas Day\n2026-12-26 Santo Stefano"})
    assert response.status_code == 302
    hours = db.session.scalar(select(BusinessHours).where(BusinessHours.name == "Rome office"))
    assert hours.weekly == {"0": [["09:00", "13:00"], ["14:00", "18:00"]], "4": [["09:00", "24:00"]]}
    assert [h["date"] for h in hours.holidays] == ["2026-12-25", "2026-12-26"]
    response = client.post(f"/admin/calendars/{hours.id}/import-holidays", data={"country": "IT", "years": "2026"})
    assert response.status_code == 302
    db.session.refresh(hours)
    dates = [h["date"] for h in hours.holidays]
    assert "2026-08-15" in dates and dates.count("2026-12-25") == 1
    response = client.post("/admin/sla-policies/new", data={
        "name": "Gold", "position": "1", "active": "1", "is_default": "1", "business_hours_id": str(hours.id),
        "target_4_first_response": "30", "target_4_resolution": "4h", "target_2_first_response": "1h30m",
        "pause_statuses": ["wait_customer"], "warning_percent": "80", "cond_tags": "VIP, billing",
        "esc_0_on": "breached", "esc_0_clock": "any", "esc_0_notify": ["assignee", "managers"], "esc_0_raise_priority": "1"})
    assert response.status_code == 302, response.get_data(as_text=True)
    policy = db.session.scalar(select(SLAPolicy).where(SLAPolicy.name == "Gold"))
    assert policy.targets == {"4": {"first_response": 30, "resolution": 240}, "2": {"first_response": 90}}
    assert policy.conditions == {"tags": ["vip", "billing"]} and policy.is_default
    assert policy.escalations[0]["notify"] == ["assignee", "managers"] and policy.escalations[0]["raise_priority"]
    page = client.get(f"/admin/sla-policies/{policy.id}").get_data(as_text=True)
    assert 'value="1h30m"' not in page and 'value="90"' in page


@pytest.mark.parametrize("data, field", [
    ({"name": "X", "timezone": "Mars/Olympus", "weekly_0": "09:00-17:00"}, "timezone"),
    ({"name": "X", "timezone": "UTC", "weekly_0": "17:00-09:00"}, "weekly_0"),
    ({"name": "X", "timezone": "UTC", "weekly_0": "09:00-12:00, 11:00-13:00"}, "weekly_0"),
    ({"name": "X", "timezone": "UTC", "weekly_0": "nine to five"}, "weekly_0"),
    ({"name": "X", "timezone": "UTC"}, "weekly"),
])
def test_a_bad_calendar_is_refused_with_the_field_named(client, login, make_user, data, field):
    login(make_user(role="admin"))
    response = client.post("/admin/calendars/new", data=data)
    assert response.status_code == 422
    assert db.session.scalar(select(BusinessHours).where(BusinessHours.name == "X")) is None


def test_queue_shows_the_badge_in_words_and_sorts_by_due_in_keyset_pages(client, login, make_user, make_case, make_hours,
                                                                        make_policy, clock):
    make_policy(make_hours(timezone="UTC", weekly={str(d): [["00:00", "24:00"]] for d in range(7)}), first=60)
    agent = make_user()
    clock.set(datetime.now(ROME).replace(microsecond=0))
    cases = []
    for minutes in (30, -20, 10, 0):  # the same due time twice: the id breaks the tie
        clock.set(clock.now + timedelta(minutes=minutes))
        cases.append(make_case(None, assignee=agent))
    no_sla = make_case(None, assignee=agent)
    no_sla.sla_policy, no_sla.sla_due_at = None, None
    db.session.flush()
    expected = [c.id for c in sorted(cases, key=lambda c: (c.sla_due_at, c.id))] + [no_sla.id]
    seen, cursor = [], None
    while True:
        page = queries.case_page(agent, queries.CaseFilter(queue="mine", sort="due"), cursor, limit=2)
        seen += [c.id for c in page.cases]
        if not (cursor := page.next_cursor):
            break
    assert seen == expected
    login(agent)
    html = client.get("/cases?queue=mine&sort=due").get_data(as_text=True)
    assert "First response: 1 h left" in html or "First response: 59 min left" in html
    assert html.index(f'id="case-row-{expected[0]}"') < html.index(f'id="case-row-{expected[-1]}"')
    second = db.session.get(Case, expected[1])
    show = client.get(f"/cases/{second.id}?queue=mine&sort=due").get_data(as_text=True)
    assert f"/cases/{expected[0]}?" in show and f"/cases/{expected[2]}?" in show


def test_case_page_shows_the_sla_section(client, login, make_user, make_case, make_hours, make_policy, clock):
    make_policy(make_hours(), first=60, name="Standard")
    agent = make_user()
    case = make_case(None)
    login(agent)
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'id="case-sla"' in html and "SLA: Standard" in html and "default policy Standard" in html


@pytest.mark.parametrize("path", ["/admin/calendars/999999", "/admin/sla-policies/999999"])
def test_an_unknown_id_is_404(client, login, make_user, path):
    login(make_user(role="admin"))
    assert client.get(path).status_code == 404
