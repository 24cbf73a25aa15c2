"""The permission-leak suite: every portal URL that takes an id or a token answers a stranger,
a colleague, an anonymous visitor and a bad token with the same 404 that reveals nothing."""
from __future__ import annotations

import io
import pytest

from helpdesk.cases import services as cases
from helpdesk.cases.models import Status
from helpdesk.extensions import db
from helpdesk.portal_access.tokens import make_token

NOT_FOUND_TEXT = "This page does not exist, or the link is no longer valid."


@pytest.fixture
def world(make_organization, make_customer, make_user, make_case):
    """Two organizations; Ann and Bob are members of Acme, Mia manages Acme, Zed is of Globex."""
    from datetime import date

    from helpdesk.assets.models import Asset, Product
    from helpdesk.contracts.models import ServiceContract

    acme, globex = make_organization(name="Acme"), make_organization(name="Globex")
    ann = make_customer(organization=acme, name="Ann")
    bob = make_customer(organization=acme, name="Bob")
    mia = make_customer(organization=acme, name="Mia", role="org_manager")
    zed = make_customer(organization=globex, name="Zed")
    agent = make_user()
    case = make_case(contact=ann, subject="Ann's secret printer")
    reply = cases.reply_to_case(agent, case, body="Try this.",
                                uploads=[cases.Upload("fix.txt", io.BytesIO(b"the fix"))])
    note = cases.add_note(agent, case, body="INTERNAL: customer is difficult",
                          uploads=[cases.Upload("internal.txt", io.BytesIO(b"internal only"))])
    cases.change_status(agent, case, Status.RESOLVED)
    product = Product(name="Laser 5000", code="L5000")
    db.session.add(product)
    db.session.flush()
    asset = Asset(serial_number="SN-ANN-1", product_id=product.id, contact_id=ann.id, organization_id=acme.id)
    contract = ServiceContract(name="Ann gold", contact_id=ann.id, organization_id=acme.id,
                               start_date=date(2026, 1, 1), end_date=date(2027, 1, 1), total_units=10)
    db.session.add_all([asset, contract])
    db.session.flush()
    return dict(acme=acme, globex=globex, ann=ann, bob=bob, mia=mia, zed=zed, case=case, reply=reply, note=note,
                asset=asset, contract=contract, agent=agent)


def _urls(w) -> list[tuple[str, str]]:
    case = w["case"]
    public, internal = w["reply"].attachments[0], w["note"].attachments[0]
    return [
        ("GET", f"/portal/cases/{case.id}"),
        ("GET", f"/portal/cases/{case.id}/conversation"),
        ("POST", f"/portal/cases/{case.id}/reply"),
        ("POST", f"/portal/cases/{case.id}/close"),
        ("POST", f"/portal/cases/{case.id}/reopen"),
        ("GET", f"/portal/cases/{case.id}/rate"),
        ("POST", f"/portal/cases/{case.id}/rate"),
        ("GET", f"/portal/attachments/{public.id}/{public.filename}"),
        ("GET", f"/portal/assets/{w['asset'].id}"),
        ("GET", f"/portal/contracts/{w['contract'].id}"),
    ]


def _assert_hidden(response, w):
    html = response.get_data(as_text=True)
    assert response.status_code == 404, (response.status_code, html[:300])
    assert NOT_FOUND_TEXT in html
    for secret in ("Ann's secret printer", "INTERNAL", "Try this", "SN-ANN-1", "Ann gold", w["case"].number):
        assert secret not in html


@pytest.mark.parametrize("who", ["zed", "bob"])
def test_other_customers_get_404_everywhere(world, portal_login, who):
    # Zed is of another organization; Bob is Ann's colleague, a member, not a manager.
    client = portal_login(world[who])
    for method, url in _urls(world):
        response = client.open(url, method=method, data={"body": "hi", "score": "5"})
        _assert_hidden(response, world)
    # and nothing changed
    db.session.expire_all()
    assert world["case"].status == Status.RESOLVED
    assert len(world["case"].messages) == 3


