"""Contact and organization pages: access, search as a page and as an htmx partial, forms."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.people.models import Contact, Organization

PEOPLE_URLS = [
    "/contacts",
    "/contacts?q=ann",
    "/contacts/new",
    "/contacts/options?q=a",
    "/organizations",
    "/organizations/new",
]


@pytest.fixture
def agent(make_user, login):
    user = make_user(role="agent")
    login(user)
    return user


@pytest.mark.parametrize("url", PEOPLE_URLS)
def test_anonymous_is_sent_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("role", ["agent", "manager", "admin"])
@pytest.mark.parametrize("url", PEOPLE_URLS)
def test_every_staff_role_may_use_the_pages(client, make_user, login, role, url):
    login(make_user(role=role))
    assert client.get(url).status_code == 200


def test_a_deactivated_session_cannot_read_contacts(client, make_user, login, make_contact):
    contact = make_contact()
    user = make_user()
    login(user)
    user.active = False
    db.session.flush()
    assert client.get(f"/contacts/{contact.id}").status_code == 302
    assert client.get("/contacts/options?q=x").status_code == 302


@pytest.mark.parametrize("url", ["/contacts/99999", "/organizations/99999"])
def test_unknown_ids_are_404(client, agent, url):
    assert client.get(url).status_code == 404


# --- contacts ------------------------------------------------------------------------------


@pytest.fixture
def some_contacts(make_contact, make_organization):
    acme = make_organization(name="Acme Corp", domain="acme.example")
    return [
        make_contact(name="Ann Archer", email="ann@acme.example", organization=acme),
        make_contact(name="Bob Baker", email="bob@mail.example"),
        make_contact(name="Cecile Annand", email="cecile@acme.example", organization=acme),
    ]


def test_contacts_full_page(client, agent, some_contacts):
    response = client.get("/contacts?q=ann")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" in page and 'id="contact-search"' in page and 'value="ann"' in page
    assert 'id="contacts-table"' in page
    assert "Ann Archer" in page and "Cecile Annand" in page and "Bob Baker" not in page
    assert "HX-Request" in response.headers["Vary"]


def test_contacts_search_as_htmx_returns_only_the_table(client, agent, some_contacts):
    response = client.get("/contacts?q=ann", headers={"HX-Request": "true", "HX-Target": "contacts-table"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert page.lstrip().startswith('<div id="contacts-table"')
    assert "<html" not in page and 'id="contact-search"' not in page
    assert "Ann Archer" in page and "Bob Baker" not in page
    assert "HX-Request" in response.headers["Vary"]


def test_htmx_history_restore_gets_the_full_page(client, agent, some_contacts):
    response = client.get("/contacts?q=ann", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in response.get_data(as_text=True)


def test_contacts_search_by_email_and_nothing_found(client, agent, some_contacts):
    page = client.get("/contacts?q=mail.example").get_data(as_text=True)
    assert "Bob Baker" in page and "Ann Archer" not in page
    page = client.get("/contacts?q=zzz", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "No contact matches" in page


def test_contact_options_json(client, agent, some_contacts):
    response = client.get("/contacts/options?q=acme")
    assert response.status_code == 200
    assert response.json == [
        {"id": some_contacts[0].id, "label": "Ann Archer <ann@acme.example>"},
        {"id": some_contacts[2].id, "label": "Cecile Annand <cecile@acme.example>"},
    ]


def test_new_contact(client, agent, make_organization):
    org = make_organization(name="Globex")
    response = client.post("/contacts/new", data={"name": "Dana Scully", "email": "Dana@Globex.example",
                                                  "phone": "+1 555 0199", "organization_id": str(org.id)})
    assert response.status_code == 302
    contact = db.session.scalar(select(Contact).where(Contact.email == "dana@globex.example"))
    assert response.headers["Location"] == f"/contacts/{contact.id}"
    assert contact.organization == org and contact.phone == "+1 555 0199"


@pytest.mark.parametrize("data, field", [
    ({"name": "", "email": "x@y.example"}, "name"),
    ({"name": "Eve", "email": "not an email"}, "email"),
    ({"name": "Eve", "organization_id": "99999"}, "organization_id"),
])
def test_new_contact_errors_name_the_field(client, agent, data, field):
    response = client.post("/contacts/new", data=data)
    assert response.status_code == 422
    assert f'id="{field}-error"' in response.get_data(as_text=True)
    assert db.session.scalar(select(Contact.id)) is None


def test_new_contact_refuses_a_known_email(client, agent, make_contact):
    make_contact(email="taken@mail.example")
    response = client.post("/contacts/new", data={"name": "Twin", "email": "TAKEN@mail.example"})
    assert response.status_code == 422
    assert "already exists" in response.get_data(as_text=True)


def test_contact_page_lists_recent_cases(client, agent, make_contact, make_case, make_organization):
    contact = make_contact(name="Fox Mulder", organization=make_organization(name="FBI"))
    case = make_case(contact=contact, subject="The printer is haunted")
    other = make_case(subject="Someone else's problem")
    page = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert "Fox Mulder" in page and "FBI" in page
    assert "The printer is haunted" in page and f'href="/cases/{case.id}"' in page
    assert "Someone else&#39;s problem" not in page and f'href="/cases/{other.id}"' not in page


# --- organizations -------------------------------------------------------------------------


def test_organizations_list_and_search(client, agent, make_organization):
    make_organization(name="Initech")
    make_organization(name="Umbrella")
    page = client.get("/organizations?q=init").get_data(as_text=True)
    assert "Initech" in page and "Umbrella" not in page


def test_new_organization(client, agent):
    response = client.post("/organizations/new", data={"name": "Hooli", "domain": "Hooli.Example", "phone": ""})
    assert response.status_code == 302
    org = db.session.scalar(select(Organization).where(Organization.name == "Hooli"))
    assert response.headers["Location"] == f"/organizations/{org.id}"
    assert org.domain == "hooli.example"


def test_new_organization_refuses_a_duplicate_name(client, agent, make_organization):
    make_organization(name="Hooli")
    response = client.post("/organizations/new", data={"name": "hooli"})
    assert response.status_code == 422
    assert 'id="name-error"' in response.get_data(as_text=True)


def test_organization_page_shows_contacts_and_cases(client, agent, make_organization, make_contact, make_case):
    org = make_organization(name="Vandelay Industries")
    contact = make_contact(name="Art Vandelay", organization=org)
    case = make_case(contact=contact, subject="Latex shipment delayed")
    page = client.get(f"/organizations/{org.id}").get_data(as_text=True)
    assert "Vandelay Industries" in page and "Art Vandelay" in page
    assert "Latex shipment delayed" in page and f'href="/cases/{case.id}"' in page
