"""State changes to service contracts and time logs, and the links of a case to its product,
asset and contract. Each function flushes; the caller commits."""
from __future__ import annotations

from datetime import date, datetime, time, timezone

from sqlalchemy import case as sql_case
from sqlalchemy import func, select

from helpdesk.assets.models import Asset, Product
from helpdesk.cases.models import Activity, Case, Status
from helpdesk.contracts import policies, queries
from helpdesk.contracts.models import ContractStatus, ServiceContract, TimeLog, TrackingUnit
from helpdesk.errors import PermissionDenied, ValidationFailed
from helpdesk.extensions import db
from helpdesk.people.models import Contact, Organization, User
from helpdesk.types import utcnow

NAME_MAX = 200
NOTE_MAX = 500


# --- contracts ---------------------------------------------------------------------------------


def save_contract(actor: User | None, contract: ServiceContract | None, data: dict) -> ServiceContract:
    """Create or update a contract from form data; every field is checked before anything is written."""
    errors: dict[str, str] = {}
    name = " ".join(str(data.get("name") or "").split())
    if not name:
        errors["name"] = "Give the contract a name."
    elif len(name) > NAME_MAX:
        errors["name"] = f"At most {NAME_MAX} characters."
    contact = _load(Contact, data.get("contact_id"), "contact_id", errors)
    organization = _load(Organization, data.get("organization_id"), "organization_id", errors)
    if contact is None and organization is None and "contact_id" not in errors and "organization_id" not in errors:
        errors["contact_id"] = "Choose the customer: a contact, an organization or both."
    start = _parse_date(data.get("start_date"), "start_date", errors, required=True)
    end = _parse_date(data.get("end_date"), "end_date", errors, required=True)
    if start and end and end < start:
        errors["end_date"] = "The contract cannot end before it starts."
    try:
        unit = TrackingUnit(data.get("tracking_unit") or "")
    except ValueError:
        errors["tracking_unit"] = "Track hours, days or incidents."
        unit = TrackingUnit.HOURS
    total = _parse_number(data.get("total_units"), "total_units", errors, low=0, high=1_000_000)
    if total is not None and total <= 0:
        errors["total_units"] = "Give the number of units the customer bought (more than zero)."
    per_day = _parse_number(data.get("hours_per_day") or 8, "hours_per_day", errors, low=1, high=24)
    policy = None
    if data.get("sla_policy_id"):
        from helpdesk.sla.models import SLAPolicy

        policy = _load(SLAPolicy, data.get("sla_policy_id"), "sla_policy_id", errors)
    if errors:
        raise ValidationFailed(errors)
    if contract is None:
        contract = ServiceContract()
        db.session.add(contract)
    contract.name, contract.contact, contract.organization = name, contact, organization
    contract.start_date, contract.end_date, contract.tracking_unit = start, end, unit
    contract.total_units, contract.hours_per_day = float(total), float(per_day)
    contract.sla_policy = policy
    contract.updated_at = utcnow()
    db.session.flush()
    refresh_usage(contract)
    return contract


def refresh_usage(contract: ServiceContract, today: date | None = None) -> ContractStatus:
    """Recount the units one contract used (billable time on its cases, or its closed cases) and
    set its status."""
    refresh_usages([contract], today)
    return contract.status


def refresh_usages(contracts: list[ServiceContract], today: date | None = None) -> None:
    """Recount several contracts in two grouped queries and set their statuses.

    Counted from the source rows each time rather than added up, so a deleted or edited time log,
    a case moved to another contract or a reopened case can never leave a drift behind.
    """
    if not contracts:
        return
    today = today or queries.today()
    timed = [c.id for c in contracts if c.tracking_unit != TrackingUnit.INCIDENTS]
    counted = [c.id for c in contracts if c.tracking_unit == TrackingUnit.INCIDENTS]
    minutes: dict[int, int] = {}
    closed: dict[int, int] = {}
    if timed:
        minutes = dict(db.session.execute(
            select(Case.service_contract_id, func.sum(TimeLog.minutes)).join(TimeLog, TimeLog.case_id == Case.id)
            .where(Case.service_contract_id.in_(timed), Case.deleted_at.is_(None),
                   TimeLog.billable.is_(True), TimeLog.stopped_at.is_not(None))
            .group_by(Case.service_contract_id)).all())
    if counted:
        closed = dict(db.session.execute(
            select(Case.service_contract_id, func.count(Case.id))
            .where(Case.service_contract_id.in_(counted), Case.status == Status.CLOSED,
                   Case.deleted_at.is_(None), Case.merged_into_id.is_(None))
            .group_by(Case.service_contract_id)).all())
    for contract in contracts:
        if contract.tracking_unit == TrackingUnit.INCIDENTS:
            used_minutes, used = 0, float(closed.get(contract.id, 0))
        else:
            used_minutes = int(minutes.get(contract.id) or 0)
            used = policies.units_from_minutes(contract.tracking_unit, used_minutes, contract.hours_per_day)
        if contract.used_minutes != used_minutes:
            contract.used_minutes = used_minutes
        _set_used(contract, used, today)
    db.session.flush()


