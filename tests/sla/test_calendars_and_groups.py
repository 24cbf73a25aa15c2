"""Group calendars, iCalendar holiday import, and the bulk recompute agreeing with the case-by-case engine."""
from __future__ import annotations

import io
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from helpdesk.cases import services
from helpdesk.cases.models import Case, Priority, Status
from helpdesk.extensions import db
from helpdesk.sla import services as sla
from helpdesk.sla.jobs import recompute_cases, sweep_sla
from helpdesk.sla.models import BusinessHours, SLAEvent

ROME = ZoneInfo("Europe/Rome")
COLUMNS = ("first_response_due_at", "next_response_due_at", "resolution_due_at", "sla_due_at", "sla_check_at",
           "sla_paused_at", "sla_warn_at")


def rome(*args) -> datetime:
    return datetime(*args, tzinfo=ROME)


# --- calendars on groups ------------------------------------------------------------------------


def test_a_policy_without_a_calendar_runs_on_the_groups(clock, make_hours, make_policy, make_group, make_case):
    office = make_hours(name="Rome office")  # 9-13, 14-18 on weekdays
    make_policy(None, first=120, name="No calendar")
    rome_team, night_shift = make_group(name="Rome team"), make_group(name="Night shift")
    sla.set_group_calendars(None, office, [rome_team])
    clock.set(rome(2025, 6, 6, 17, 0))  # a Friday, an hour before closing
    in_rome = make_case(None, group=rome_team)
    anywhere = make_case(None, group=night_shift)
    assert in_rome.first_response_due_at == rome(2025, 6, 9, 10, 0)  # Monday morning
    assert anywhere.first_response_due_at == rome(2025, 6, 6, 19, 0)  # 24x7
    # Moving the case to a group without a calendar puts its clocks on 24x7, and says why.
    services.assign_case(None, in_rome, group=night_shift)
    assert in_rome.first_response_due_at == rome(2025, 6, 6, 19, 0)
    reasons = [e.reason for e in db.session.scalars(select(SLAEvent).where(SLAEvent.case_id == in_rome.id))]
    assert "group Rome team → Night shift: calendar Rome office → 24x7" in reasons


def test_a_policy_calendar_wins_over_the_groups(clock, make_hours, make_policy, make_group, make_case):
    office, always = make_hours(name="Rome office"), make_hours(timezone="UTC", weekly={str(d): [["00:00", "24:00"]] for d in range(7)})
    make_policy(always, first=120)
    team = make_group()
    sla.set_group_calendars(None, office, [team])
    clock.set(rome(2025, 6, 6, 17, 0))
    case = make_case(None, group=team)
    assert case.first_response_due_at == rome(2025, 6, 6, 19, 0)
    services.assign_case(None, case, group=None)
    assert not [e for e in db.session.scalars(select(SLAEvent).where(SLAEvent.case_id == case.id)) if "group" in (e.reason or "")]


def test_the_calendar_page_attaches_groups(client, login, make_user, make_group, make_hours):
    hours = make_hours(name="Rome office")
    sales, support = make_group(name="Sales"), make_group(name="Support")
    login(make_user(role="admin"))
    form = {"name": "Rome office", "timezone": "Europe/Rome", "weekly_0": "09:00-17:00", "group_ids": [str(sales.id), str(support.id)]}
    assert client.post(f"/admin/calendars/{hours.id}", data=form).status_code == 302
    db.session.refresh(sales), db.session.refresh(support)
    assert sales.business_hours_id == hours.id and support.business_hours_id == hours.id
    html = client.get(f"/admin/calendars/{hours.id}").get_data(as_text=True)
    assert f'id="group-{sales.id}" checked' in html
    form["group_ids"] = [str(support.id)]
    assert client.post(f"/admin/calendars/{hours.id}", data=form).status_code == 302
    db.session.refresh(sales), db.session.refresh(support)
    assert sales.business_hours_id is None and support.business_hours_id == hours.id


# --- iCalendar import ---------------------------------------------------------------------------

ICS = b"""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Help desk tests//EN
BEGIN:VEVENT
UID:xmas@test
SUMMARY:Christmas break
DTSTART;VALUE=DATE:20251225
DTEND;VALUE=DATE:20251227
END:VEVENT
BEGIN:VEVENT
UID:labour@test
SUMMARY:Labour Day
DTSTART;VALUE=DATE:20200501
RRULE:FREQ=YEARLY
END:VEVENT
BEGIN:VEVENT
UID:meeting@test
SUMMARY:All-hands meeting
DTSTART:20251110T140000Z
DTEND:20251110T150000Z
END:VEVENT
END:VCALENDAR
"""