def test_anonymous_visitor_is_sent_to_sign_in_and_sees_nothing(world, client):
    for method, url in _urls(world):
        response = client.open(url, method=method, data={"body": "hi"})
        assert response.status_code == 302 and "/portal/login" in response.headers["Location"]


def test_internal_note_attachment_is_404_even_for_the_case_owner(world, portal_login):
    client = portal_login(world["ann"])
    internal = world["note"].attachments[0]
    _assert_hidden(client.get(f"/portal/attachments/{internal.id}/{internal.filename}"), world)


def test_owner_and_org_manager_see_the_case_without_internal_notes(world, portal_login):
    for who in ("ann", "mia"):
        html = portal_login(world[who]).get(f"/portal/cases/{world['case'].id}").get_data(as_text=True)
        assert "Ann&#39;s secret printer" in html and "Try this." in html
        assert "INTERNAL" not in html and "internal.txt" not in html


def test_members_list_only_their_own_cases_and_managers_switch_to_all(world, portal_login, make_case):
    make_case(contact=world["bob"], subject="Bob's scanner")
    bob = portal_login(world["bob"]).get("/portal/?state=all&scope=all").get_data(as_text=True)
    assert "Bob&#39;s scanner" in bob and "secret printer" not in bob
    mia_mine = portal_login(world["mia"]).get("/portal/?state=all").get_data(as_text=True)
    assert "Bob&#39;s scanner" not in mia_mine
    mia_all = portal_login(world["mia"]).get("/portal/?state=all&scope=all").get_data(as_text=True)
    assert "Bob&#39;s scanner" in mia_all and "secret printer" in mia_all
    zed = portal_login(world["zed"]).get("/portal/?state=all&scope=all").get_data(as_text=True)
    assert "scanner" not in zed and "printer" not in zed


@pytest.mark.parametrize("token", ["garbage", "eyJjIjoxfQ.ZZZZZZ.tampered-signature-xxxxxxxxxxx"])
@pytest.mark.parametrize("path", ["/portal/rate/", "/portal/invitation/", "/portal/reset/", "/portal/signup/confirm/",
                                  "/help/contact/confirm/"])
def test_tampered_tokens_get_404(world, client, path, token):
    _assert_hidden(client.get(path + token), world)


def test_rating_link_of_one_case_does_not_open_another(world, client, make_case):
    other = make_case(contact=world["zed"], subject="Zed's router")
    cases.change_status(world["agent"], other, Status.RESOLVED)
    forged = make_token("rating", {"c": other.id, "k": world["ann"].id})  # right key, wrong pairing
    _assert_hidden(client.get(f"/portal/rate/{forged}"), world)
    invite_as_rating = make_token("invite", {"c": world["case"].id, "k": world["ann"].id})
    _assert_hidden(client.get(f"/portal/rate/{invite_as_rating}"), world)


def test_expired_tokens_get_404(world, client, monkeypatch):
    from helpdesk.portal_access import tokens

    rating = make_token("rating", {"c": world["case"].id, "k": world["ann"].id})
    invite = make_token("invite", {"c": world["ann"].id, "f": "x"})
    assert client.get(f"/portal/rate/{rating}").status_code == 200
    monkeypatch.setitem(tokens.MAX_AGE, "rating", -1)
    monkeypatch.setitem(tokens.MAX_AGE, "invite", -1)
    _assert_hidden(client.get(f"/portal/rate/{rating}"), world)
    _assert_hidden(client.get(f"/portal/invitation/{invite}"), world)


def test_used_invitation_link_is_404(world, client):
    from helpdesk.portal_access.services import invite_contact

    link = invite_contact(world["agent"], world["bob"])
    path = link.removeprefix("http://portal.test")
    assert client.get(path).status_code == 200
    response = client.post(path, data={"password": "a-new-long-password", "confirm": "a-new-long-password"})
    assert response.status_code == 302
    _assert_hidden(client.get(path), world)
