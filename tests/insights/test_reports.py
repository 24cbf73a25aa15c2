"""Scheduled reports: when they go out (weekly, monthly, across DST), exactly once, and what the mail holds."""
from __future__ import annotations

import email
import os
import threading
from datetime import date, datetime, timezone
from email import policy
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.insights import boards, reports
from helpdesk.insights.jobs import send_scheduled_reports
from helpdesk.insights.models import ScheduledReport
from helpdesk.mail.models import OutboundEmail
from tests.insights.test_views import fake_build

ROME = ZoneInfo("Europe/Rome")
UTC = timezone.utc


def at(*args, tz=UTC) -> datetime:
    return datetime(*args, tzinfo=tz)


# --- when ---------------------------------------------------------------------------------------


def test_weekly_runs_on_the_weekday_and_hour_in_the_reporting_zone():
    # Monday 07:00 in Rome; 23 Nov 2026 is a Monday (Rome is UTC+1 in winter).
    assert reports.next_run("weekly", 0, None, 7, at(2026, 11, 20, 12), ROME) == at(2026, 11, 23, 6)
    assert reports.next_run("weekly", 0, None, 7, at(2026, 11, 23, 5, 59), ROME) == at(2026, 11, 23, 6)
    # At the send time itself the next one is a week later.
    assert reports.next_run("weekly", 0, None, 7, at(2026, 11, 23, 6), ROME) == at(2026, 11, 30, 6)
    # Sunday 23:00 in Rome is 22:00 UTC the same day.
    assert reports.next_run("weekly", 6, None, 23, at(2026, 11, 22, 21, 30), ROME) == at(2026, 11, 22, 22)


def test_weekly_keeps_the_local_hour_across_daylight_saving_changes():
    # Monday 07:00 in Rome: 06:00 UTC before 29 March 2026, 05:00 UTC after.
    assert reports.next_run("weekly", 0, None, 7, at(2026, 3, 23, 6), ROME) == at(2026, 3, 30, 5)
    assert reports.next_run("weekly", 0, None, 7, at(2026, 10, 19, 5), ROME) == at(2026, 10, 26, 6)
    # 02:00 does not exist on 29 March 2026 in Rome: the report goes at 03:00 summer time.
    assert reports.next_run("weekly", 6, None, 2, at(2026, 3, 28, 12), ROME) == at(2026, 3, 29, 1)
    # 02:00 happens twice on 25 October 2026: the first one (summer time, 00:00 UTC) counts, once.
    first = reports.next_run("weekly", 6, None, 2, at(2026, 10, 24, 12), ROME)
    assert first == at(2026, 10, 25, 0)
    assert reports.next_run("weekly", 6, None, 2, first, ROME) == at(2026, 11, 1, 1)


def test_monthly_runs_on_the_day_or_the_last_day_of_shorter_months():
    assert reports.next_run("monthly", None, 1, 7, at(2026, 11, 20), ROME) == at(2026, 12, 1, 6)
    assert reports.next_run("monthly", None, 31, 8, at(2026, 2, 1), ROME) == at(2026, 2, 28, 7)
    assert reports.next_run("monthly", None, 31, 8, at(2026, 2, 28, 7), ROME) == at(2026, 3, 31, 6)  # summer time
    assert reports.next_run("monthly", None, 30, 8, at(2026, 12, 30, 7), ROME) == at(2027, 1, 30, 7)
    assert reports.next_run("monthly", None, 29, 0, at(2028, 1, 31), UTC) == at(2028, 2, 29, 0)


def test_the_period_follows_the_frequency():
    assert reports.period("weekly", date(2026, 11, 23)) == (date(2026, 11, 16), date(2026, 11, 22))
    assert reports.period("monthly", date(2026, 12, 1)) == (date(2026, 11, 1), date(2026, 11, 30))
    assert reports.period("monthly", date(2027, 1, 3)) == (date(2026, 12, 1), date(2026, 12, 31))


# --- saving -------------------------------------------------------------------------------------