def _not_below_zero(expression):
    return sql_case((expression < 0, 0), else_=expression)


def _set_used(contract: ServiceContract, used: float, today: date) -> None:
    if contract.used_units != used:
        contract.used_units = used
    status = policies.contract_status(today, contract.end_date, contract.total_units, used)
    if contract.status != status:
        contract.status = status


def add_usage(contract: ServiceContract | None, *, minutes: int = 0, incidents: int = 0) -> None:
    """One change's effect on a contract: billable minutes (hours and days contracts) or closed
    cases (incidents contracts) added or taken away.

    Added in SQL (a row lock on PostgreSQL), so concurrent changes all count; cheap however
    many cases the contract has. review_contracts recounts from the source rows as a backstop.
    """
    if contract is None or contract.id is None:
        return
    table = ServiceContract.__table__
    if contract.tracking_unit == TrackingUnit.INCIDENTS:
        if not incidents:
            return
        db.session.flush()
        db.session.execute(table.update().where(table.c.id == contract.id)
                           .values(used_units=_not_below_zero(table.c.used_units + incidents)))
        db.session.refresh(contract, ["used_units"])
        used = contract.used_units
    else:
        if not minutes:
            return
        db.session.flush()
        db.session.execute(table.update().where(table.c.id == contract.id)
                           .values(used_minutes=_not_below_zero(table.c.used_minutes + minutes)))
        db.session.refresh(contract, ["used_minutes"])
        used = policies.units_from_minutes(contract.tracking_unit, contract.used_minutes, contract.hours_per_day)
    _set_used(contract, used, queries.today())
    db.session.flush()


def link_active_contract(case: Case) -> ServiceContract | None:
    """At intake: a new case of a customer counts against that customer's active contract."""
    if case.service_contract_id is not None:
        return case.service_contract
    contract = queries.active_contract_for(case.contact.id if case.contact else case.contact_id,
                                           case.organization.id if case.organization else case.organization_id)
    if contract is not None:
        case.service_contract = contract
    return contract


def case_status_changed(case: Case, old: Status, new: Status) -> None:
    """A case of an incident contract closed or reopened: the contract's count changes."""
    if old != new and Status.CLOSED in (old, new) and case.merged_into_id is None:
        add_usage(case.service_contract, incidents=1 if new == Status.CLOSED else -1)


# --- a case's product, asset and contract -------------------------------------------------------


