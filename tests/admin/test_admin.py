"""Admin pages: who may see them, and the user, group and custom field forms."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from helpdesk.admin import services
from helpdesk.cases.models import CustomField, FieldType
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.people.models import Group, Role, User
from helpdesk.people.queries import user_by_email

ADMIN_URLS = [
    "/admin/users",
    "/admin/users/new",
    "/admin/groups",
    "/admin/groups/new",
    "/admin/custom-fields",
    "/admin/custom-fields/new",
]


@pytest.fixture
def admin(make_user, login):
    user = make_user(role="admin")
    login(user)
    return user


# --- access --------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ADMIN_URLS)
def test_anonymous_is_sent_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("url", ADMIN_URLS)
def test_anonymous_htmx_request_gets_hx_redirect(client, url):
    response = client.get(url, headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login")


@pytest.mark.parametrize("role", ["agent", "manager"])
@pytest.mark.parametrize("url", ADMIN_URLS)
def test_staff_below_admin_are_refused(client, make_user, login, role, url):
    login(make_user(role=role))
    assert client.get(url).status_code == 403
    if url.endswith("/new"):
        assert client.post(url, data={"name": "x", "key": "x", "email": "x@y.example"}).status_code == 403


@pytest.mark.parametrize("url", ADMIN_URLS)
def test_admin_sees_every_page(client, admin, url):
    response = client.get(url)
    assert response.status_code == 200
    if url.endswith("/new"):
        assert 'name="csrf_token"' in response.get_data(as_text=True)


def test_edit_pages_refuse_agents_too(client, make_user, make_group, login):
    user, group = make_user(), make_group()
    field = services.create_custom_field(None, key="order_number", label="Order number", type="text")
    login(make_user(role="agent"))
    for url in (f"/admin/users/{user.id}", f"/admin/groups/{group.id}", f"/admin/custom-fields/{field.id}"):
        assert client.get(url).status_code == 403, url


@pytest.mark.parametrize("url", ["/admin/users/99999", "/admin/groups/99999", "/admin/custom-fields/99999"])
def test_unknown_ids_are_404(client, admin, url):
    assert client.get(url).status_code == 404
    assert client.post(url, data={}).status_code == 404


# --- users ---------------------------------------------------------------------------------


def test_users_list_shows_everyone(client, admin, make_user):
    other = make_user(name="Grace Hopper")
    page = client.get("/admin/users").get_data(as_text=True)
    assert "Grace Hopper" in page and other.email in page and admin.email in page


def test_create_user(client, admin, make_group):
    support = make_group(name="Support")
    response = client.post("/admin/users/new", data={
        "email": "New.Agent@Example.com", "name": "New Agent", "role": "manager",
        "password": "long-enough-password", "group_ids": [str(support.id)],
    })
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/users"
    user = user_by_email("new.agent@example.com")
    assert user.role == Role.MANAGER and user.groups == [support] and user.active


def test_create_user_shows_field_errors(client, admin):
    response = client.post("/admin/users/new", data={"email": "not-an-email", "name": "", "role": "boss",
                                                      "password": "short"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    for field in ("email", "name", "role", "password"):
        assert f'id="{field}-error"' in page, field
    assert "At least 10 characters." in page
    assert "short" not in page.split('name="password"')[1].split(">")[0]  # the password is not echoed back
    assert 'value="not-an-email"' in page
    assert db.session.scalar(select(User).where(User.email == "not-an-email")) is None


def test_create_user_refuses_a_taken_email(client, admin, make_user):
    taken = make_user()
    response = client.post("/admin/users/new", data={"email": taken.email.upper(), "name": "Twin",
                                                      "role": "agent", "password": "long-enough-password"})
    assert response.status_code == 422
    assert 'id="email-error"' in response.get_data(as_text=True)


def test_create_user_refuses_an_unknown_group(client, admin):
    response = client.post("/admin/users/new", data={"email": "a@b.example", "name": "A", "role": "agent",
                                                      "password": "long-enough-password", "group_ids": ["9999"]})
    assert response.status_code == 422
    assert "No such group" in response.get_data(as_text=True)


def test_edit_user_changes_role_groups_and_password(client, admin, make_user, make_group, app):
    user = make_user(role="agent")
    billing, tech = make_group(name="Billing"), make_group(name="Technical")
    page = client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert user.email in page and 'name="active"' in page
    response = client.post(f"/admin/users/{user.id}", data={
        "name": "Renamed", "role": "manager", "active": "1", "group_ids": [str(billing.id), str(tech.id)],
        "password": "a-brand-new-password",
    })
    assert response.status_code == 302
    db.session.refresh(user)
    assert (user.name, user.role, user.active) == ("Renamed", Role.MANAGER, True)
    assert user.groups == [billing, tech]
    fresh = app.test_client()
    assert fresh.post("/login", data={"email": user.email, "password": "a-brand-new-password"}).status_code == 302


def test_edit_user_keeps_the_password_when_left_empty(client, admin, make_user, app):
    user = make_user()
    response = client.post(f"/admin/users/{user.id}", data={"name": user.name, "role": "agent", "active": "1",
                                                            "password": ""})
    assert response.status_code == 302
    fresh = app.test_client()
    assert fresh.post("/login", data={"email": user.email, "password": "correct-horse-battery"}).status_code == 302


def test_edit_user_shows_field_errors(client, admin, make_user):
    user = make_user()
    response = client.post(f"/admin/users/{user.id}", data={"name": " ", "role": "agent", "active": "1",
                                                            "password": "short"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="name-error"' in page and 'id="password-error"' in page
    db.session.refresh(user)
    assert user.name != " "


def test_admin_cannot_demote_themselves(client, admin):
    response = client.post(f"/admin/users/{admin.id}", data={"name": admin.name, "role": "agent", "active": "1"})
    assert response.status_code == 422
    assert 'id="role-error"' in response.get_data(as_text=True)
    db.session.refresh(admin)
    assert admin.role == Role.ADMIN


def test_deactivating_a_user_signs_them_out(client, admin, make_user, login, app):
    agent = make_user(role="agent")
    agent_client = login(agent, c=app.test_client())
    assert agent_client.get("/contacts").status_code == 200
    response = client.post(f"/admin/users/{agent.id}", data={"name": agent.name, "role": "agent"})  # no "active"
    assert response.status_code == 302
    db.session.refresh(agent)
    assert agent.active is False
    response = agent_client.get("/contacts")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    # and cannot sign in again
    response = agent_client.post("/login", data={"email": agent.email, "password": "correct-horse-battery"})
    assert response.status_code == 401


# --- groups --------------------------------------------------------------------------------


def test_create_group_with_members(client, admin, make_user):
    ann, bob = make_user(name="Ann"), make_user(name="Bob")
    response = client.post("/admin/groups/new", data={"name": "Onboarding", "description": "New customers",
                                                       "member_ids": [str(ann.id), str(bob.id)]})
    assert response.status_code == 302
    group = db.session.scalar(select(Group).where(Group.name == "Onboarding"))
    assert group.members == [ann, bob]
    assert group in ann.groups
    page = client.get("/admin/groups").get_data(as_text=True)
    assert "Onboarding" in page and "Ann, Bob" in page


def test_edit_group_changes_membership(client, admin, make_user, make_group):
    ann, bob = make_user(name="Ann"), make_user(name="Bob")
    group = make_group(name="Billing", members=[ann])
    page = client.get(f"/admin/groups/{group.id}").get_data(as_text=True)
    assert f'<option value="{ann.id}" selected>' in page and f'<option value="{bob.id}">' in page
    response = client.post(f"/admin/groups/{group.id}", data={"name": "Billing and refunds", "description": "",
                                                               "member_ids": [str(bob.id)]})
    assert response.status_code == 302
    db.session.refresh(group)
    assert group.name == "Billing and refunds" and group.members == [bob]
    db.session.refresh(ann)
    assert ann.groups == []


def test_group_form_errors(client, admin, make_group):
    make_group(name="Support")
    response = client.post("/admin/groups/new", data={"name": "support"})
    assert response.status_code == 422
    assert 'id="name-error"' in response.get_data(as_text=True)
    response = client.post("/admin/groups/new", data={"name": "Night shift", "member_ids": ["424242"]})
    assert response.status_code == 422
    assert "No such user" in response.get_data(as_text=True)
    assert db.session.scalar(select(Group).where(Group.name == "Night shift")) is None


# --- custom fields -------------------------------------------------------------------------


def test_create_choice_field(client, admin):
    response = client.post("/admin/custom-fields/new", data={
        "key": "operating_system", "label": "Operating system", "type": "choice",
        "choices": "Windows 11\n\nmacOS\r\n  Ubuntu  \nmacOS\n", "position": "2", "required": "1", "active": "1",
    })
    assert response.status_code == 302
    field = db.session.scalar(select(CustomField).where(CustomField.key == "operating_system"))
    assert field.type == FieldType.CHOICE
    assert field.choices == ["Windows 11", "macOS", "Ubuntu"]
    assert (field.position, field.required, field.active) == (2, True, True)
    assert "Operating system" in client.get("/admin/custom-fields").get_data(as_text=True)


@pytest.mark.parametrize("data, field", [
    ({"key": "os", "label": "OS", "type": "choice", "choices": "  \n"}, "choices"),
    ({"key": "Order Number", "label": "Order", "type": "text"}, "key"),
    ({"key": "9lives", "label": "Lives", "type": "number"}, "key"),
    ({"key": "order", "label": "", "type": "text"}, "label"),
    ({"key": "order", "label": "Order", "type": "colour"}, "type"),
    ({"key": "order", "label": "Order", "type": "text", "position": "first"}, "position"),
])
def test_custom_field_errors_name_the_field(client, admin, data, field):
    response = client.post("/admin/custom-fields/new", data=data)
    assert response.status_code == 422
    assert f'id="{field}-error"' in response.get_data(as_text=True)
    assert db.session.scalar(select(CustomField.id)) is None


def test_custom_field_key_must_be_unique(client, admin):
    services.create_custom_field(None, key="order_number", label="Order number", type="text")
    response = client.post("/admin/custom-fields/new", data={"key": "order_number", "label": "Again", "type": "text"})
    assert response.status_code == 422
    assert "already uses this key" in response.get_data(as_text=True)


def test_edit_custom_field_keeps_key_and_type(client, admin):
    field = services.create_custom_field(None, key="os", label="OS", type="choice", choices="Linux\nmacOS")
    response = client.post(f"/admin/custom-fields/{field.id}", data={
        "key": "hacked", "type": "text", "label": "Operating system", "choices": "Linux\nmacOS\nWindows",
        "position": "5", "active": "1",
    })
    assert response.status_code == 302
    db.session.refresh(field)
    assert (field.key, field.type, field.label) == ("os", FieldType.CHOICE, "Operating system")
    assert field.choices == ["Linux", "macOS", "Windows"]
    assert (field.position, field.required, field.active) == (5, False, True)


def test_edit_custom_field_refuses_emptying_the_choices(client, admin):
    field = services.create_custom_field(None, key="os", label="OS", type="choice", choices=["Linux"])
    response = client.post(f"/admin/custom-fields/{field.id}", data={"label": "OS", "choices": ""})
    assert response.status_code == 422
    assert 'id="choices-error"' in response.get_data(as_text=True)
    db.session.refresh(field)
    assert field.choices == ["Linux"]


def test_deactivating_a_custom_field(client, admin):
    field = services.create_custom_field(None, key="order_number", label="Order number", type="text")
    response = client.post(f"/admin/custom-fields/{field.id}", data={"label": "Order number", "position": "0"})
    assert response.status_code == 302
    db.session.refresh(field)
    assert field.active is False


def test_non_choice_fields_store_no_choices(app):
    field = services.create_custom_field(None, key="due", label="Due", type=FieldType.DATE, choices="a\nb")
    assert field.choices == []


def test_custom_field_service_reports_every_error_at_once(app):
    with pytest.raises(ValidationFailed) as exc:
        services.create_custom_field(None, key="", label="", type="choice", choices="")
    assert set(exc.value.errors) == {"key", "label", "choices"}
