"""Contracts and time: used units, status, the intake link, SLA entitlement, the timer, notices."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from helpdesk.cases import services as cases
from helpdesk.cases.models import Activity, Status
from helpdesk.contracts import services
from helpdesk.contracts.jobs import review_contracts
from helpdesk.contracts.models import ContractStatus, TimeLog
from helpdesk.errors import PermissionDenied, ValidationFailed
from helpdesk.extensions import db
from helpdesk.sla.models import SLAEvent


@pytest.fixture
def agent(make_user):
    return make_user(name="Ada Agent")


@pytest.fixture
def customer(make_organization, make_contact):
    org = make_organization(name="Acme")
    return make_contact(name="Carla Customer", organization=org)


def test_a_new_case_links_itself_to_the_customers_active_contract(clock, agent, customer, make_contract, make_case, make_contact):
    make_contract(organization=customer.organization, name="Expired pack", start_date="2025-01-01", end_date="2025-12-31")
    make_contract(organization=customer.organization, name="Future pack", start_date="2026-06-01", end_date="2026-12-31")
    org_wide = make_contract(organization=customer.organization, name="Acme support")
    own = make_contract(contact=customer, name="Carla's gold pack", end_date="2026-09-30")
    case = make_case(agent, contact=customer)
    assert case.service_contract == own  # the contact's own before the organization's
    colleague = make_contact(organization=customer.organization)
    assert make_case(agent, contact=colleague).service_contract == org_wide
    assert make_case(agent, contact=make_contact()).service_contract is None


def test_hours_are_counted_from_billable_time_on_linked_cases(clock, agent, customer, make_contract, make_case):
    contract = make_contract(contact=customer, total_units=2)
    case = make_case(agent, contact=customer)
    services.log_time(agent, case, minutes="1h30m", note="Replaced the fuser")
    services.log_time(agent, case, minutes=45, billable=False, note="Travel")
    assert contract.used_units == 1.5 and contract.remaining_units == 0.5
    assert contract.status == ContractStatus.ACTIVE
    entry = services.log_time(agent, case, minutes=30)
    assert contract.used_units == 2 and contract.status == ContractStatus.EXHAUSTED
    services.delete_time_log(agent, entry)
    assert contract.used_units == 1.5 and contract.status == ContractStatus.ACTIVE


def test_days_use_the_contracts_hours_per_day(clock, agent, customer, make_contract, make_case):
    contract = make_contract(contact=customer, tracking_unit="days", total_units=3, hours_per_day=6)
    case = make_case(agent, contact=customer)
    services.log_time(agent, case, minutes="9h")
    assert contract.used_units == 1.5 and contract.remaining_units == 1.5


def test_incidents_are_counted_from_closed_cases(clock, agent, customer, make_contract, make_case):
    contract = make_contract(contact=customer, tracking_unit="incidents", total_units=2)
    first, second = make_case(agent, contact=customer), make_case(agent, contact=customer)
    cases.change_status(agent, first, Status.RESOLVED)
    assert contract.used_units == 0  # resolved is not closed
    cases.change_status(agent, first, Status.CLOSED)
    assert contract.used_units == 1 and contract.status == ContractStatus.ACTIVE
    cases.change_status(agent, second, Status.CLOSED)
    assert contract.used_units == 2 and contract.status == ContractStatus.EXHAUSTED


def test_reopening_a_closed_case_gives_the_incident_back(clock, agent, make_user, customer, make_contract, make_case):
    contract = make_contract(contact=customer, tracking_unit="incidents", total_units=5)
    case = make_case(agent, contact=customer)
    cases.change_status(agent, case, Status.CLOSED)
    assert contract.used_units == 1
    cases.change_status(make_user(role="manager"), case, Status.OPEN)
    assert contract.used_units == 0


def test_a_contract_expires_after_its_last_day(clock, agent, customer, make_contract):
    contract = make_contract(contact=customer, end_date="2026-03-31")
    assert contract.status == ContractStatus.ACTIVE
    review_contracts(date(2026, 3, 31))
    assert contract.status == ContractStatus.ACTIVE
    review_contracts(date(2026, 4, 1))
    assert contract.status == ContractStatus.EXPIRED


def test_moving_a_case_to_another_contract_moves_its_hours(clock, agent, customer, make_contract, make_case):
    first = make_contract(contact=customer, name="First")
    second = make_contract(contact=customer, name="Second", end_date="2026-06-30")
    case = make_case(agent, contact=customer)
    assert case.service_contract == second
    services.log_time(agent, case, minutes=120)
    assert second.used_units == 2
    services.link_case(agent, case, {"service_contract_id": str(first.id)})
    assert (first.used_units, second.used_units) == (2, 0)
    history = db.session.scalars(select(Activity).where(Activity.case_id == case.id, Activity.field == "service_contract")).all()
    assert [(a.old, a.new) for a in history] == [("Second", "First")]


def test_a_contract_of_another_customer_is_refused(clock, agent, customer, make_contract, make_case, make_contact):
    other = make_contract(contact=make_contact(), name="Someone else's")
    case = make_case(agent, contact=customer)
    with pytest.raises(ValidationFailed) as exc:
        services.link_case(agent, case, {"service_contract_id": str(other.id)})
    assert "service_contract_id" in exc.value.errors


def test_contract_validation_names_the_fields(app):
    with pytest.raises(ValidationFailed) as exc:
        services.save_contract(None, None, {"name": "", "start_date": "2026-05-01", "end_date": "2026-04-01",
                                             "tracking_unit": "weeks", "total_units": "-3"})
    assert set(exc.value.errors) >= {"name", "contact_id", "end_date", "tracking_unit", "total_units"}


# --- SLA entitlement ---------------------------------------------------------------------------


def test_the_contracts_sla_policy_decides_at_intake(clock, agent, customer, make_contract, make_case, make_sla_policy):
    make_sla_policy(name="Standard", is_default=True)
    make_sla_policy(name="Urgent things", position=0, conditions={"priorities": [2]})
    gold = make_sla_policy(name="Gold", first=15)
    make_contract(contact=customer, sla_policy=gold)
    case = make_case(agent, contact=customer)
    assert case.sla_policy == gold  # the contract wins over a matching conditional policy
    reason = db.session.scalar(select(SLAEvent.reason).where(SLAEvent.case_id == case.id, SLAEvent.kind == "policy_changed"))
    assert "entitled by service contract" in reason
    assert case.first_response_due_at == clock.now + timedelta(minutes=15)


def test_a_customer_without_a_contract_gets_the_default_policy(clock, agent, make_contact, make_case, make_sla_policy):
    from helpdesk.contracts.queries import entitlement

    standard = make_sla_policy(name="Standard", is_default=True)
    case = make_case(agent, contact=make_contact())
    assert case.sla_policy == standard and case.service_contract is None
    assert entitlement(case) == "No active service contract: the default SLA policy Standard applies."


def test_linking_a_contract_later_applies_its_policy(clock, agent, customer, make_contract, make_case, make_sla_policy):
    make_sla_policy(name="Standard", is_default=True)
    case = make_case(agent, contact=customer)
    gold = make_sla_policy(name="Gold", first=15)
    contract = make_contract(contact=customer, sla_policy=gold)
    services.link_case(agent, case, {"service_contract_id": str(contract.id)})
    assert case.sla_policy == gold


# --- time logs and the timer -------------------------------------------------------------------


def test_the_timer_measures_whole_minutes(clock, agent, customer, make_case):
    case = make_case(agent, contact=customer)
    entry = services.start_timer(agent, case, note="On the phone")
    assert entry.running and entry.minutes == 0
    clock.set(clock.now + timedelta(minutes=12, seconds=5))
    services.stop_timer(agent, entry)
    assert not entry.running and entry.minutes == 13
    assert services.stop_timer(agent, entry).minutes == 13  # a second click changes nothing
    logged = db.session.scalar(select(Activity).where(Activity.case_id == case.id, Activity.action == "logged_time"))
    assert "13 min" in logged.reason and "timer" in logged.reason


def test_starting_a_timer_stops_the_one_running_elsewhere(clock, agent, customer, make_case):
    first, second = make_case(agent, contact=customer), make_case(agent, contact=customer)
    running = services.start_timer(agent, first)
    assert services.start_timer(agent, first) is running  # already running here
    clock.set(clock.now + timedelta(minutes=30))
    services.start_timer(agent, second)
    assert running.minutes == 30 and not running.running
    assert db.session.scalar(select(TimeLog).where(TimeLog.user_id == agent.id, TimeLog.stopped_at.is_(None))).case == second


def test_time_does_not_make_an_open_reply_form_stale(clock, agent, customer, make_case):
    case = make_case(agent, contact=customer)
    version = case.version
    services.log_time(agent, case, minutes=10)
    assert case.version == version
    cases.reply_to_case(agent, case, body="On it.", version=version)


def test_only_the_author_or_a_manager_changes_a_time_log(clock, agent, make_user, customer, make_case):
    entry = services.log_time(agent, make_case(agent, contact=customer), minutes=20)
    with pytest.raises(PermissionDenied):
        services.update_time_log(make_user(), entry, minutes=5)
    services.update_time_log(make_user(role="manager"), entry, minutes=25, billable=False)
    assert (entry.minutes, entry.billable) == (25, False)


@pytest.mark.parametrize("raw, field", [("0", "minutes"), ("abc", "minutes"), ("25h", "minutes")])
def test_bad_durations_are_refused(clock, agent, customer, make_case, raw, field):
    with pytest.raises(ValidationFailed) as exc:
        services.log_time(agent, make_case(agent, contact=customer), minutes=raw)
    assert field in exc.value.errors


def test_time_cannot_be_logged_in_the_future(clock, agent, customer, make_case):
    with pytest.raises(ValidationFailed) as exc:
        services.log_time(agent, make_case(agent, contact=customer), minutes=5, work_date="2026-03-03")
    assert "work_date" in exc.value.errors


# --- notices -----------------------------------------------------------------------------------


def test_followers_hear_once_per_threshold(clock, agent, customer, make_contract, make_case):
    from helpdesk.notifications.models import Notification
    from helpdesk.notifications.services import follow

    contract = make_contract(contact=customer, total_units=10, end_date="2026-12-31")
    follow(agent, "contract", contract.id)
    case = make_case(agent, contact=customer)
    services.log_time(agent, case, minutes="8h30m")  # 15% left: under the 20% threshold
    assert review_contracts(date(2026, 3, 2)) == 1
    assert review_contracts(date(2026, 3, 2)) == 0  # once
    notes = db.session.scalars(select(Notification).where(Notification.user_id == agent.id)).all()
    assert len(notes) == 1 and "1.5 of 10 units left" in notes[0].title and notes[0].url == f"/contracts/{contract.id}"
    services.log_time(agent, case, minutes="1h")  # 5% left
    assert review_contracts(date(2026, 3, 2)) == 1
    assert review_contracts(date(2026, 12, 25)) == 1  # ends within 7 days
    assert review_contracts(date(2026, 12, 26)) == 0


def test_notices_are_not_sent_to_nobody_twice_or_for_quiet_contracts(clock, customer, make_contract):
    make_contract(contact=customer, end_date="2026-12-31")
    assert review_contracts(date(2026, 3, 2)) == 0


def test_the_review_recounts_after_a_change_that_bypassed_the_services(clock, agent, customer, make_contract, make_case):
    from helpdesk.types import utcnow

    contract = make_contract(contact=customer, total_units=10)
    case = make_case(agent, contact=customer)
    services.log_time(agent, case, minutes="3h")
    case.deleted_at = utcnow()  # as the recycle bin does
    db.session.flush()
    assert contract.used_units == 3
    review_contracts(date(2026, 3, 2))
    assert contract.used_units == 0


def test_expired_notice_only_for_a_recent_end_and_only_once(clock, agent, customer, make_contract):
    from helpdesk.notifications.models import Notification
    from helpdesk.notifications.services import follow

    recent = make_contract(contact=customer, name="Recent", start_date="2025-01-01", end_date="2026-02-27")
    old = make_contract(contact=customer, name="Old", start_date="2024-01-01", end_date="2025-06-30")
    for contract in (recent, old):
        follow(agent, "contract", contract.id)
    assert review_contracts(date(2026, 3, 2)) == 1
    titles = db.session.scalars(select(Notification.title).where(Notification.user_id == agent.id)).all()
    assert titles == ["Service contract Recent (Carla Customer) expired on 2026-02-27"]
    assert old.status == ContractStatus.EXPIRED and review_contracts(date(2026, 3, 3)) == 0


def test_due_notices_and_durations():
    from helpdesk.contracts import policies

    today = date(2026, 3, 2)
    assert policies.due_notices(today, date(2026, 3, 20), 10, 0, ContractStatus.ACTIVE) == [
        ("expiry:2026-03-20:30", "ends in 18 days (2026-03-20)")]
    assert policies.due_notices(today, date(2026, 12, 31), 10, 10, ContractStatus.EXHAUSTED) == [
        ("low:10:0", "has used all its units")]
    assert policies.due_notices(today, date(2026, 12, 31), 10, 7, ContractStatus.ACTIVE) == []
    assert [policies.parse_minutes(x) for x in ("45", "45m", "1h30", "1h30m", "1.5h", "2:15")] == [45, 45, 90, 90, 90, 135]
    assert policies.describe_minutes(135) == "2 h 15 min" and policies.describe_minutes(120) == "2 h"