def link_case(actor: User, case: Case, data: dict, *, version: int | None = None) -> list[Activity]:
    """Set any of product_id, asset_id and service_contract_id on a case ("" clears one).

    A contract must belong to the case's customer; picking an asset sets its product when none is
    given; a contract with an SLA policy puts the case under that policy (entitlement).
    """
    from helpdesk.cases.services import _Change, _require_live, check_version

    _require_live(case)
    check_version(case, version)
    errors: dict[str, str] = {}
    product = _load(Product, data["product_id"], "product_id", errors) if "product_id" in data else case.product
    asset = _load(Asset, data["asset_id"], "asset_id", errors) if "asset_id" in data else case.asset
    contract = (_load(ServiceContract, data["service_contract_id"], "service_contract_id", errors)
                if "service_contract_id" in data else case.service_contract)
    if asset is not None and "product_id" not in errors:
        if product is None or (asset != case.asset and product == case.product):
            product = asset.product
        elif asset.product_id != product.id:
            errors["product_id"] = f"{asset.serial_number} is a {asset.product.name}: choose that product or another asset."
    if contract is not None and contract != case.service_contract and not _same_customer(contract, case):
        errors["service_contract_id"] = f"{contract.name} is a contract of {contract.customer_name}, not of this case's customer."
    if errors:
        raise ValidationFailed(errors)
    change = _Change(case, actor)
    old_contract = case.service_contract
    for field, old, new in (("product", case.product, product), ("asset", case.asset, asset),
                            ("service_contract", old_contract, contract)):
        if old != new:
            change.log("changed", field, old, new)
            setattr(case, field, new)
    change.done()
    if old_contract != contract:
        minutes = _billable_minutes(case)
        closed = 1 if case.status == Status.CLOSED else 0
        add_usage(old_contract, minutes=-minutes, incidents=-closed)
        add_usage(contract, minutes=minutes, incidents=closed)
        if contract is not None and contract.sla_policy is not None and contract.sla_policy_id != case.sla_policy_id:
            from helpdesk.sla.services import change_case_policy

            change_case_policy(actor, case, contract.sla_policy)
    if asset is not None and any(r.field == "asset" for r in change.rows):
        _tell_followers("asset", asset.id, f"{case.number} is about {asset.serial_number}", case, actor)
    if product is not None and any(r.field == "product" for r in change.rows):
        _tell_followers("product", product.id, f"{case.number} is about {product.name}", case, actor)
    return change.rows


def _billable_minutes(case: Case) -> int:
    return int(db.session.scalar(select(func.coalesce(func.sum(TimeLog.minutes), 0)).where(
        TimeLog.case_id == case.id, TimeLog.billable.is_(True), TimeLog.stopped_at.is_not(None))) or 0)


def _same_customer(contract: ServiceContract, case: Case) -> bool:
    if case.contact_id is None and case.organization_id is None:
        return True
    return ((contract.contact_id is not None and contract.contact_id == case.contact_id)
            or (contract.organization_id is not None and contract.organization_id == case.organization_id))


def _tell_followers(target_type: str, target_id: int, title: str, case: Case, actor: User | None) -> None:
    from helpdesk.notifications.queries import TARGETS
    from helpdesk.notifications.services import followers, notify

    if target_type not in TARGETS:
        return  # not (yet) a followable kind of record
    notify(followers(target_type, target_id), kind=f"{target_type}_case", title=title, body=case.subject,
           url=f"/cases/{case.id}", target=(target_type, target_id), actor=actor)


# --- time logs ---------------------------------------------------------------------------------


def log_time(actor: User, case: Case, *, minutes, billable: bool = True, note: str = "",
             work_date: str | date | None = None) -> TimeLog:
    """A manual entry: minutes (or "1h30m") spent on a case, on a day (today by default)."""
    errors: dict[str, str] = {}
    try:
        minutes = policies.parse_minutes(minutes)
    except ValueError as exc:
        errors["minutes"] = f"Time spent {exc}."
    note = _clean_note(note, errors)
    day = _parse_date(work_date, "work_date", errors) if work_date else None
    if day is not None and day > queries.today():
        errors["work_date"] = "Time cannot be logged for a day that has not come yet."
    if errors:
        raise ValidationFailed(errors)
    now = utcnow()
    started = now if day is None or day == now.date() else datetime.combine(day, time(12, 0), tzinfo=timezone.utc)
    entry = TimeLog(case=case, user=actor, minutes=minutes, billable=bool(billable), note=note,
                    started_at=started, stopped_at=started, created_at=now)
    db.session.add(entry)
    db.session.flush()
    _log_activity(actor, case, entry, "logged_time")
    add_usage(case.service_contract, minutes=_counted(entry))
    return entry


def start_timer(actor: User, case: Case, *, billable: bool = True, note: str = "") -> TimeLog:
    """Start measuring time on a case. A timer the agent left running elsewhere stops first
    (one person works on one thing at a time); a timer already running here is kept."""
    errors: dict[str, str] = {}
    note = _clean_note(note, errors)
    if errors:
        raise ValidationFailed(errors)
    running = queries.running_timer(actor)
    if running is not None:
        if running.case_id == case.id:
            return running
        stop_timer(actor, running)
    entry = TimeLog(case=case, user=actor, minutes=0, billable=bool(billable), note=note, started_at=utcnow())
    db.session.add(entry)
    db.session.flush()
    return entry