@pytest.fixture
def manager(make_user):
    return make_user(role="manager", name="Mara Manager")


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setitem(boards.BUILDERS, "helpdesk", fake_build)


def form(**kw):
    data = {"name": "Monday summary", "dashboard": "helpdesk", "frequency": "weekly", "weekday": "0", "hour": "7",
            "emails": "boss@customer.example", "active": "1"}
    data.update(kw)
    return data


def test_saving_schedules_the_next_run(app, manager, freeze_clock, monkeypatch):
    monkeypatch.setitem(app.config, "TIMEZONE", "Europe/Rome")
    freeze_clock(at(2026, 11, 20, 12))
    report = reports.save_report(manager, None, form(emails="A@Example.com, b@example.com;a@example.com"), [manager.id])
    assert report.next_run_at == at(2026, 11, 23, 6)
    assert report.email_list == ["a@example.com", "b@example.com"]
    assert [u.id for u in report.users] == [manager.id]
    assert reports.recipients(report) == [manager.email.lower(), "a@example.com", "b@example.com"]
    paused = reports.save_report(manager, report, form(active=""), [])
    assert paused.next_run_at is None and not paused.active


@pytest.mark.parametrize("changes, user_ids, field", [
    ({"name": " "}, None, "name"),
    ({"dashboard": "nope"}, None, "dashboard"),
    ({"frequency": "daily"}, None, "frequency"),
    ({"weekday": "7"}, None, "weekday"),
    ({"frequency": "monthly", "day_of_month": "0"}, None, "day_of_month"),
    ({"hour": "24"}, None, "hour"),
    ({"emails": "boss@customer.example, not-an-address"}, None, "emails"),
    ({"emails": ""}, [], "users"),
    ({"emails": ""}, ["99999"], "users"),
    ({"group": "99999"}, None, "group"),
])
def test_bad_input_names_the_field(app, manager, changes, user_ids, field):
    with pytest.raises(ValidationFailed) as exc:
        reports.save_report(manager, None, form(**changes), user_ids or [])
    assert field in exc.value.errors
    assert db.session.scalar(select(ScheduledReport)) is None


def test_managers_create_edit_and_delete_reports_in_the_browser_forms(app, fake, manager, login, freeze_clock):
    freeze_clock(at(2026, 11, 20, 12))
    client = login(manager)
    assert "Staff recipients" in client.get("/insights/reports/new").get_data(as_text=True)
    bad = client.post("/insights/reports/new", data=form(emails="nobody"))
    assert bad.status_code == 422 and "Not an email address: nobody" in bad.get_data(as_text=True)
    response = client.post("/insights/reports/new", data={**form(), "users": [str(manager.id)]})
    assert response.status_code == 302
    report = db.session.scalar(select(ScheduledReport))
    assert (report.name, report.created_by_id, report.next_run_at) == ("Monday summary", manager.id, at(2026, 11, 23, 7))
    listing = client.get("/insights/reports").get_data(as_text=True)
    assert "Monday summary" in listing and "every Monday at 07:00" in listing and "Mara Manager" in listing
    edit = client.get(f"/insights/reports/{report.id}/edit").get_data(as_text=True)
    assert 'value="Monday summary"' in edit
    client.post(f"/insights/reports/{report.id}/edit",
                data={**form(name="Month end", frequency="monthly", day_of_month="1"), "users": [str(manager.id)]})
    db.session.expire_all()
    assert (report.name, report.frequency, report.next_run_at) == ("Month end", "monthly", at(2026, 12, 1, 7))
    assert client.post(f"/insights/reports/{report.id}/delete").status_code == 302
    assert db.session.scalar(select(ScheduledReport)) is None


def test_agents_cannot_manage_reports(app, manager, make_user, login):
    report = reports.save_report(manager, None, form(), [])
    client = login(make_user(role="agent"))
    assert client.post("/insights/reports/new", data=form()).status_code == 403
    assert client.post(f"/insights/reports/{report.id}/send").status_code == 403
    assert client.post(f"/insights/reports/{report.id}/delete").status_code == 403
    assert db.session.get(ScheduledReport, report.id) is not None


