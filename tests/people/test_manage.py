"""Managing contacts and organizations: edit pages, roles, filters, history, and who may do what."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.people.models import Contact, ContactRole, CustomerActivity, Organization


@pytest.fixture
def agent(make_user, login):
    user = make_user(role="agent", name="Ada Agent")
    login(user)
    return user


@pytest.fixture
def ann(make_contact, make_organization):
    return make_contact(name="Ann Smith", email="ann@acme.example", organization=make_organization(name="Acme Corp"))


def _history(**where) -> list[CustomerActivity]:
    return list(db.session.scalars(select(CustomerActivity).filter_by(**where).order_by(CustomerActivity.id)))


def test_new_contact_with_role_and_title(client, agent, make_organization):
    org = make_organization(name="Globex")
    response = client.post("/contacts/new", data={"name": "Hank Scorpio", "email": "hank@globex.example",
                                                  "organization_id": str(org.id), "role": "decision_maker",
                                                  "job_title": "CEO", "notes": "Likes hammocks"})
    assert response.status_code == 302
    hank = db.session.scalar(select(Contact).where(Contact.name == "Hank Scorpio"))
    assert hank.role == ContactRole.DECISION_MAKER and hank.job_title == "CEO" and hank.notes == "Likes hammocks"
    [created] = _history(contact_id=hank.id)
    assert created.action == "created" and created.actor_user_id == agent.id
    page = client.get(f"/contacts/{hank.id}").get_data(as_text=True)
    assert "Decision maker" in page and "CEO" in page and "Likes hammocks" in page


def test_edit_contact_records_each_change(client, agent, ann, make_organization):
    other = make_organization(name="Initech")
    page = client.get(f"/contacts/{ann.id}/edit").get_data(as_text=True)
    assert 'value="Ann Smith"' in page and 'value="ann@acme.example"' in page
    response = client.post(f"/contacts/{ann.id}/edit", data={
        "name": "Ann Smith", "email": "ann@initech.example", "phone": "", "job_title": "Buyer", "notes": "",
        "role": "billing", "organization_id": str(other.id)})
    assert response.status_code == 302
    ann = db.session.get(Contact, ann.id)
    assert ann.email == "ann@initech.example" and ann.organization == other and ann.role == ContactRole.BILLING
    changes = {(a.field, a.old, a.new) for a in _history(contact_id=ann.id, action="changed")}
    assert changes == {("email", "ann@acme.example", "ann@initech.example"), ("organization", "Acme Corp", "Initech"),
                       ("role", None, "Billing"), ("job_title", None, "Buyer")}


def test_edit_contact_errors(client, agent, ann, make_contact):
    make_contact(email="taken@mail.example")
    response = client.post(f"/contacts/{ann.id}/edit", data={"name": "", "email": "taken@mail.example", "role": "boss"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    for field in ("name", "email", "role"):
        assert f'id="{field}-error"' in page
    assert db.session.get(Contact, ann.id).name == "Ann Smith"


def test_edit_organization(client, agent, make_organization):
    org = make_organization(name="Hooli")
    response = client.post(f"/organizations/{org.id}/edit", data={
        "name": "Hooli XYZ", "domain": "HOOLI.example", "phone": "+1 555 0101", "website": "https://hooli.example",
        "address": "1 Hacker Way", "notes": ""})
    assert response.status_code == 302
    org = db.session.get(Organization, org.id)
    assert (org.name, org.domain, org.website, org.address) == ("Hooli XYZ", "hooli.example", "https://hooli.example", "1 Hacker Way")
    assert {a.field for a in _history(organization_id=org.id, action="changed")} == {"name", "domain", "phone", "website", "address"}
    response = client.post(f"/organizations/{org.id}/edit", data={"name": "Hooli XYZ", "website": "not a site"})
    assert response.status_code == 422 and 'id="website-error"' in response.get_data(as_text=True)


def test_contact_list_filters_by_role_and_organization(client, agent, make_contact, make_organization):
    acme, globex = make_organization(name="Acme"), make_organization(name="Globex")
    make_contact(name="Ann Tech", organization=acme, role="technical")
    make_contact(name="Bob Bill", organization=acme, role="billing")
    make_contact(name="Cy Tech", organization=globex, role="technical")
    page = client.get("/contacts?role=technical").get_data(as_text=True)
    assert "Ann Tech" in page and "Cy Tech" in page and "Bob Bill" not in page
    page = client.get(f"/contacts?role=technical&organization_id={acme.id}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Ann Tech" in page and "Cy Tech" not in page and "<html" not in page
    assert client.get("/contacts?role=emperor").status_code == 422


def test_contact_list_pages(client, agent, make_contact):
    for i in range(55):
        make_contact(name=f"Person {i:02d}")
    page = client.get("/contacts").get_data(as_text=True)
    assert "Person 49" in page and "Person 50" not in page and 'rel="next"' in page
    page = client.get("/contacts?page=2").get_data(as_text=True)
    assert "Person 50" in page and "Person 54" in page and 'rel="prev"' in page


def test_organization_list_shows_contact_counts(client, agent, make_contact, make_organization):
    acme = make_organization(name="Acme Counting")
    for _ in range(3):
        make_contact(organization=acme)
    page = client.get("/organizations?q=counting").get_data(as_text=True)
    assert f'href="/contacts?organization_id={acme.id}">3<' in page


def test_the_top_bar_has_contacts_organizations_and_the_bell(client, agent):
    page = client.get("/organizations").get_data(as_text=True)
    assert 'href="/contacts"' in page and 'href="/organizations"' in page and 'id="notification-badge"' in page


# --- who may do what -----------------------------------------------------------------------------------

EDIT_URLS = ["/contacts/new", "/contacts/{contact}/edit", "/organizations/new", "/organizations/{org}/edit"]


@pytest.mark.parametrize("role, allowed", [("agent", True), ("manager", True), ("admin", True)])
@pytest.mark.parametrize("url", EDIT_URLS + ["/contacts/{contact}", "/organizations/{org}", "/contacts/{contact}/timeline"])
def test_staff_manage_contacts(client, make_user, login, ann, role, allowed, url):
    login(make_user(role=role))
    response = client.get(url.format(contact=ann.id, org=ann.organization_id), headers={"HX-Request": "true"})
    assert response.status_code == 200


@pytest.mark.parametrize("role, status", [("agent", 403), ("manager", 200), ("admin", 200)])
def test_only_managers_merge(client, make_user, login, ann, role, status):
    login(make_user(role=role))
    assert client.get(f"/contacts/{ann.id}/merge").status_code == status


@pytest.mark.parametrize("url", EDIT_URLS + ["/contacts/{contact}/merge", "/contacts/{contact}/timeline",
                                             "/contacts/duplicates?name=x"])
def test_anonymous_cannot(client, ann, url):
    response = client.get(url.format(contact=ann.id, org=ann.organization_id))
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_ids_are_checked(client, agent):
    for url in ("/contacts/999999/edit", "/contacts/999999/merge", "/contacts/999999/timeline",
                "/organizations/999999/edit", "/organizations/999999/timeline"):
        assert client.get(url).status_code in (403, 404), url
