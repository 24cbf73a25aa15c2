"""Admin pages for business calendars and SLA policies; the SLA badge and overview for templates."""
from __future__ import annotations

from datetime import date
from functools import wraps

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from helpdesk.auth.policies import require
from helpdesk.cases import queries as case_queries
from helpdesk.cases.models import Channel, Priority, Status
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.people import queries as people_queries
from helpdesk.sla import queries, services
from helpdesk.sla.models import DEFAULT_PAUSE_STATUSES, DEFAULT_WEEKLY, BusinessHours, Clock, SLAPolicy
from helpdesk.web import render

bp = Blueprint("sla", __name__)

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
ESCALATION_ROWS = 3


def _admin(view):
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        require(current_user, "admin.sla")
        return view(*args, **kwargs)
    return wrapped


# --- calendars -------------------------------------------------------------------------------


@bp.get("/admin/calendars")
@_admin
def calendars():
    return render("sla/calendars.html", calendars=queries.all_business_hours())


@bp.route("/admin/calendars/new", methods=["GET", "POST"])
@_admin
def new_calendar():
    return _calendar_page(None)


@bp.route("/admin/calendars/<int:hours_id>", methods=["GET", "POST"])
@_admin
def edit_calendar(hours_id: int):
    return _calendar_page(people_queries.get_or_404(BusinessHours, hours_id))


def _calendar_page(hours: BusinessHours | None):
    errors, values = {}, _calendar_values(hours)
    groups = people_queries.all_groups()
    if request.method == "POST":
        values = request.form.to_dict()
        values["group_ids"] = [int(v) for v in request.form.getlist("group_ids") if v.isdigit()]
        try:
            hours = services.save_business_hours(current_user, hours, name=values.get("name", ""),
                                                 timezone=values.get("timezone", "").strip(),
                                                 weekly=_parse_weekly(values), holidays=_parse_holidays(values.get("holidays", "")))
            services.set_group_calendars(current_user, hours, [g for g in groups if g.id in values["group_ids"]])
            db.session.commit()
            flash(gettext('Calendar %(name)s saved; open cases under its policies are being recomputed.', name=hours.name), "success")
            return redirect(url_for("sla.edit_calendar", hours_id=hours.id))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.errors
    return render("sla/calendar_form.html", status=422 if errors else 200, hours=hours, values=values,
                  errors=errors, weekdays=WEEKDAYS, this_year=date.today().year, groups=groups)


@bp.post("/admin/calendars/<int:hours_id>/import-ical")
@_admin
def import_ical(hours_id: int):
    hours = people_queries.get_or_404(BusinessHours, hours_id)
    upload = request.files.get("ics")
    if upload is None or not upload.filename:
        raise ValidationFailed({"ics": gettext("Choose an iCalendar (.ics) file.")})
    added, skipped = services.import_ical(current_user, hours, upload.read())
    db.session.commit()
    if skipped:
        flash(gettext("%(added)s holiday(s) added to %(name)s; %(skipped)s timed or too long event(s) skipped.",
                      added=added, name=hours.name, skipped=skipped), "success")
    else:
        flash(gettext("%(added)s holiday(s) added to %(name)s.", added=added, name=hours.name), "success")
    return redirect(url_for("sla.edit_calendar", hours_id=hours.id))


@bp.post("/admin/calendars/<int:hours_id>/import-holidays")
@_admin
def import_holidays(hours_id: int):
    hours = people_queries.get_or_404(BusinessHours, hours_id)
    try:
        years = [int(y) for y in request.form.get("years", "").replace(",", " ").split()]
    except ValueError:
        years = []
    if not years or any(not 1900 < y < 2200 for y in years):
        raise ValidationFailed({"years": gettext("Give one or more years, e.g. 2026 2027.")})
    added = services.import_holidays(current_user, hours, country=request.form.get("country", ""),
                                     subdivision=request.form.get("subdivision", ""), years=years)
    db.session.commit()
    flash(gettext('%(added)s holiday(s) added to %(name)s.', added=added, name=hours.name), "success")
    return redirect(url_for("sla.edit_calendar", hours_id=hours.id))


def _calendar_values(hours: BusinessHours | None) -> dict:
    weekly = hours.weekly if hours else DEFAULT_WEEKLY
    values = {"name": hours.name if hours else "", "timezone": hours.timezone if hours else "UTC",
              "holidays": "\n".join(f"{h['date']} {h['name']}" for h in (hours.holidays if hours else [])),
              "group_ids": [g.id for g in people_queries.all_groups() if hours and g.business_hours_id == hours.id]}
    for day in range(7):
        values[f"weekly_{day}"] = ", ".join(f"{s}-{e}" for s, e in weekly.get(str(day), []))
    return values


def _parse_weekly(values: dict) -> dict:
    weekly, errors = {}, {}
    for day in range(7):
        intervals = []
        for part in (values.get(f"weekly_{day}") or "").replace(";", ",").split(","):
            if not part.strip():
                continue
            start, sep, end = part.strip().partition("-")
            if not sep:
                errors[f"weekly_{day}"] = f"Write intervals as 09:00-17:00, not {part.strip()!r}."
                continue
            intervals.append([start.strip(), end.strip()])
        weekly[str(day)] = intervals
    if errors:
        raise ValidationFailed(errors)
    return weekly


