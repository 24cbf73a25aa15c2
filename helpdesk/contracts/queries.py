"""Reads about contracts and time: a customer's active contract, lists, a case's time, the hours report."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from flask_babel import gettext
from sqlalchemy import case as sql_case
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from helpdesk.cases.models import Case
from helpdesk.contracts.models import ContractStatus, ServiceContract, TimeLog, TrackingUnit
from helpdesk.errors import NotFound
from helpdesk.extensions import db
from helpdesk.people.models import Contact, Organization, User
from helpdesk.types import utcnow

PAGE = 50


def today() -> date:
    return utcnow().date()


def get_contract(contract_id: int) -> ServiceContract:
    contract = db.session.get(ServiceContract, contract_id)
    if contract is None or contract.deleted_at is not None:
        raise NotFound(f"No service contract {contract_id}.")
    return contract


def get_time_log(log_id: int) -> TimeLog:
    log = db.session.get(TimeLog, log_id)
    if log is None or log.case.deleted_at is not None:
        raise NotFound(f"No time log {log_id}.")
    return log


def active_contract_for(contact_id: int | None, organization_id: int | None, on: date | None = None) -> ServiceContract | None:
    """The customer's contract a new case counts against: active on that day, the contact's own
    before the organization's, then the one ending soonest. One indexed query."""
    if contact_id is None and organization_id is None:
        return None
    on = on or today()
    who = []
    if contact_id is not None:
        who.append(ServiceContract.contact_id == contact_id)
    if organization_id is not None:
        who.append(ServiceContract.organization_id == organization_id)
    own = ServiceContract.contact_id == contact_id if contact_id is not None else False
    return db.session.scalar(
        select(ServiceContract)
        .where(or_(*who), ServiceContract.status == ContractStatus.ACTIVE, ServiceContract.deleted_at.is_(None),
               ServiceContract.start_date <= on, ServiceContract.end_date >= on)
        .order_by(sql_case((own, 0), else_=1), ServiceContract.end_date, ServiceContract.id)
        .limit(1)
    )


def customer_contracts(contact_id: int | None, organization_id: int | None) -> list[ServiceContract]:
    """Every live contract of a customer (for the case panel's picker), newest first."""
    who = []
    if contact_id is not None:
        who.append(ServiceContract.contact_id == contact_id)
    if organization_id is not None:
        who.append(ServiceContract.organization_id == organization_id)
    if not who:
        return []
    return list(db.session.scalars(
        select(ServiceContract).where(or_(*who), ServiceContract.deleted_at.is_(None))
        .order_by(ServiceContract.end_date.desc(), ServiceContract.id.desc()).limit(50)))


@dataclass
class ContractFilter:
    status: str = ""
    unit: str = ""
    q: str = ""

    @classmethod
    def from_args(cls, args) -> ContractFilter:
        f = cls(status=args.get("status", ""), unit=args.get("unit", ""), q=args.get("q", "").strip())
        if f.status not in ContractStatus._value2member_map_:
            f.status = ""
        if f.unit not in TrackingUnit._value2member_map_:
            f.unit = ""
        return f


def contracts(f: ContractFilter, limit: int = 200) -> list[ServiceContract]:
    stmt = (select(ServiceContract).where(ServiceContract.deleted_at.is_(None))
            .options(selectinload(ServiceContract.contact), selectinload(ServiceContract.organization))
            .order_by(ServiceContract.end_date, ServiceContract.id).limit(limit))
    if f.status:
        stmt = stmt.where(ServiceContract.status == ContractStatus(f.status))
    if f.unit:
        stmt = stmt.where(ServiceContract.tracking_unit == TrackingUnit(f.unit))
    if f.q:
        like = f"%{f.q}%"
        stmt = (stmt.outerjoin(Contact, ServiceContract.contact_id == Contact.id)
                .outerjoin(Organization, ServiceContract.organization_id == Organization.id)
                .where(or_(ServiceContract.name.ilike(like), Contact.name.ilike(like), Organization.name.ilike(like))))
    return list(db.session.scalars(stmt))


