"""The dashboards, their drill-down lists, CSV exports and scheduled reports (managers and admins)."""
from __future__ import annotations

import importlib
from dataclasses import asdict

from flask import Blueprint, Response, flash, redirect, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from helpdesk.auth.policies import require
from helpdesk.errors import NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.insights import boards, reports
from helpdesk.insights.dashboard import Chart, format_seconds
from helpdesk.people import queries as people_queries
from helpdesk.types import utcnow
from helpdesk.web import render

bp = Blueprint("insights", __name__, url_prefix="/insights")
PAGE_SIZE = 50


@bp.before_request
@login_required
def _require_manager():
    require(current_user, "insights.view")


def _filters():
    tz = reports.reporting_zone()
    return boards.filters_from_args(request.args, utcnow().astimezone(tz).date(), tz)


def _choices() -> dict:
    users = [u for u in people_queries.all_users() if u.active]
    return dict(group_options=[(g.id, g.name) for g in people_queries.all_groups()],
                agent_options=[(u.id, u.name) for u in users], presets=boards.PRESETS,
                tabs=[(key, boards.TITLES.get(key, key)) for key in boards.available()])


# --- dashboards ----------------------------------------------------------------------------------


@bp.get("/")
def index():
    keys = boards.available()
    if not keys:
        return render("insights/dashboard.html", key=None, dashboard=None, filters=None, errors={}, **_choices())
    return _dashboard(keys[0])


@bp.get("/<key>")
def dashboard(key: str):
    return _dashboard(key)


def _dashboard(key: str):
    if boards.builder(key) is None:
        raise NotFound(f"There is no {key!r} dashboard.")
    try:
        filters = _filters()
    except ValidationFailed as exc:
        return render("insights/dashboard.html", "insights/_board.html", status=422, key=key, dashboard=None,
                      filters=None, errors=exc.errors, **_choices())
    board = boards.build(key, filters)
    return render("insights/dashboard.html", "insights/_board.html", key=key, dashboard=board, filters=filters,
                  errors={}, **_choices())


@bp.get("/<key>/<table_id>.csv")
def table_csv(key: str, table_id: str):
    board = boards.build(key, _filters())
    table = boards.find_table(board, table_id)
    if table is None:
        raise NotFound(f"The {board.title} dashboard has no table {table_id!r}.")

    # A byte order mark first: spreadsheet programs then read the UTF-8 as UTF-8.
    response = Response("\ufeff" + "".join(boards.csv_lines(table)), mimetype="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{boards.csv_filename(board, table_id)}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# --- drill-down lists ----------------------------------------------------------------------------


def _drilldown(module: str, function: str):
    try:
        return getattr(importlib.import_module(f"helpdesk.insights.{module}"), function)
    except ModuleNotFoundError:
        raise NotFound("This list is not available yet.") from None


def _page() -> int:
    raw = request.args.get("page", "1")
    if not raw.isdigit() or int(raw) < 1:
        raise ValidationFailed({"page": "must be a whole number from 1"})
    return int(raw)


def _list(kind: str, select_fn, default_board: str, options):
    filters = _filters()
    title, stmt = select_fn(filters, request.args)
    page = _page()
    rows = list(db.session.scalars(stmt.options(*options).limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)))
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    args = request.args.to_dict()
    pages = {"next": url_for(request.endpoint, **{**args, "page": page + 1}) if len(rows) > PAGE_SIZE else None,
             "prev": url_for(request.endpoint, **{**args, "page": page - 1}) if page > 1 else None}
    board = request.args.get("board") if request.args.get("board") in boards.BUILDERS else default_board
    return render(f"insights/{kind}.html", title=title, rows=rows[:PAGE_SIZE], total=total, page=page, pages=pages,
                  filters=filters, board=board, board_title=boards.TITLES.get(board, board), page_size=PAGE_SIZE,
                  format_seconds=format_seconds)


@bp.get("/cases")
def cases():
    from helpdesk.cases.models import Case

    return _list("cases", _drilldown("case_drilldown", "select_cases"), "helpdesk",
                 [selectinload(Case.group), selectinload(Case.assignee)])


@bp.get("/chats")
def chats():
    from helpdesk.chat.models import ChatSession

    return _list("chats", _drilldown("chat_drilldown", "select_chats"), "chat",
                 [selectinload(ChatSession.agent), selectinload(ChatSession.topic)])


# --- scheduled reports ---------------------------------------------------------------------------


@bp.get("/reports")
def reports_list():
    return render("insights/reports.html", reports=reports.all_reports(), describe=reports.describe_schedule,
                  titles=boards.TITLES)


@bp.route("/reports/new", methods=["GET", "POST"])
def new_report():
    return _report_form(None)


@bp.route("/reports/<int:report_id>/edit", methods=["GET", "POST"])
def edit_report(report_id: int):
    return _report_form(reports.get_report(report_id))


def _report_form(report):
    errors, form = {}, None
    if request.method == "POST":
        form = request.form.to_dict()
        try:
            saved = reports.save_report(current_user, report, form, request.form.getlist("users"))
            db.session.commit()
            flash(f"Saved the report “{saved.name}”; it goes out next on {saved.next_run_at:%d %b %Y %H:%M} UTC."
                  if saved.next_run_at else f"Saved the report “{saved.name}” (paused).", "success")
            return redirect(url_for("insights.reports_list"))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.errors
    if form is None:
        form = _report_defaults(report)
    chosen = set(request.form.getlist("users")) if request.method == "POST" else {str(u.id) for u in (report.users if report else [])}
    return render("insights/report_form.html", status=422 if errors else 200, report=report, form=form, errors=errors,
                  chosen=chosen, frequencies=reports.FREQUENCIES, weekday_options=list(enumerate(reports.WEEKDAYS)),
                  hours=[(h, f"{h:02d}:00") for h in range(24)],
                  timezone=reports.reporting_zone().key, **_choices())


def _report_defaults(report) -> dict:
    if report is None:
        return {"frequency": "weekly", "weekday": "0", "day_of_month": "1", "hour": "7", "dashboard": "helpdesk",
                "active": "1"}
    return {"name": report.name, "dashboard": report.dashboard, "frequency": report.frequency,
            "weekday": str(report.weekday if report.weekday is not None else 0),
            "day_of_month": str(report.day_of_month or 1), "hour": str(report.hour), "group": report.group_id or "",
            "agent": report.agent_id or "", "emails": report.emails, "active": "1" if report.active else ""}


@bp.post("/reports/<int:report_id>/delete")
def delete_report(report_id: int):
    report = reports.get_report(report_id)
    name = report.name
    reports.delete_report(current_user, report)
    db.session.commit()
    flash(f"Deleted the report “{name}”.", "success")
    return redirect(url_for("insights.reports_list"))


@bp.post("/reports/<int:report_id>/send")
def send_report(report_id: int):
    report = reports.get_report(report_id)
    count = reports.send_now(current_user, report)
    db.session.commit()
    flash(f"Sent “{report.name}” to {count} recipient{'s' if count != 1 else ''}.", "success")
    return redirect(url_for("insights.reports_list"))


@bp.app_template_filter("chart_data")
def chart_data(chart: Chart) -> dict:
    """What static/js/insights.js draws from (the canvas's data-chart attribute)."""
    return asdict(chart)


bp.add_app_template_global(boards.as_table, "insight_table")
bp.add_app_template_global(boards.numeric_columns, "insight_numeric_columns")