# --- sending ------------------------------------------------------------------------------------


def outbox(app) -> list:
    folder = Path(app.config["OUTBOX_DIR"])
    files = sorted(folder.iterdir()) if folder.exists() else []
    return [email.message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]


def test_the_sweep_sends_a_due_report_once_and_schedules_the_next(app, fake, manager, freeze_clock, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_HOST", None)
    monkeypatch.setitem(app.config, "BASE_URL", "https://desk.example")
    clock = freeze_clock(at(2026, 11, 20, 12))
    report = reports.save_report(manager, None, form(), [manager.id])
    db.session.commit()
    assert send_scheduled_reports() == 0  # not due yet
    clock.set(at(2026, 11, 23, 7, 10))
    assert send_scheduled_reports() == 1
    assert send_scheduled_reports() == 0
    db.session.expire_all()
    assert report.last_sent_at == at(2026, 11, 23, 7, 10)
    assert report.next_run_at == at(2026, 11, 30, 7)

    mails = outbox(app)
    assert sorted(m["To"] for m in mails) == sorted(["boss@customer.example", manager.email.lower()])
    msg = next(m for m in mails if m["To"] == "boss@customer.example")
    assert msg["Subject"] == "Monday summary: Help desk, 16 Nov 2026 – 22 Nov 2026"
    assert msg["Auto-Submitted"] == "auto-generated"
    text = msg.get_body(("plain",)).get_content()
    assert "New cases: 1,204" in text
    assert "First response (median): 2 h 10 min (business time)" in text
    assert "Globex, Inc. | -4 | 50.0 %" in text
    assert "Open the dashboard: https://desk.example/insights/helpdesk?from=2026-11-16&to=2026-11-22" in text
    html = msg.get_body(("html",)).get_content()
    assert 'href="https://desk.example/insights/cases?metric=created&amp;from=2026-11-16&amp;to=2026-11-22"' in html
    assert 'href="https://desk.example/insights/cases?metric=created&amp;organization=1"' in html
    assert "<th" in html and "By organization" in html
    files = {part.get_filename(): part.get_payload(decode=True).decode("utf-8-sig") for part in msg.iter_attachments()}
    assert sorted(files) == ["helpdesk-by-org-2026-11-16-to-2026-11-22.csv",
                             "helpdesk-hour-of-week-2026-11-16-to-2026-11-22.csv",
                             "helpdesk-per-day-2026-11-16-to-2026-11-22.csv"]
    org_csv = files["helpdesk-by-org-2026-11-16-to-2026-11-22.csv"]
    assert org_csv.splitlines() == [
        "Organization,New,Solved", "\"'=HYPERLINK(\"\"http://evil\"\")\",12,3", "\"Globex, Inc.\",-4,0.5"]


def test_a_report_missed_for_weeks_goes_out_once_and_moves_past_now(app, fake, manager, freeze_clock):
    clock = freeze_clock(at(2026, 11, 20, 12))
    report = reports.save_report(manager, None, form(), [])
    db.session.commit()
    clock.set(at(2026, 12, 20, 12))
    assert send_scheduled_reports() == 1
    db.session.expire_all()
    assert report.next_run_at == at(2026, 12, 21, 7)
    assert db.session.scalar(select(OutboundEmail.subject)) == "Monday summary: Help desk, 16 Nov 2026 – 22 Nov 2026"


def test_send_now_mails_the_current_period_and_keeps_the_schedule(app, fake, manager, login, freeze_clock):
    freeze_clock(at(2026, 11, 20, 12))
    report = reports.save_report(manager, None, form(), [manager.id])
    due = report.next_run_at
    response = login(manager).post(f"/insights/reports/{report.id}/send", follow_redirects=True)
    assert "to 2 recipients" in response.get_data(as_text=True)
    subjects = db.session.scalars(select(OutboundEmail.subject)).all()
    assert subjects == ["Monday summary: Help desk, 13 Nov 2026 – 19 Nov 2026"] * 2
    db.session.expire_all()
    assert report.next_run_at == due and report.last_sent_at == at(2026, 11, 20, 12)


def test_only_one_of_two_claims_wins(app, manager, freeze_clock):
    freeze_clock(at(2026, 11, 20, 12))
    report = reports.save_report(manager, None, form(), [])
    due = report.next_run_at
    now = at(2026, 11, 23, 8)
    assert reports.claim(report.id, due, at(2026, 11, 30, 6), now) is True
    assert reports.claim(report.id, due, at(2026, 11, 30, 6), now) is False


def test_two_sweeps_at_the_same_moment_send_one_mail(make_app, monkeypatch, tmp_path):
    """Two processes' sweeps (threads on one SQLite file here) read the same due report at once."""
    app = make_app(TIMEZONE="Europe/Rome")
    monkeypatch.setitem(boards.BUILDERS, "helpdesk", fake_build)
    with app.app_context():
        from helpdesk.people.services import create_user

        import helpdesk.types

        monkeypatch.setattr(helpdesk.types, "clock", lambda: at(2026, 11, 20, 12))
        boss = create_user(None, role="manager", email="boss@staff.example", name="Boss", password="correct-horse-1")
        db.session.flush()
        reports.save_report(boss, None, form(), [boss.id])
        db.session.commit()
    monkeypatch.setattr(helpdesk.types, "clock", lambda: at(2026, 11, 23, 7, 5))

    both_read = threading.Barrier(2, timeout=10)
    real_due = reports.due_reports

    def due_then_wait(now):
        rows = real_due(now)
        both_read.wait()  # each sweep has seen the report as due before either claims it
        return rows

    monkeypatch.setattr(reports, "due_reports", due_then_wait)
    results, errors = [], []

    def sweep():
        try:
            with app.app_context():
                results.append(send_scheduled_reports())
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert sorted(results) == [0, 1]
    with app.app_context():
        assert len(db.session.scalars(select(OutboundEmail)).all()) == 2  # the two recipients, once each
        assert db.session.scalar(select(ScheduledReport.next_run_at)) == at(2026, 11, 30, 6)


@pytest.mark.skipif(os.environ.get("HELPDESK_TEST_DB") != "postgresql", reason="row locks of PostgreSQL")
def test_a_claim_waiting_on_another_finds_the_report_taken(app, database_url):
    """Sweep B's UPDATE waits for sweep A's row lock, then sees next_run_at moved and claims nothing."""
    from sqlalchemy import create_engine, delete, insert, text
    from sqlalchemy.orm import Session

    engine = create_engine(database_url)
    due, following, now = at(2026, 11, 23, 6), at(2026, 11, 30, 6), at(2026, 11, 23, 6, 5)
    table = ScheduledReport.__table__
    with engine.begin() as conn:
        report_id = conn.execute(insert(table).values(
            name="Race", dashboard="helpdesk", frequency="weekly", weekday=0, hour=7, emails="a@example.com",
            active=True, created_at=now, next_run_at=due).returning(table.c.id)).scalar_one()
    try:
        first, second = Session(engine), Session(engine)
        assert reports.claim(report_id, due, following, now, session=first) is True  # holds the row lock
        results = []
        waiter = threading.Thread(target=lambda: results.append(reports.claim(report_id, due, following, now, session=second)))
        waiter.start()
        blocked = False
        with engine.connect() as watch:  # until B is blocked on A's lock
            for _ in range(1000):
                blocked = bool(watch.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")).scalar())
                if blocked:
                    break
                threading.Event().wait(0.01)
        assert blocked, "the second claim never waited for the first"
        first.commit()
        waiter.join(10)
        second.commit()
        assert results == [False]
    finally:
        first.close()
        second.close()
        with engine.begin() as conn:
            conn.execute(delete(table).where(table.c.id == report_id))
        engine.dispose()