def contract_cases(contract: ServiceContract, limit: int = 100) -> list[Case]:
    return list(db.session.scalars(
        select(Case).where(Case.service_contract_id == contract.id, Case.deleted_at.is_(None))
        .order_by(Case.created_at.desc(), Case.id.desc()).limit(limit)))


def contract_time_logs(contract: ServiceContract, limit: int = 100) -> list[TimeLog]:
    return list(db.session.scalars(
        select(TimeLog).join(Case, TimeLog.case_id == Case.id)
        .where(Case.service_contract_id == contract.id, Case.deleted_at.is_(None))
        .options(selectinload(TimeLog.user), selectinload(TimeLog.case))
        .order_by(TimeLog.started_at.desc(), TimeLog.id.desc()).limit(limit)))


@dataclass
class CaseTime:
    logs: list[TimeLog]
    total_minutes: int
    billable_minutes: int
    running: TimeLog | None  # the viewer's own timer on this case


def case_time(case: Case, user: User | None) -> CaseTime:
    logs = list(db.session.scalars(
        select(TimeLog).where(TimeLog.case_id == case.id).options(selectinload(TimeLog.user))
        .order_by(TimeLog.started_at.desc(), TimeLog.id.desc())))
    done = [entry for entry in logs if not entry.running]
    running = next((entry for entry in logs if entry.running and user is not None and entry.user_id == user.id), None)
    return CaseTime(logs, sum(entry.minutes for entry in done), sum(entry.minutes for entry in done if entry.billable), running)


def running_timer(user: User) -> TimeLog | None:
    return db.session.scalar(select(TimeLog).where(TimeLog.user_id == user.id, TimeLog.stopped_at.is_(None)))


# --- the hours report ---------------------------------------------------------------------------


@dataclass
class ReportFilter:
    start: date
    end: date
    billable: str = ""  # "", "yes", "no"

    @classmethod
    def from_args(cls, args) -> ReportFilter:
        end = _date(args.get("end")) or today()
        start = _date(args.get("start")) or end - timedelta(days=29)
        billable = args.get("billable", "")
        return cls(min(start, end), max(start, end), billable if billable in ("yes", "no") else "")


def _date(raw) -> date | None:
    try:
        return date.fromisoformat(str(raw or "").strip())
    except ValueError:
        return None


@dataclass
class Row:
    label: str
    minutes: int
    billable_minutes: int
    url_kind: str = ""
    url_id: int | None = None


@dataclass
class HoursReport:
    total_minutes: int
    billable_minutes: int
    by_agent: list[Row]
    by_customer: list[Row]
    by_contract: list[Row]
    by_case: list[Row]


