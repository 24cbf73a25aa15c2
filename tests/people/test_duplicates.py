"""Duplicate detection: same email or phone anywhere, a similar name in the same organization."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from helpdesk.extensions import db
from helpdesk.people import services
from helpdesk.people.models import Contact


@pytest.fixture
def acme(make_organization):
    return make_organization(name="Acme Corp")


@pytest.fixture
def ann(make_contact, acme):
    return make_contact(name="Ann Smith", email="ann@acme.example", phone="+44 20 7946 0958", organization=acme)


def test_same_email_is_a_duplicate_whatever_the_case(ann):
    assert services.find_duplicates("Someone Else", "ANN@acme.example ", None, None) == [ann]


def test_same_phone_written_differently(ann):
    assert services.find_duplicates("Other", None, "020 7946 0958", None) == [ann]
    assert services.find_duplicates("Other", None, "(020) 7946-0958", None) == [ann]
    assert services.find_duplicates("Other", None, "020 7946 0959", None) == []


@pytest.mark.parametrize("name", ["Ann Smith", "ann smith", "Smith, Ann", "Anne Smith", "Ann B. Smith", "Ánn Smíth"])
def test_similar_name_in_the_same_organization(ann, acme, name):
    assert services.find_duplicates(name, None, None, acme.id) == [ann]


def test_similar_name_elsewhere_is_not_a_duplicate(ann, make_organization):
    other = make_organization(name="Globex")
    assert services.find_duplicates("Ann Smith", None, None, other.id) == []
    assert services.find_duplicates("Ann Smith", None, None, None) == []


@pytest.mark.parametrize("name", ["Bob Smith", "Annabel Jones", "Dan"])
def test_different_names_are_not_duplicates(ann, acme, name):
    assert services.find_duplicates(name, None, None, acme.id) == []


def test_reasons_and_order(ann, acme, make_contact):
    phone_twin = make_contact(name="Zed", email="zed@x.example", phone="+44 20 7946 0958")
    matches = services.duplicate_matches("Ann Smith", "ann@acme.example", "0207 946 0958", acme.id)
    assert [m.contact for m in matches] == [ann, phone_twin]
    assert matches[0].reasons == ["same email", "same phone", "similar name in the same organization"]
    assert matches[1].reasons == ["same phone"]


def test_deleted_and_merged_contacts_are_not_duplicates(ann, acme, make_contact, make_user):
    from helpdesk.types import utcnow

    ann.deleted_at = utcnow()
    db.session.flush()
    assert services.find_duplicates("Ann Smith", "ann@acme.example", None, acme.id) == []
    ann.deleted_at = None
    keep = make_contact(name="Ann Smith-Jones", email="keep@acme.example")
    services.merge_contacts(make_user(role="manager"), ann, keep)
    # The merged pointer is never offered; the kept contact (now in Acme too) is.
    assert services.find_duplicates("Ann Smith", "ann@acme.example", None, acme.id) == [keep]


def test_create_contact_with_check_raises_the_matches(ann, acme):
    with pytest.raises(services.DuplicateContacts) as info:
        services.create_contact(None, name="Anne Smith", email="anne@else.example", organization=acme,
                                check_duplicates=True)
    assert [m.contact for m in info.value.matches] == [ann]
    # Confirmed as a different person:
    contact = services.create_contact(None, name="Anne Smith", email="anne@else.example", organization=acme)
    assert contact.id != ann.id


# --- the form -------------------------------------------------------------------------------------


@pytest.fixture
def agent(make_user, login):
    user = make_user(role="agent")
    login(user)
    return user


def test_form_warns_and_creates_only_when_confirmed(client, agent, ann, acme):
    data = {"name": "Smith, Ann", "email": "ann.smith@home.example", "organization_id": str(acme.id)}
    response = client.post("/contacts/new", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "This may be someone you already have" in page and f'href="/contacts/{ann.id}"' in page
    assert "similar name in the same organization" in page and 'name="confirm_new"' in page
    assert db.session.scalar(select(func.count(Contact.id))) == 1
    response = client.post("/contacts/new", data={**data, "confirm_new": "1"})
    assert response.status_code == 302
    assert db.session.scalar(select(func.count(Contact.id))) == 2


def test_form_asks_as_the_user_types(client, agent, ann, acme):
    response = client.get(f"/contacts/duplicates?name=Anne+Smith&organization_id={acme.id}", headers={"HX-Request": "true"})
    page = response.get_data(as_text=True)
    assert page.lstrip().startswith('<div id="duplicates"') and "Ann Smith" in page
    page = client.get("/contacts/duplicates?name=Nobody&phone=1").get_data(as_text=True)
    assert "Ann Smith" not in page
