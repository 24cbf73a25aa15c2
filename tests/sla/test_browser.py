"""In Chromium: the deadline preview appears when an agent picks another priority, before saving;
the due filter narrows the queue."""
from __future__ import annotations

import itertools
import re
import os
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from helpdesk.extensions import db
from helpdesk.types import utcnow
from tests.browser.conftest import browser_type_launch_args, live_app, live_server, seed, sign_in  # noqa: F401

pytestmark = pytest.mark.browser
_made = itertools.count(1)
SHOTS = os.environ.get("HELPDESK_SCREENSHOTS")  # a folder to keep screenshots in, for a human to look at


def _shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


@pytest.fixture
def sla_case(seed):
    n = next(_made)

    def make():
        from helpdesk.cases.services import open_case
        from helpdesk.people.services import create_contact, create_group, create_user
        from helpdesk.sla.services import save_business_hours, save_policy, set_group_calendars

        hours = save_business_hours(None, None, name=f"Browser office {n}", timezone="Europe/Rome",
                                    weekly={str(d): [["09:00", "13:00"], ["14:00", "18:00"]] for d in range(5)}, holidays=[])
        save_policy(None, None, dict(name=f"Browser SLA {n}", is_default=True, position=-1, warning_percent=75,
                                     targets={"2": {"first_response": 480, "resolution": 2400},
                                              "4": {"first_response": 60, "resolution": 480}}))
        team = create_group(None, name=f"Browser team {n}")
        set_group_calendars(None, hours, [team])
        agent = create_user(None, role="agent", email=f"sla-browser{n}@staff.example", name="Sla Browser",
                            password="correct-horse-battery")
        contact = create_contact(None, name="Browser customer", email=f"browser-customer{n}@mail.example")
        case = open_case(None, subject="Preview my deadlines", body="x", contact=contact, group=team, assignee=agent)
        db.session.flush()
        return case.id, agent.email
    return seed(make)


def test_picking_a_priority_previews_the_deadlines_without_saving(page, live_server, sla_case):
    case_id, email = sla_case
    sign_in(page, live_server, email)
    for width in (1280, 360):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server}/cases/{case_id}")
        page.get_by_label("Priority").select_option(label="Urgent")
        preview = page.locator("#sla-preview")
        expect(preview).to_contain_text("If saved as Urgent")
        expect(preview).to_contain_text("First response:")
        expect(preview).to_contain_text("of business time earlier")
        _shot(page, f"sla-preview-{width}")
        # Nothing saved: reloading shows Normal again and no preview.
        page.reload()
        expect(page.get_by_label("Priority")).to_have_value("2")
        expect(page.locator("#sla-preview")).to_be_empty()


def test_the_due_filter_narrows_the_queue(page, live_server, sla_case, seed):
    case_id, email = sla_case

    def overdue():
        from helpdesk.cases.models import Case
        from helpdesk.cases.services import open_case

        fresh = db.session.get(Case, case_id)
        open_case(None, subject="Waiting since last week", body="x", contact=fresh.contact, group=fresh.group,
                  assignee=fresh.assignee, opened_at=utcnow() - timedelta(days=7))
    seed(overdue)
    sign_in(page, live_server, email)
    for width in (1280, 360):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server}/cases?queue=mine")
        if width == 360:
            page.locator("summary", has_text="Filters").click()
        page.get_by_label("SLA due").select_option("overdue")
        expect(page).to_have_url(re.compile(r"[?&]due=overdue(&|$)"))
        expect(page.locator("#case-list")).to_contain_text("Waiting since last week")
        expect(page.locator("#case-list")).to_contain_text("overdue by")
        expect(page.locator("#case-list")).not_to_contain_text("Preview my deadlines")
        _shot(page, f"sla-due-filter-{width}")
        page.get_by_label("SLA due").select_option("")
        expect(page.locator("#case-list")).to_contain_text("Preview my deadlines")


def test_admin_attaches_a_group_and_imports_an_ics_file(page, live_server, seed, tmp_path):
    n = next(_made)

    def make():
        from helpdesk.people.services import create_group, create_user
        from helpdesk.sla.services import save_business_hours

        hours = save_business_hours(None, None, name=f"Milan office {n}", timezone="Europe/Rome",
                                    weekly={str(d): [["09:00", "18:00"]] for d in range(5)}, holidays=[])
        create_group(None, name=f"Milan team {n}")
        admin = create_user(None, role="admin", email=f"sla-admin{n}@staff.example", name="Sla Admin",
                            password="correct-horse-battery")
        db.session.flush()
        return hours.id, admin.email
    hours_id, email = seed(make)
    ics = tmp_path / "holidays.ics"
    ics.write_bytes(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:a@t\r\n"
                    b"SUMMARY:Sant'Ambrogio\r\nDTSTART;VALUE=DATE:20261207\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    sign_in(page, live_server, email)
    for width in (1280, 360):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server}/admin/calendars/{hours_id}")
        page.get_by_label(f"Milan team {n}").check()
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_label(f"Milan team {n}")).to_be_checked()
        page.get_by_label("Calendar file (.ics)").set_input_files(str(ics))
        page.get_by_role("button", name="Import file").click()
        expect(page.locator("body")).to_contain_text(f"holiday(s) added to Milan office {n}")
        expect(page.get_by_label("Holidays")).to_have_value(re.compile("2026-12-07 Sant'Ambrogio"))
        _shot(page, f"sla-calendar-{width}")
