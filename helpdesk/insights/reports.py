"""Scheduled reports: when a dashboard is mailed, to whom, and the mail itself (HTML, text, CSV files)."""
from __future__ import annotations

import calendar
import hashlib
import io
import re
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import current_app, render_template
from sqlalchemy import select, update

from helpdesk.errors import NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.insights import boards
from helpdesk.insights.dashboard import Dashboard, Filters
from helpdesk.insights.models import ScheduledReport
from helpdesk.people.models import Group, User
from helpdesk.types import utcnow

FREQUENCIES = {"weekly": "Weekly (the last 7 days)", "monthly": "Monthly (the previous month)"}
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MAX_RECIPIENTS = 50
_EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")


def reporting_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("TIMEZONE") or "UTC")


# --- when (pure) -------------------------------------------------------------------------------


def _local(day: date, hour: int, tz: ZoneInfo) -> datetime:
    """The UTC instant of a local day and hour; a time skipped by a DST change falls after the gap,
    a repeated one is its first occurrence."""
    # fold=0: a wall time in a spring gap is read with the offset before it (so 02:30 becomes
    # 03:30 summer time), a repeated autumn hour is its first occurrence.
    return datetime.combine(day, time(hour), tz).astimezone(timezone.utc)


def _day_in_month(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def next_run(frequency: str, weekday: int | None, day_of_month: int | None, hour: int, after: datetime,
             tz: ZoneInfo) -> datetime:
    """The first send time strictly after `after` (aware), in UTC."""
    today = after.astimezone(tz).date()
    if frequency == "weekly":
        day = today + timedelta(days=(weekday - today.weekday()) % 7)
        candidate = _local(day, hour, tz)
        if candidate <= after:
            candidate = _local(day + timedelta(days=7), hour, tz)
        return candidate
    if frequency == "monthly":
        year, month = today.year, today.month
        for _ in range(3):
            candidate = _local(_day_in_month(year, month, day_of_month), hour, tz)
            if candidate > after:
                return candidate
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    raise ValueError(f"unknown frequency {frequency!r}")


def period(frequency: str, run_day: date) -> tuple[date, date]:
    """The days a report sent on run_day covers: the 7 days before it, or the previous month."""
    if frequency == "weekly":
        return run_day - timedelta(days=7), run_day - timedelta(days=1)
    end = run_day.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


def report_filters(report: ScheduledReport, run_at: datetime, tz: ZoneInfo) -> Filters:
    start, end = period(report.frequency, run_at.astimezone(tz).date())
    return Filters(start=start, end=end, tz=tz, group_id=report.group_id, agent_id=report.agent_id)


def describe_schedule(report: ScheduledReport) -> str:
    if report.frequency == "weekly":
        when = f"every {WEEKDAYS[report.weekday or 0]}"
    else:
        when = f"on day {report.day_of_month} of each month"
    return f"{when} at {report.hour:02d}:00"


# --- changes -------------------------------------------------------------------------------------


def _int(data: dict, name: str, low: int, high: int, errors: dict, label: str) -> int | None:
    raw = str(data.get(name) or "").strip()
    if not raw.lstrip("-").isdigit() or not low <= int(raw) <= high:
        errors[name] = f"{label} must be a whole number from {low} to {high}."
        return None
    return int(raw)


def _users(ids, errors: dict) -> list[User]:
    wanted = []
    for raw in ids or []:
        if str(raw).strip().isdigit():
            wanted.append(int(raw))
        elif str(raw).strip():
            errors["users"] = "Choose staff members from the list."
    users = list(db.session.scalars(select(User).where(User.id.in_(wanted), User.active.is_(True)))) if wanted else []
    if len(users) != len(set(wanted)):
        errors["users"] = "One of the chosen staff members does not exist or is inactive."
    return users


def _emails(raw: str, errors: dict) -> list[str]:
    found, bad = [], []
    for part in re.split(r"[\s,;]+", raw or ""):
        if not part:
            continue
        (found if _EMAIL.match(part) else bad).append(part.lower())
    if bad:
        errors["emails"] = f"Not an email address: {', '.join(bad[:3])}."
    return list(dict.fromkeys(found))


def save_report(actor: User, report: ScheduledReport | None, data: dict, user_ids: list) -> ScheduledReport:
    """Create or change a scheduled report; every bad field is named. Schedules its next run."""
    errors: dict[str, str] = {}
    name = " ".join(str(data.get("name") or "").split())
    if not name:
        errors["name"] = "Give the report a name."
    elif len(name) > 200:
        errors["name"] = "At most 200 characters."
    key = str(data.get("dashboard") or "")
    if key not in boards.BUILDERS:
        errors["dashboard"] = "Choose a dashboard."
    frequency = str(data.get("frequency") or "")
    if frequency not in FREQUENCIES:
        errors["frequency"] = "Choose weekly or monthly."
    weekday = day_of_month = None
    if frequency == "weekly":
        weekday = _int(data, "weekday", 0, 6, errors, "The weekday")
    elif frequency == "monthly":
        day_of_month = _int(data, "day_of_month", 1, 31, errors, "The day of the month")
    hour = _int(data, "hour", 0, 23, errors, "The hour")
    group_id = agent_id = None
    if str(data.get("group") or "").strip():
        group = db.session.get(Group, int(data["group"])) if str(data["group"]).isdigit() else None
        if group is None:
            errors["group"] = "Choose a group from the list."
        else:
            group_id = group.id
    if str(data.get("agent") or "").strip():
        agent = db.session.get(User, int(data["agent"])) if str(data["agent"]).isdigit() else None
        if agent is None:
            errors["agent"] = "Choose an agent from the list."
        else:
            agent_id = agent.id
    users = _users(user_ids, errors)
    emails = _emails(str(data.get("emails") or ""), errors)
    if not errors.get("users") and not errors.get("emails"):
        if not users and not emails:
            errors["users"] = "Choose at least one staff member or give an email address."
        elif len(users) + len(emails) > MAX_RECIPIENTS:
            errors["emails"] = f"At most {MAX_RECIPIENTS} recipients."
    if errors:
        raise ValidationFailed(errors)
    if report is None:
        report = ScheduledReport(created_by_id=actor.id if actor else None, created_at=utcnow())
        db.session.add(report)
    report.name, report.dashboard, report.frequency = name, key, frequency
    report.weekday, report.day_of_month, report.hour = weekday, day_of_month, hour
    report.group_id, report.agent_id = group_id, agent_id
    report.users = users
    report.emails = "\n".join(emails)
    report.active = str(data.get("active") or "") not in {"", "0", "false", "off"}
    report.next_run_at = (next_run(frequency, weekday, day_of_month, hour, utcnow(), reporting_zone())
                          if report.active else None)
    db.session.flush()
    return report


def delete_report(actor: User, report: ScheduledReport) -> None:
    db.session.delete(report)
    db.session.flush()


def get_report(report_id: int) -> ScheduledReport:
    report = db.session.get(ScheduledReport, report_id)
    if report is None:
        raise NotFound("There is no such scheduled report.")
    return report


def all_reports() -> list[ScheduledReport]:
    return list(db.session.scalars(select(ScheduledReport).order_by(ScheduledReport.name, ScheduledReport.id)))


# --- sending -------------------------------------------------------------------------------------


def claim(report_id: int, expected: datetime, following: datetime | None, now: datetime, session=None) -> bool:
    """Move a due report's next_run_at on, only if no one else did: the one sweep that
    wins this conditional UPDATE sends that period's mail."""
    result = (session or db.session).execute(
        update(ScheduledReport)
        .where(ScheduledReport.id == report_id, ScheduledReport.next_run_at == expected,
               ScheduledReport.active.is_(True))
        .values(next_run_at=following, last_sent_at=now)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


def due_reports(now: datetime) -> list:
    """(id, next_run_at, frequency, weekday, day_of_month, hour) of the reports due at `now`."""
    return list(db.session.execute(
        select(ScheduledReport.id, ScheduledReport.next_run_at, ScheduledReport.frequency, ScheduledReport.weekday,
               ScheduledReport.day_of_month, ScheduledReport.hour)
        .where(ScheduledReport.active.is_(True), ScheduledReport.next_run_at <= now)
        .order_by(ScheduledReport.next_run_at)))


def send_due(due, now: datetime) -> bool:
    """Send one due report (a row of due_reports) if this caller wins the claim; the caller commits.

    The claim is the transaction's first statement: on SQLite a transaction that began by
    reading could not write after another sweep's commit."""
    following = next_run(due.frequency, due.weekday, due.day_of_month, due.hour, max(now, due.next_run_at),
                         reporting_zone())
    if not claim(due.id, due.next_run_at, following, now):
        return False
    report = db.session.get(ScheduledReport, due.id)
    send_report(report, due.next_run_at, dedupe=f"{due.next_run_at:%Y%m%dT%H%M}")
    return True


def recipients(report: ScheduledReport) -> list[str]:
    addresses = [u.email for u in report.users if u.active] + report.email_list
    return list(dict.fromkeys(a.lower() for a in addresses))


def send_report(report: ScheduledReport, run_at: datetime, dedupe: str | None = None) -> int:
    """Queue the report's mail to each recipient, for the period run_at closes; returns how many.
    With `dedupe`, the same report, run and address never gets a second mail."""
    from helpdesk.mail.services import queue_email

    dashboard = boards.build(report.dashboard, report_filters(report, run_at, reporting_zone()))
    subject, text, html, files = compose(report, dashboard)
    blobs = _store_files(files)
    count = 0
    for address in recipients(report):
        key = None
        if dedupe:
            digest = hashlib.sha1(address.encode()).hexdigest()[:12]
            key = f"insights-report:{report.id}:{dedupe}:{digest}"
        queue_email(to=[address], subject=subject, body_text=text, body_html=html, dedupe_key=key,
                    auto_submitted="auto-generated", attachments=blobs)
        count += 1
    return count


def send_now(actor: User, report: ScheduledReport) -> int:
    """Mail the report at once for the period that would end now; the schedule stays as it is."""
    now = utcnow()
    report.last_sent_at = now
    return send_report(report, now)


class _File:
    def __init__(self, filename: str, blob):
        self.filename, self.blob = filename, blob


def _store_files(files: list[tuple[str, str]]) -> list[_File]:
    from helpdesk.cases.attachments import store_blob

    root = current_app.config["ATTACHMENT_DIR"]
    stored = []
    for name, content in files:
        data = content.encode("utf-8")
        stored.append(_File(name, store_blob(root, io.BytesIO(data), len(data) + 1)))
    return stored


def _absolute(base: str, href: str | None) -> str | None:
    return f"{base}{href}" if href and href.startswith("/") else href


def compose(report: ScheduledReport, dashboard: Dashboard) -> tuple[str, str, str, list[tuple[str, str]]]:
    """Subject, plain text, HTML and the CSV files (name, text) of a report's mail."""
    base = current_app.config.get("BASE_URL", "").rstrip("/")
    f = dashboard.filters
    span = f"{f.start:%d %b %Y} – {f.end:%d %b %Y}"
    url = _absolute(base, boards.link("insights.dashboard", key=dashboard.key, **f.to_args()))
    sections = [(s, [boards.as_table(item) for item in s.items]) for s in dashboard.sections]
    tables = [t for _, ts in sections for t in ts]
    files = [(boards.csv_filename(dashboard, t.id), "\ufeff" + "".join(boards.csv_lines(t))) for t in tables]
    subject = f"{report.name}: {dashboard.title}, {span}"

    lines = [f"{dashboard.title} insights, {span}", f"Report: {report.name} ({describe_schedule(report)})", ""]
    if report.group:
        lines.append(f"Group: {report.group.name}")
    if report.agent:
        lines.append(f"Agent: {report.agent.name}")
    for figure in dashboard.figures:
        lines.append(f"{figure.label}: {figure.value}" + (f" ({figure.hint})" if figure.hint else ""))
    for section, section_tables in sections:
        lines += ["", section.title.upper()]
        lines += [f"{fig.label}: {fig.value}" for fig in section.figures]
        for table in section_tables:
            lines += ["", table.title, " | ".join(table.columns)]
            lines += [" | ".join(cell.text for cell in row) for row in table.rows[:50]]
            if len(table.rows) > 50:
                lines.append(f"… {len(table.rows) - 50} more rows in {boards.csv_filename(dashboard, table.id)}")
    lines += ["", f"Open the dashboard: {url}", "Every table is attached as a CSV file.",
              f"Change or stop this report: {base}{boards.link('insights.reports_list')}"]
    html = render_template("insights/email.html", report=report, dashboard=dashboard, sections=sections, span=span,
                           url=url, base=base, absolute=_absolute, schedule=describe_schedule(report),
                           manage_url=f"{base}{boards.link('insights.reports_list')}")
    return subject, "\n".join(lines), html, files
