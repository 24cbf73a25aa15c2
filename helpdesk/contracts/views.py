"""Staff pages for service contracts, the time panel of the case page, and the hours report."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from helpdesk.assets import queries as asset_queries
from helpdesk.auth.policies import require
from helpdesk.cases import queries as case_queries
from helpdesk.contracts import policies, queries, services
from helpdesk.contracts.models import ContractStatus, TrackingUnit
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.web import is_partial_request, render

bp = Blueprint("contracts", __name__)

CONTRACT_FIELDS = ("name", "contact_id", "organization_id", "start_date", "end_date", "tracking_unit", "total_units",
                   "hours_per_day", "sla_policy_id")


@bp.before_request
@login_required
def _require_login():
    require(current_user, "contract.view")


# --- contracts -----------------------------------------------------------------------------------


@bp.get("/contracts")
def contracts():
    f = queries.ContractFilter.from_args(request.args)
    return render("contracts/contracts.html", "contracts/_contracts_table.html", f=f, contracts=queries.contracts(f),
                  statuses=list(ContractStatus), units=list(TrackingUnit))


@bp.route("/contracts/new", methods=["GET", "POST"])
def new_contract():
    return _contract_form(None)


@bp.route("/contracts/<int:contract_id>/edit", methods=["GET", "POST"])
def edit_contract(contract_id: int):
    return _contract_form(queries.get_contract(contract_id))


def _contract_form(contract):
    require(current_user, "contract.edit")
    errors = {}
    form = request.form if request.method == "POST" else _contract_defaults(contract)
    if request.method == "POST":
        try:
            contract = services.save_contract(current_user, contract, {k: form.get(k, "") for k in CONTRACT_FIELDS})
            db.session.commit()
            flash(gettext('Service contract %(name)s saved.', name=contract.name), "success")
            return redirect(url_for("contracts.contract", contract_id=contract.id))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.errors
    from helpdesk.sla.queries import all_policies

    return render("contracts/contract_form.html", status=422 if errors else 200, contract=contract, form=form,
                  errors=errors, units=list(TrackingUnit), policies=all_policies(),
                  contacts=asset_queries.contact_options(), organizations=asset_queries.organization_options())


def _contract_defaults(contract) -> dict:
    if contract is None:
        return {"tracking_unit": "hours", "hours_per_day": "8",
                **{k: request.args.get(k, "") for k in ("contact_id", "organization_id")}}
    return {"name": contract.name, "contact_id": str(contract.contact_id or ""),
            "organization_id": str(contract.organization_id or ""), "start_date": contract.start_date.isoformat(),
            "end_date": contract.end_date.isoformat(), "tracking_unit": contract.tracking_unit.value,
            "total_units": f"{contract.total_units:g}", "hours_per_day": f"{contract.hours_per_day:g}",
            "sla_policy_id": str(contract.sla_policy_id or "")}


@bp.get("/contracts/<int:contract_id>")
def contract(contract_id: int):
    from helpdesk.notifications.services import is_following

    contract = queries.get_contract(contract_id)
    logs = queries.contract_time_logs(contract)
    return render("contracts/contract.html", contract=contract, cases=queries.contract_cases(contract), logs=logs,
                  following=is_following(current_user, "contract", contract.id))


@bp.post("/contracts/<int:contract_id>/follow")
def follow_contract(contract_id: int):
    from helpdesk.notifications.services import follow, unfollow

    contract = queries.get_contract(contract_id)
    wanted = request.form.get("follow") != "0"
    (follow if wanted else unfollow)(current_user, "contract", contract.id)
    db.session.commit()
    if is_partial_request():
        return render("assets/_follow.html", target_type="contract", target_id=contract.id, following=wanted,
                      action=request.path)
    flash(gettext("You follow this contract now.") if wanted else gettext("You no longer follow this contract."), "success")
    return redirect(url_for("contracts.contract", contract_id=contract.id))


# --- time on a case ------------------------------------------------------------------------------


@bp.get("/cases/<int:case_id>/time")
def case_time_panel(case_id: int):
    case = case_queries.get_case(case_id)
    return render("contracts/_case_time.html", case=case, errors={})


@bp.post("/cases/<int:case_id>/time")
def log_time(case_id: int):
    case = case_queries.get_case(case_id)
    require(current_user, "time.log")
    form = request.form
    try:
        services.log_time(current_user, case, minutes=form.get("minutes", ""), billable=bool(form.get("billable")),
                          note=form.get("note", ""), work_date=form.get("work_date") or None)
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        return _time_panel(case_queries.get_case(case_id), exc.errors, form)
    return _time_panel(case, message=gettext("Time logged."))


@bp.post("/cases/<int:case_id>/timer")
def timer(case_id: int):
    case = case_queries.get_case(case_id)
    require(current_user, "time.log")
    if request.form.get("action") == "stop":
        running = queries.running_timer(current_user)
        if running is not None:
            services.stop_timer(current_user, running)
        message = "Timer stopped and time logged."
    else:
        services.start_timer(current_user, case, billable=request.form.get("billable", "1") == "1",
                             note=request.form.get("note", ""))
        message = "Timer started."
    db.session.commit()
    return _time_panel(case, message=message)


@bp.post("/time-logs/<int:log_id>")
def update_time_log(log_id: int):
    entry = queries.get_time_log(log_id)
    case = case_queries.get_case(entry.case_id)
    require(current_user, "time.log")
    form = request.form
    try:
        services.update_time_log(current_user, entry, minutes=form.get("minutes") if not entry.running else None,
                                 billable=bool(form.get("billable")), note=form.get("note", ""))
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        return _time_panel(case_queries.get_case(case.id), {f"edit_{k}": v for k, v in exc.errors.items()}, form,
                           editing=log_id)
    return _time_panel(case, message=gettext("Time entry saved."))


@bp.post("/time-logs/<int:log_id>/delete")
def delete_time_log(log_id: int):
    entry = queries.get_time_log(log_id)
    case = case_queries.get_case(entry.case_id)
    require(current_user, "time.log")
    services.delete_time_log(current_user, entry)
    db.session.commit()
    return _time_panel(case, message=gettext("Time entry deleted."))


def _time_panel(case, errors=None, form=None, message: str | None = None, editing: int | None = None):
    if is_partial_request():
        return render("contracts/_case_time.html", status=422 if errors else 200, case=case, errors=errors or {},
                      form=form or {}, editing=editing)
    if errors:
        raise ValidationFailed(errors)
    flash(message, "success")
    return redirect(url_for("cases.show", case_id=case.id) + "#case-time")


def case_time(case):
    """The case page's time panel data for the signed-in agent (a template global)."""
    return queries.case_time(case, current_user)


# --- the hours report ----------------------------------------------------------------------------


@bp.get("/reports/hours")
def hours_report():
    require(current_user, "time.report")
    f = queries.ReportFilter.from_args(request.args)
    return render("contracts/hours.html", f=f, report=queries.hours_report(f))


bp.add_app_template_global(case_time, "case_time")
bp.add_app_template_filter(policies.describe_minutes, "minutes")