def test_admin_imports_holidays_from_an_ics_file(client, login, make_user, make_hours, clock):
    clock.set(rome(2025, 6, 2, 9, 0))
    hours = make_hours(name="Rome office", holidays=["2025-12-25"])
    login(make_user(role="admin"))
    response = client.post(f"/admin/calendars/{hours.id}/import-ical", data={"ics": (io.BytesIO(ICS), "holidays.ics")},
                           content_type="multipart/form-data", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "4 holiday(s) added to Rome office; 1 timed or too long event(s) skipped." in html
    db.session.refresh(hours)
    holidays = {h["date"]: h["name"] for h in hours.holidays}
    assert holidays == {"2025-05-01": "Labour Day", "2025-12-25": "Holiday", "2025-12-26": "Christmas break",
                        "2026-05-01": "Labour Day", "2027-05-01": "Labour Day"}
    calendar = sla.calendar_for(hours)
    assert not calendar.is_open(rome(2025, 12, 26, 10, 0)) and calendar.is_open(rome(2025, 11, 10, 15, 30))


def test_a_file_that_is_not_icalendar_is_refused(client, login, make_user, make_hours):
    hours = make_hours(name="Rome office")
    login(make_user(role="admin"))
    response = client.post(f"/admin/calendars/{hours.id}/import-ical", data={"ics": (io.BytesIO(b"hello"), "x.ics")},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    assert client.post(f"/admin/calendars/{hours.id}/import-ical", data={}).status_code == 422
    db.session.refresh(hours)
    assert hours.holidays == []


def test_only_admins_import_ics(client, login, make_user, make_hours):
    hours = make_hours()
    login(make_user(role="manager"))
    response = client.post(f"/admin/calendars/{hours.id}/import-ical", data={"ics": (io.BytesIO(ICS), "h.ics")},
                           content_type="multipart/form-data")
    assert response.status_code == 403


# --- the bulk recompute -------------------------------------------------------------------------


@pytest.mark.parametrize("calendar_on", ["policy", "group"])
def test_the_bulk_recompute_stores_what_the_engine_computes_case_by_case(clock, make_hours, make_policy, make_case,
                                                                        make_user, make_group, calendar_on):
    office = make_hours(name="Rome office", holidays=["2025-06-02"])
    policy = make_policy(office if calendar_on == "policy" else None, first=60, next_response=120, resolution=480,
                         warning_percent=75)
    team = make_group()
    if calendar_on == "group":
        sla.set_group_calendars(None, office, [team])
    agent = make_user()
    clock.set(rome(2025, 6, 3, 9, 0))
    cases = [make_case(None, group=team, priority=p) for p in Priority]
    clock.set(rome(2025, 6, 3, 9, 20))
    services.reply_to_case(agent, cases[0], body="On it.")
    services.reply_to_case(agent, cases[1], body="Could you send a photo?")
    services.change_status(agent, cases[1], Status.WAIT_CUSTOMER)
    clock.set(rome(2025, 6, 3, 11, 0))
    services.add_customer_message(cases[0].contact, cases[0], body="Still broken.")
    services.change_status(agent, cases[2], Status.RESOLVED)
    sweep_sla(rome(2025, 6, 3, 9, 50))  # warnings recorded for some clocks
    db.session.flush()
    policy.targets = {str(int(p)): {"first_response": 30 * int(p), "next_response": 90, "resolution": 600} for p in Priority}
    policy.warning_percent = 50
    db.session.flush()
    assert recompute_cases(policy, "targets edited", clock.now) == 3  # the resolved one is left alone
    db.session.expire_all()
    for case in cases:
        stored = {c: getattr(case, c) for c in COLUMNS}
        sla.refresh_case(case)
        assert {c: getattr(case, c) for c in COLUMNS} == stored, case.number
    open_ids = [c.id for c in cases if c.is_open]
    assert set(db.session.scalars(select(SLAEvent.case_id).where(SLAEvent.reason == "targets edited"))) == set(open_ids)
    # Stored in the same form as the ORM writes it: the sweep's range query finds them.
    due = set(db.session.scalars(select(Case.id).where(Case.sla_check_at <= rome(2025, 6, 30, 9, 0), Case.id.in_(open_ids))))
    assert due == {c.id for c in cases if c.sla_check_at is not None}


def test_a_policy_edit_recomputes_only_the_cases_it_can_move(clock, make_hours, make_policy, make_case, monkeypatch):
    from helpdesk import jobs
    from helpdesk.sla.jobs import recompute_policy_cases
    from helpdesk.sla.services import save_policy
    from helpdesk.sla.views import _policy_data

    policy = make_policy(make_hours(), first=60, name="Standard")
    clock.set(rome(2025, 6, 2, 9, 0))
    urgent, normal = make_case(None, priority=Priority.URGENT), make_case(None, priority=Priority.NORMAL)
    queued = []
    monkeypatch.setattr(jobs, "enqueue", lambda func, *args: queued.append((func, args)))

    def edit(**changes):
        data = _policy_data(policy)
        data["targets"] = {p: {c: str(m) for c, m in row.items()} for p, row in data["targets"].items()}
        save_policy(None, policy, {**data, **changes})
        return [args for _, args in queued[-1:]] if queued else []

    assert edit(name="Standard support", conditions={"tags": ["vip"]}) == []  # a rename moves no deadline
    targets = {p: {"first_response": "60", "next_response": "120", "resolution": "480"} for p in ("1", "2", "3", "4")}
    targets["4"]["first_response"] = "30"
    assert edit(targets=targets) == [(policy.id, "policy Standard support: targets for Urgent changed", [4])]
    assert recompute_policy_cases(*queued[-1][1]) == 1
    db.session.refresh(urgent), db.session.refresh(normal)
    assert urgent.first_response_due_at == rome(2025, 6, 2, 9, 30)
    assert normal.first_response_due_at == rome(2025, 6, 2, 10, 0)
    reasons = {e.case_id for e in db.session.scalars(select(SLAEvent).where(SLAEvent.reason.like("%targets for Urgent%")))}
    assert reasons == {urgent.id}
    queued.clear()
    edit(targets=targets, warning_percent="50")
    assert queued[-1][1][2] is None  # a new warning threshold touches every priority