def hours_report(f: ReportFilter, top: int = 50) -> HoursReport:
    """Minutes logged in the period (stopped timers and manual entries), summed four ways.

    One grouped query (per case and agent) summed again here four ways; only the top rows' names
    are looked up.
    """
    start = datetime.combine(f.start, datetime.min.time(), tzinfo=timezone.utc)
    end = datetime.combine(f.end + timedelta(days=1), datetime.min.time(), tzinfo=timezone.utc)
    where = [TimeLog.stopped_at.is_not(None), TimeLog.started_at >= start, TimeLog.started_at < end]
    if f.billable:
        where.append(TimeLog.billable.is_(f.billable == "yes"))
    # The period's entries summed per case and agent first (by the started_at index), then their
    # cases by key: joined the other way round the planners walk every case and probe its entries.
    billable_minutes = sql_case((TimeLog.billable, TimeLog.minutes), else_=0)
    pairs = (select(TimeLog.case_id, TimeLog.user_id, func.sum(TimeLog.minutes).label("m"),
                    func.sum(billable_minutes).label("b"))
             .where(*where).group_by(TimeLog.case_id, TimeLog.user_id).cte("period_pairs").prefix_with("MATERIALIZED"))
    rows = db.session.execute(
        select(pairs.c.user_id, Case.id, Case.service_contract_id, Case.organization_id, Case.contact_id,
               pairs.c.m, pairs.c.b)
        .select_from(pairs).join(Case, pairs.c.case_id == Case.id).where(Case.deleted_at.is_(None))).all()
    agents_: dict = {}
    cases_: dict = {}
    contracts: dict = {}
    customers: dict = {}
    for user_id, case_id, contract_id, org_id, contact_id, m, b in rows:
        customer = ("org", org_id) if org_id else ("contact", contact_id)
        for bucket, key in ((agents_, user_id), (cases_, case_id), (contracts, contract_id), (customers, customer)):
            total = bucket.setdefault(key, [0, 0])
            total[0] += int(m or 0)
            total[1] += int(b or 0)

    def ranked(items):
        return sorted(items, key=lambda kv: (-kv[1][0], str(kv[0])))[:top]

    agents = ranked(agents_.items())
    user_names = _names(User, [k for k, _ in agents])
    top_contracts = ranked(contracts.items())
    contract_names = _names(ServiceContract, [k for k, _ in top_contracts if k])
    top_customers = ranked(customers.items())
    org_names = _names(Organization, [k[1] for k, _ in top_customers if k[0] == "org"])
    contact_names = _names(Contact, [k[1] for k, _ in top_customers if k[0] == "contact" and k[1]])
    top_cases = ranked(cases_.items())
    case_titles = dict((i, f"{n} {s}") for i, n, s in db.session.execute(
        select(Case.id, Case.number, Case.subject).where(Case.id.in_([k for k, _ in top_cases])))) if top_cases else {}
    return HoursReport(
        total_minutes=sum(m for m, _ in agents_.values()),
        billable_minutes=sum(b for _, b in agents_.values()),
        by_agent=[Row(user_names.get(k, "?"), m, b) for k, (m, b) in agents],
        by_customer=[Row((org_names if k[0] == "org" else contact_names).get(k[1], "No customer"), m, b)
                     for k, (m, b) in top_customers],
        by_contract=[Row(contract_names.get(k, "No contract"), m, b, "contract" if k else "", k) for k, (m, b) in top_contracts],
        by_case=[Row(case_titles.get(k, "?"), m, b, "case", k) for k, (m, b) in top_cases],
    )


def _names(model, ids: list) -> dict:
    if not ids:
        return {}
    return dict(db.session.execute(select(model.id, model.name).where(model.id.in_(ids))).all())


def customer_minutes(contact_id: int | None = None, organization_id: int | None = None) -> int:
    """Total minutes logged on a customer's cases (for other pages' key figures)."""
    cond = []
    if contact_id is not None:
        cond.append(Case.contact_id == contact_id)
    if organization_id is not None:
        cond.append(Case.organization_id == organization_id)
    if not cond:
        return 0
    return int(db.session.scalar(select(func.coalesce(func.sum(TimeLog.minutes), 0)).join(Case, TimeLog.case_id == Case.id)
                                 .where(or_(*cond), Case.deleted_at.is_(None), TimeLog.stopped_at.is_not(None))) or 0)



def entitlement(case: Case) -> str:
    """What the case is entitled to, in words, for its page."""
    contract = case.service_contract
    policy = case.sla_policy
    if contract is not None:
        if contract.sla_policy_id and policy is not None and policy.id == contract.sla_policy_id:
            return gettext("Entitled by %(contract)s: SLA policy %(policy)s.", contract=contract.name, policy=policy.name)
        if policy:
            return gettext("Counts against %(contract)s; SLA policy %(policy)s.", contract=contract.name, policy=policy.name)
        return gettext("Counts against %(contract)s.", contract=contract.name)
    if policy is not None and policy.is_default:
        return gettext("No active service contract: the default SLA policy %(policy)s applies.", policy=policy.name)
    if policy is not None:
        return gettext("No active service contract: SLA policy %(policy)s by its conditions.", policy=policy.name)
    return gettext("No active service contract.")