def _parse_holidays(text: str) -> list[dict]:
    out = []
    for line in text.splitlines():
        if line.strip():
            day, _, name = line.strip().partition(" ")
            out.append({"date": day, "name": name.strip()})
    return out


# --- policies --------------------------------------------------------------------------------


@bp.get("/admin/sla-policies")
@_admin
def policies():
    return render("sla/policies.html", policies=queries.all_policies())


@bp.route("/admin/sla-policies/new", methods=["GET", "POST"])
@_admin
def new_policy():
    return _policy_page(None)


@bp.route("/admin/sla-policies/<int:policy_id>", methods=["GET", "POST"])
@_admin
def edit_policy(policy_id: int):
    return _policy_page(people_queries.get_or_404(SLAPolicy, policy_id))


def _policy_page(policy: SLAPolicy | None):
    errors, data = {}, _policy_data(policy)
    if request.method == "POST":
        data = _posted_policy(request.form)
        try:
            policy = services.save_policy(current_user, policy, data)
            db.session.commit()
            flash(gettext('Policy %(name)s saved; its open cases are being recomputed.', name=policy.name), "success")
            return redirect(url_for("sla.policies"))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.errors
    return render("sla/policy_form.html", status=422 if errors else 200, policy=policy, data=data, errors=errors,
                  calendars=queries.all_business_hours(), priorities=list(Priority), clocks=list(Clock),
                  statuses=[s for s in Status if s.is_open], channels=list(Channel), groups=people_queries.all_groups(),
                  organizations=people_queries.search_organizations(limit=500), agents=people_queries.all_users(),
                  escalation_rows=range(max(ESCALATION_ROWS, len(data["escalations"]) + 1)))


def _policy_data(policy: SLAPolicy | None) -> dict:
    if policy is None:
        return {"name": "", "position": 0, "active": True, "is_default": False, "business_hours_id": None,
                "conditions": {}, "targets": {}, "pause_statuses": list(DEFAULT_PAUSE_STATUSES), "warning_percent": 75,
                "escalations": []}
    return {"name": policy.name, "position": policy.position, "active": policy.active, "is_default": policy.is_default,
            "business_hours_id": policy.business_hours_id, "conditions": dict(policy.conditions or {}),
            "targets": policy.targets or {}, "pause_statuses": list(policy.pause_statuses or []),
            "warning_percent": policy.warning_percent, "escalations": list(policy.escalations or [])}


def _posted_policy(form) -> dict:
    def ints(name: str) -> list[int]:
        return [int(v) for v in form.getlist(name) if v.isdigit()]

    custom = {}
    for line in form.get("cond_custom_fields", "").splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip():
            custom[key.strip()] = value.strip()
    escalations = []
    for i in range(int(form.get("escalation_rows") or ESCALATION_ROWS)):
        rule = {"on": form.get(f"esc_{i}_on", ""), "clock": form.get(f"esc_{i}_clock", "any"),
                "notify": [n for n in form.getlist(f"esc_{i}_notify") if n in ("assignee", "group", "managers")],
                "assignee_id": int(form[f"esc_{i}_assignee_id"]) if form.get(f"esc_{i}_assignee_id", "").isdigit() else None,
                "group_id": int(form[f"esc_{i}_group_id"]) if form.get(f"esc_{i}_group_id", "").isdigit() else None,
                "raise_priority": bool(form.get(f"esc_{i}_raise_priority"))}
        if rule["on"] in ("warned", "breached"):
            escalations.append(rule)
    return {
        "name": form.get("name", ""), "position": form.get("position", "0") if form.get("position", "").lstrip("-").isdigit() else 0,
        "active": bool(form.get("active")), "is_default": bool(form.get("is_default")),
        "business_hours_id": form.get("business_hours_id") or None,
        "conditions": {"organization_ids": ints("cond_organization_ids"), "priorities": ints("cond_priorities"),
                       "channels": [c for c in form.getlist("cond_channels") if c in Channel._value2member_map_],
                       "group_ids": ints("cond_group_ids"),
                       "tags": [t.strip().lower() for t in form.get("cond_tags", "").split(",") if t.strip()],
                       "custom_fields": custom},
        "targets": {str(int(p)): {c.value: form.get(f"target_{int(p)}_{c.value}", "") for c in Clock} for p in Priority},
        "pause_statuses": form.getlist("pause_statuses"),
        "warning_percent": form.get("warning_percent", ""),
        "escalations": escalations,
    }


# --- the case page ----------------------------------------------------------------------------


@bp.get("/cases/<int:case_id>/sla-preview")
@login_required
def preview_deadlines(case_id: int):
    """What the deadlines would become under another priority (htmx, from the priority select)."""
    require(current_user, "case.view")
    case = case_queries.get_case(case_id)
    raw = request.args.get("priority", "")
    if not raw.isdigit() or int(raw) not in Priority._value2member_map_:
        raise ValidationFailed({"priority": gettext("Choose a priority.")})
    return render("sla/_preview.html", preview=queries.deadline_preview(case, Priority(int(raw))), case=case)


bp.add_app_template_global(queries.badge, "sla_badge")
bp.add_app_template_global(queries.case_overview, "sla_overview")
