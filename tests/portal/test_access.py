"""Portal access: invitation, sign-in with throttling, separate sessions, reset, sign-up, profile."""
from __future__ import annotations

import pytest

from helpdesk.extensions import db
from helpdesk.people.models import Contact
from portal.auth import COOKIE
from tests.portal.conftest import PASSWORD, link_in


def test_invitation_sets_a_password_and_signs_in(client, make_contact, make_user, outbox, app):
    from helpdesk.portal_access.services import invite_contact

    agent = make_user()
    contact = make_contact(name="Ines Invitee")
    invite_contact(agent, contact)
    mail = outbox()[-1]
    assert mail.to_addrs.endswith(f"<{contact.email}>") or contact.email in mail.to_addrs
    path = link_in(mail.body_text, "/portal/invitation/")
    page = client.get(path)
    assert page.status_code == 200 and contact.email in page.get_data(as_text=True)
    short = client.post(path, data={"password": "short", "confirm": "short"})
    assert short.status_code == 422 and "at least 10 characters" in short.get_data(as_text=True)
    done = client.post(path, data={"password": "a-long-new-password", "confirm": "a-long-new-password"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/portal/")
    assert COOKIE in done.headers.get("Set-Cookie", "")
    assert "Ines Invitee" in client.get("/portal/").get_data(as_text=True)


def test_staff_invites_from_the_contact_page(client, login, make_user, make_contact, outbox):
    agent = make_user()
    contact = make_contact()
    login(agent)
    page = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert "Invite to portal" in page and "No access" in page
    response = client.post(f"/portal/staff/contacts/{contact.id}/invite", data={"portal_role": "member"})
    assert response.status_code == 302
    assert "/portal/invitation/" in outbox()[-1].body_text
    assert "Invite again" in client.get(f"/contacts/{contact.id}").get_data(as_text=True)


def test_a_contact_in_the_recycle_bin_is_signed_out_and_cannot_sign_in(client, make_customer, portal_login):
    from helpdesk.extensions import db
    from helpdesk.recycle.services import delete_record

    contact = make_customer()
    signed_in = portal_login(contact)
    assert signed_in.get("/portal/").status_code == 200
    delete_record(None, "contact", contact.id)
    db.session.commit()
    assert signed_in.get("/portal/").status_code in (302, 303)  # back to the sign-in page
    assert client.post("/portal/login", data={"email": contact.email, "password": PASSWORD}).status_code == 401


def test_wrong_password_then_lockout(client, make_customer, app):
    contact = make_customer()
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        response = client.post("/portal/login", data={"email": contact.email, "password": "nope"})
        assert response.status_code == 401 and "Wrong email or password." in response.get_data(as_text=True)
    locked = client.post("/portal/login", data={"email": contact.email, "password": PASSWORD})
    assert locked.status_code == 429 and "Too many failed sign-ins" in locked.get_data(as_text=True)


def test_unknown_email_and_disabled_contact_cannot_sign_in(client, make_customer):
    contact = make_customer()
    contact.portal_enabled = False
    assert client.post("/portal/login", data={"email": "who@nowhere.example", "password": PASSWORD}).status_code == 401
    assert client.post("/portal/login", data={"email": contact.email, "password": PASSWORD}).status_code == 401


def test_portal_and_staff_sessions_are_separate(app, client, login, make_user, make_customer):
    agent, contact = make_user(), make_customer()
    login(agent)  # the staff session
    assert client.get("/portal/").status_code == 302  # is no portal session
    client.post("/portal/login", data={"email": contact.email, "password": PASSWORD})
    assert client.get("/portal/").status_code == 200
    assert client.get("/cases").status_code == 200  # staff still signed in
    client.post("/portal/logout")
    assert client.get("/portal/").status_code == 302
    assert client.get("/cases").status_code == 200
    staff_only = app.test_client()
    staff_only.post("/portal/login", data={"email": contact.email, "password": PASSWORD})
    assert staff_only.get("/cases").status_code == 302  # a customer is not staff


def test_new_password_signs_out_other_devices(make_customer, portal_login):
    contact = make_customer()
    laptop, phone = portal_login(contact), portal_login(contact)
    response = phone.post("/portal/profile/password", data={"current": PASSWORD, "new": "another-long-password",
                                                            "confirm": "another-long-password"})
    assert response.status_code == 302
    assert phone.get("/portal/").status_code == 200
    assert laptop.get("/portal/").status_code == 302


def test_password_reset_by_email(client, make_customer, outbox):
    contact = make_customer()
    page = client.post("/portal/reset", data={"email": contact.email})
    assert "Check your email" in page.get_data(as_text=True)
    path = link_in(outbox()[-1].body_text, "/portal/reset/")
    response = client.post(path, data={"password": "brand-new-password", "confirm": "brand-new-password"})
    assert response.status_code == 302
    fresh = client.application.test_client()
    assert fresh.post("/portal/login", data={"email": contact.email, "password": "brand-new-password"}).status_code == 302
    assert client.get(path).status_code == 404  # used


def test_reset_for_unknown_address_says_the_same_and_sends_nothing(client, outbox):
    before = len(outbox())
    page = client.post("/portal/reset", data={"email": "nobody@nowhere.example"})
    assert "Check your email" in page.get_data(as_text=True) and len(outbox()) == before


def test_signup_is_closed_by_default(client):
    assert client.get("/portal/signup").status_code == 404


@pytest.fixture
def signup_domains(app):
    app.config["PORTAL_SIGNUP"] = "domains"
    yield
    app.config["PORTAL_SIGNUP"] = "off"


def test_signup_links_the_organization_by_domain_after_verification(client, make_organization, outbox, signup_domains):
    org = make_organization(name="Domain Org", domain="domainorg.example")
    refused = client.post("/portal/signup", data={"name": "Eve", "email": "eve@elsewhere.example",
                                                  "password": "long-enough-password"})
    assert refused.status_code == 422 and "organizations only" in refused.get_data(as_text=True)
    page = client.post("/portal/signup", data={"name": "Dora", "email": "dora@domainorg.example",
                                               "password": "long-enough-password"})
    assert "Check your email" in page.get_data(as_text=True)
    assert db.session.query(Contact).filter_by(email="dora@domainorg.example").count() == 0  # not before the link
    path = link_in(outbox()[-1].body_text, "/portal/signup/confirm/")
    assert client.get(path).status_code == 302
    contact = db.session.query(Contact).filter_by(email="dora@domainorg.example").one()
    assert contact.organization_id == org.id and contact.portal_enabled and contact.email_verified_at
    assert client.get(path).status_code == 404  # once


def test_profile_and_language_preference(make_customer, portal_login):
    contact = make_customer()
    client = portal_login(contact)
    response = client.post("/portal/profile", data={"name": "Renamed Person", "phone": "+39 06 1234",
                                                     "language": "it", "notify_case_updates": ""})
    assert response.status_code == 302
    db.session.refresh(contact)
    assert (contact.name, contact.language, contact.notify_case_updates) == ("Renamed Person", "it", False)
    html = client.get("/portal/profile").get_data(as_text=True)
    assert '<html lang="it"' in html and "Profilo" in html


def test_invite_from_the_command_line(runner, make_contact, outbox):
    contact = make_contact(name="Cli Customer")
    result = runner.invoke(args=["portal", "invite", contact.email.upper(), "--role", "member"])
    assert result.exit_code == 0, result.output
    assert "Invited Cli Customer" in result.output and "/portal/invitation/" in outbox()[-1].body_text
    missing = runner.invoke(args=["portal", "invite", "nobody@nowhere.example"])
    assert missing.exit_code != 0 and "No contact has the address" in missing.output
