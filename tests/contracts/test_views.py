"""Contract pages, the case page's links and time panels, the timer over htmx, the hours report."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from helpdesk.contracts import services
from helpdesk.contracts.models import ServiceContract, TimeLog
from helpdesk.extensions import db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def agent(make_user):
    return make_user(name="Ada Agent")


@pytest.fixture
def customer(make_organization, make_contact):
    return make_contact(name="Carla Customer", organization=make_organization(name="Acme"))


@pytest.mark.parametrize("path", ["/contracts", "/contracts/new", "/reports/hours", "/cases/1/time"])
def test_anonymous_is_sent_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("path, agent_code, manager_code", [
    ("/contracts", 200, 200), ("/contracts/new", 403, 200), ("/reports/hours", 403, 200),
])
def test_agents_read_managers_edit(app, login, make_user, path, agent_code, manager_code):
    assert login(make_user(role="agent"), c=app.test_client()).get(path).status_code == agent_code
    assert login(make_user(role="manager"), c=app.test_client()).get(path).status_code == manager_code


def test_an_agent_cannot_post_a_contract(client, login, make_user, customer):
    login(make_user(role="agent"))
    response = client.post("/contracts/new", data={"name": "Sneaky", "contact_id": customer.id, "start_date": "2026-01-01",
                                                   "end_date": "2026-12-31", "tracking_unit": "hours", "total_units": "5"})
    assert response.status_code == 403
    assert db.session.scalar(select(ServiceContract).where(ServiceContract.name == "Sneaky")) is None


def test_a_manager_creates_a_contract_and_sees_it_used(clock, client, login, make_user, customer, make_case):
    manager = make_user(role="manager", name="Max Manager")
    login(manager)
    response = client.post("/contracts/new", data={
        "name": "Acme 20 hours", "organization_id": customer.organization.id, "start_date": "2026-01-01",
        "end_date": "2026-12-31", "tracking_unit": "hours", "total_units": "20", "hours_per_day": "8"})
    assert response.status_code == 302
    contract = db.session.scalar(select(ServiceContract).where(ServiceContract.name == "Acme 20 hours"))
    case = make_case(manager, contact=customer, subject="Router keeps rebooting")
    assert case.service_contract == contract
    services.log_time(manager, case, minutes="2h30m", note="Firmware upgrade")
    html = client.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert "Router keeps rebooting" in html and "Firmware upgrade" in html
    assert re.search(r'id="units-used">2.5<', html) and re.search(r'id="units-remaining">17.5<', html)
    assert "2.5 of 20 hours used, 17.5 left" in html


def test_a_bad_contract_is_refused_with_the_fields_named(client, login, make_user):
    login(make_user(role="manager"))
    response = client.post("/contracts/new", data={"name": "", "start_date": "2026-05-01", "end_date": "2026-04-01",
                                                   "tracking_unit": "hours", "total_units": "x"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Give the contract a name." in html and "cannot end before it starts" in html and "is not a number" in html


def test_the_case_page_shows_entitlement_links_and_time(clock, client, login, agent, customer, make_case):
    login(agent)
    case = make_case(agent, contact=customer)
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'id="case-links"' in html and 'id="case-time"' in html
    assert "No active service contract" in html
    assert 'for="link-contract"' in html and 'for="time-minutes"' in html and 'name="csrf_token"' in html


def test_the_timer_over_htmx(clock, client, login, agent, customer, make_case):
    login(agent)
    case = make_case(agent, contact=customer)
    response = client.post(f"/cases/{case.id}/timer", data={"action": "start"}, headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith('<section class="card mt-3" id="case-time"')
    assert "Timer running since" in html and "Stop timer" in html and "<html" not in html
    clock.set(clock.now + timedelta(minutes=25))
    html = client.post(f"/cases/{case.id}/timer", data={"action": "stop"}, headers=HTMX).get_data(as_text=True)
    assert "Start timer" in html and "Time: 25 min" in html
    entry = db.session.scalar(select(TimeLog).where(TimeLog.case_id == case.id))
    assert entry.minutes == 25 and not entry.running


def test_the_timer_without_javascript(clock, client, login, agent, customer, make_case):
    login(agent)
    case = make_case(agent, contact=customer)
    response = client.post(f"/cases/{case.id}/timer", data={"action": "start"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/cases/{case.id}#case-time")
    assert "Timer running since" in client.get(f"/cases/{case.id}").get_data(as_text=True)


def test_manual_entry_and_its_errors(clock, client, login, agent, customer, make_case):
    login(agent)
    case = make_case(agent, contact=customer)
    response = client.post(f"/cases/{case.id}/time", data={"minutes": "lots", "note": "Call"}, headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "Time spent write minutes" in html and 'aria-invalid="true"' in html
    response = client.post(f"/cases/{case.id}/time", data={"minutes": "1h15m", "note": "Call", "billable": "1"}, headers=HTMX)
    assert response.status_code == 200 and "Time: 1 h 15 min" in response.get_data(as_text=True)


def test_another_agents_entry_cannot_be_deleted_by_an_agent(clock, app, login, agent, make_user, customer, make_case):
    case = make_case(agent, contact=customer)
    entry = services.log_time(agent, case, minutes=30)
    colleague = login(make_user(), c=app.test_client())
    assert colleague.post(f"/time-logs/{entry.id}/delete", headers=HTMX).status_code == 403
    manager = login(make_user(role="manager"), c=app.test_client())
    assert manager.post(f"/time-logs/{entry.id}/delete", headers=HTMX).status_code == 200
    assert db.session.get(TimeLog, entry.id) is None


def test_linking_a_contract_from_the_case_page(clock, client, login, agent, customer, make_case, make_contract):
    login(agent)
    case = make_case(agent, contact=customer)
    contract = make_contract(contact=customer, name="Late deal")  # made after the case opened
    response = client.post(f"/cases/{case.id}/links", data={"service_contract_id": contract.id, "product_id": "",
                                                             "asset_id": "", "version": case.version},
                           headers=HTMX, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="case-workspace"' in html
    assert db.session.get(type(case), case.id).service_contract == contract
    assert "Counts against Late deal" in html


def test_a_stale_links_form_is_refused(clock, client, login, agent, customer, make_case, make_contract):
    login(agent)
    case = make_case(agent, contact=customer)
    contract = make_contract(contact=customer)
    stale = case.version - 1
    response = client.post(f"/cases/{case.id}/links", data={"service_contract_id": contract.id, "version": stale}, headers=HTMX)
    assert response.status_code == 409


def test_hours_report(clock, client, login, agent, make_user, customer, make_case, make_contract):
    contract = make_contract(contact=customer, name="Carla hours")
    case = make_case(agent, contact=customer, subject="Scanner jams")
    services.log_time(agent, case, minutes=90)
    services.log_time(make_user(name="Bob Builder"), case, minutes=30, billable=False)
    login(make_user(role="manager"))
    html = client.get("/reports/hours").get_data(as_text=True)
    assert "<strong>2 h</strong> logged" in html and "1 h 30 min of it billable" in html
    agents = html[html.index('id="hours-agent"'):html.index('id="hours-customer"')]
    assert agents.index("Ada Agent") < agents.index("Bob Builder")
    assert "Acme" in html and contract.name in html and "Scanner jams" in html
    billable_only = client.get("/reports/hours?billable=yes").get_data(as_text=True)
    assert "Bob Builder" not in billable_only


def test_following_a_contract(clock, client, login, agent, customer, make_contract):
    from helpdesk.notifications.services import followers

    contract = make_contract(contact=customer)
    login(agent)
    html = client.post(f"/contracts/{contract.id}/follow", data={"follow": "1"}, headers=HTMX).get_data(as_text=True)
    assert "Unfollow" in html and agent in followers("contract", contract.id)
    client.post(f"/contracts/{contract.id}/follow", data={"follow": "0"})
    assert agent not in followers("contract", contract.id)


def test_a_deleted_contract_is_not_found(client, login, agent, customer, make_contract):
    from helpdesk.types import utcnow

    contract = make_contract(contact=customer)
    contract.deleted_at = utcnow()
    login(agent)
    assert client.get(f"/contracts/{contract.id}").status_code == 404
    assert contract.name not in client.get("/contracts").get_data(as_text=True)


def test_editing_a_time_entry(clock, client, login, agent, customer, make_case, make_contract):
    contract = make_contract(contact=customer, total_units=10)
    case = make_case(agent, contact=customer)
    entry = services.log_time(agent, case, minutes=60)
    login(agent)
    html = client.post(f"/time-logs/{entry.id}", data={"minutes": "nope", "note": "x"}, headers=HTMX).get_data(as_text=True)
    assert "Time spent write minutes" in html and f'id="edit-minutes-{entry.id}"' in html
    response = client.post(f"/time-logs/{entry.id}", data={"minutes": "90", "note": "Longer call"}, headers=HTMX)
    assert response.status_code == 200 and "Longer call" in response.get_data(as_text=True)
    db.session.refresh(entry)
    db.session.refresh(contract)
    assert (entry.minutes, entry.billable) == (90, False) and contract.used_units == 0  # unticked: not billable


def test_renewing_an_expired_contract_makes_it_active_again(clock, client, login, make_user, customer, make_contract):
    contract = make_contract(contact=customer, name="Old deal", start_date="2025-01-01", end_date="2025-12-31")
    assert contract.status.value == "expired"
    login(make_user(role="manager"))
    form = client.get(f"/contracts/{contract.id}/edit").get_data(as_text=True)
    assert 'value="2025-12-31"' in form and 'value="Old deal"' in form
    response = client.post(f"/contracts/{contract.id}/edit", data={
        "name": "Old deal", "contact_id": customer.id, "start_date": "2025-01-01", "end_date": "2026-12-31",
        "tracking_unit": "hours", "total_units": "10", "hours_per_day": "8"})
    assert response.status_code == 302
    db.session.refresh(contract)
    assert contract.status.value == "active"
    assert "Active" in client.get(f"/contracts/{contract.id}").get_data(as_text=True)


def test_the_case_page_says_where_its_sla_comes_from(clock, client, login, agent, customer, make_case, make_contact,
                                                     make_contract, make_sla_policy):
    make_sla_policy(name="Standard", is_default=True)
    gold = make_sla_policy(name="Gold", conditions={"tags": ["gold"]})  # only by entitlement here
    make_contract(contact=customer, name="Gold pack", sla_policy=gold)
    entitled = make_case(agent, contact=customer)
    plain = make_case(agent, contact=make_contact())
    login(agent)
    html = client.get(f"/cases/{entitled.id}").get_data(as_text=True)
    assert "Entitled by Gold pack: SLA policy Gold." in html and "entitled by service contract Gold pack" in html
    html = client.get(f"/cases/{plain.id}").get_data(as_text=True)
    assert "No active service contract: the default SLA policy Standard applies." in html