def stop_timer(actor: User, entry: TimeLog) -> TimeLog:
    _may_change(actor, entry)
    if not entry.running:
        return entry  # a second click, or another tab: already stopped
    entry.stopped_at = utcnow()
    entry.minutes = policies.timer_minutes(entry.started_at, entry.stopped_at)
    db.session.flush()
    _log_activity(actor, entry.case, entry, "logged_time", how="timer")
    add_usage(entry.case.service_contract, minutes=_counted(entry))
    return entry


def update_time_log(actor: User, entry: TimeLog, *, minutes=None, billable: bool | None = None,
                    note: str | None = None) -> TimeLog:
    _may_change(actor, entry)
    errors: dict[str, str] = {}
    if entry.running and minutes is not None:
        errors["minutes"] = "Stop the timer before changing its time."
    elif minutes is not None:
        try:
            minutes = policies.parse_minutes(minutes)
        except ValueError as exc:
            errors["minutes"] = f"Time spent {exc}."
    if note is not None:
        note = _clean_note(note, errors)
    if errors:
        raise ValidationFailed(errors)
    before, counted = _describe(entry), _counted(entry)
    if minutes is not None:
        entry.minutes = minutes
    if billable is not None:
        entry.billable = bool(billable)
    if note is not None:
        entry.note = note
    db.session.flush()
    if _describe(entry) != before:
        _log_activity(actor, entry.case, entry, "changed_time_log", old=before)
        add_usage(entry.case.service_contract, minutes=_counted(entry) - counted)
    return entry


def delete_time_log(actor: User, entry: TimeLog) -> None:
    _may_change(actor, entry)
    case = entry.case
    if not entry.running:
        _log_activity(actor, case, entry, "deleted_time_log")
    counted = _counted(entry)
    db.session.delete(entry)
    db.session.flush()
    add_usage(case.service_contract, minutes=-counted)


def _may_change(actor: User, entry: TimeLog) -> None:
    from helpdesk.auth.policies import can

    if entry.user_id != actor.id and not can(actor, "time.edit_any"):
        raise PermissionDenied("Only a manager may change another agent's time.")


def _counted(entry: TimeLog) -> int:
    """The minutes an entry counts against a contract: billable and stopped."""
    return entry.minutes if entry.billable and not entry.running else 0


def _describe(entry: TimeLog) -> str:
    text = f"{policies.describe_minutes(entry.minutes)}, {'billable' if entry.billable else 'not billable'}"
    return text + (f": {entry.note}" if entry.note else "")


def _log_activity(actor: User, case: Case, entry: TimeLog, action: str, old: str | None = None, how: str = "") -> None:
    # History without a new case version: time is not an edit of the case, so an agent's open
    # reply form stays valid while a colleague's timer runs.
    who = entry.user.name if entry.user else "someone"
    reason = _describe(entry) + (f", by {how}" if how else "") + (f", for {who}" if entry.user_id != actor.id else "")
    db.session.add(Activity(case_id=case.id, actor_user_id=actor.id, action=action, old=old,
                            reason=reason[:500], case_version=case.version))


def _clean_note(note, errors: dict) -> str:
    note = " ".join(str(note or "").split())
    if len(note) > NOTE_MAX:
        errors["note"] = f"At most {NOTE_MAX} characters."
    return note


# --- parsing helpers ---------------------------------------------------------------------------


def _load(model, raw, name: str, errors: dict):
    if raw in (None, "", "none"):
        return None
    obj = db.session.get(model, int(raw)) if str(raw).isdigit() else None
    if obj is None or getattr(obj, "deleted_at", None) is not None:
        errors[name] = f"No such {model.__name__.lower()}: {raw}."
        return None
    return obj


def _parse_date(raw, name: str, errors: dict, required: bool = False) -> date | None:
    if isinstance(raw, date):
        return raw
    text = str(raw or "").strip()
    if not text:
        if required:
            errors[name] = "Give a date (YYYY-MM-DD)."
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[name] = f"{text!r} is not a date (YYYY-MM-DD)."
        return None


def _parse_number(raw, name: str, errors: dict, low: float, high: float) -> float | None:
    text = str(raw if raw is not None else "").strip().replace(",", ".")
    if not text:
        errors[name] = "Give a number."
        return None
    try:
        value = float(text)
    except ValueError:
        errors[name] = f"{text!r} is not a number."
        return None
    if not (low <= value <= high) or value != value:
        errors[name] = f"Between {low:g} and {high:g}."
        return None
    return round(value, 2)
