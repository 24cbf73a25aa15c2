"""The cabinet: cases, conversation, reply with files, close and reopen, the new-case form with
suggestions and the deflection funnel, assets and contracts."""
from __future__ import annotations

import io
import re
from datetime import date

from sqlalchemy import select

from helpdesk.cases import services as cases
from helpdesk.cases.models import Channel, MessageKind, Status
from helpdesk.extensions import db
from helpdesk.satisfaction.models import DeflectionEvent, FunnelStep

HTMX = {"HX-Request": "true"}


def test_case_list_open_and_closed_with_htmx_partial(make_customer, make_case, make_user, portal_login):
    contact = make_customer()
    open_case = make_case(contact=contact, subject="Printer is jammed")
    done = make_case(contact=contact, subject="Old VPN question")
    cases.change_status(make_user(), done, Status.CLOSED)
    client = portal_login(contact)
    html = client.get("/portal/").get_data(as_text=True)
    assert "Printer is jammed" in html and "Old VPN question" not in html
    partial = client.get("/portal/?state=closed", headers=HTMX).get_data(as_text=True)
    assert partial.lstrip().startswith('<div id="case-list">') and "Old VPN question" in partial
    assert "Printer is jammed" not in partial and "<html" not in partial
    found = client.get(f"/portal/?state=all&q={open_case.number}").get_data(as_text=True)
    assert "Printer is jammed" in found and "Old VPN question" not in found


def test_case_list_pages_by_keyset(make_customer, make_case, portal_login):
    contact = make_customer()
    for n in range(23):
        make_case(contact=contact, subject=f"Numbered case {n:02d}")
    client = portal_login(contact)
    first = client.get("/portal/").get_data(as_text=True)
    assert first.count("Numbered case") == 20 and "Older cases" in first
    after = re.search(r'after=([\w-]+)"', first).group(1)
    second = client.get(f"/portal/?after={after}").get_data(as_text=True)
    assert second.count("Numbered case") == 3 and "Older cases" not in second


def test_reply_with_attachment_reaches_the_agent_and_reopens(make_customer, make_case, make_user, portal_login, app):
    contact, agent = make_customer(), make_user()
    case = make_case(contact=contact)
    cases.reply_to_case(agent, case, body="Please restart it.")
    assert case.status == Status.WAIT_CUSTOMER
    client = portal_login(contact)
    response = client.post(f"/portal/cases/{case.id}/reply", data={
        "body": "Restarted, still broken.", "attachments": (io.BytesIO(b"log line"), "printer.log")},
        content_type="multipart/form-data")
    assert response.status_code == 302
    db.session.refresh(case)
    last = case.messages[-1]
    assert (last.kind, last.channel, last.author_contact_id) == (MessageKind.CUSTOMER, Channel.PORTAL, contact.id)
    assert last.attachments[0].filename == "printer.log" and case.status == Status.OPEN
    html = client.get(f"/portal/cases/{case.id}").get_data(as_text=True)
    assert "Restarted, still broken." in html and "printer.log" in html
    download = client.get(f"/portal/attachments/{last.attachments[0].id}/printer.log")
    assert download.status_code == 200 and download.data == b"log line"


def test_empty_reply_is_refused_with_the_field_named(make_customer, make_case, portal_login):
    contact = make_customer()
    case = make_case(contact=contact)
    response = portal_login(contact).post(f"/portal/cases/{case.id}/reply", data={"body": "  "})
    assert response.status_code == 422 and "Write something or attach a file." in response.get_data(as_text=True)


def test_close_and_reopen(make_customer, make_case, portal_login):
    contact = make_customer()
    case = make_case(contact=contact)
    client = portal_login(contact)
    client.post(f"/portal/cases/{case.id}/close")
    db.session.refresh(case)
    assert case.status == Status.CLOSED
    client.post(f"/portal/cases/{case.id}/reopen")
    db.session.refresh(case)
    assert case.status == Status.OPEN and case.is_open


def test_new_case_with_asset_records_the_funnel(make_customer, make_article, portal_login, app):
    from helpdesk.assets.models import Asset, Product

    contact = make_customer()
    product = Product(name="Laser 5000", code="L5000")
    db.session.add(product)
    db.session.flush()
    asset = Asset(serial_number="SN-1", product_id=product.id, contact_id=contact.id)
    db.session.add(asset)
    make_article(title="Printer paper jam", body="Open the tray and remove the jammed paper.")
    db.session.commit()  # indexes the article
    client = portal_login(contact)
    form = client.get("/portal/cases/new").get_data(as_text=True)
    assert "SN-1" in form and 'hx-get="/portal/suggestions"' in form
    suggestions = client.get("/portal/suggestions?subject=paper+jam&body=&attempt=att-1", headers=HTMX)
    html = suggestions.get_data(as_text=True)
    assert "Printer paper jam" in re.sub(r"<[^>]+>", "", html) and "attempt=att-1" in html
    article_url = re.search(r'href="(/help/articles/[^"]+)"', html).group(1).replace("&amp;", "&")
    assert client.get(article_url).status_code == 200
    response = client.post("/portal/cases/new", data={"subject": "Paper jam again", "body": "Tray 2 jams.",
                                                      "asset_id": str(asset.id), "attempt": "att-1"})
    assert response.status_code == 302
    steps = db.session.scalars(select(DeflectionEvent.step).where(DeflectionEvent.attempt == "att-1")).all()
    assert set(steps) == {FunnelStep.SUGGESTIONS_SHOWN, FunnelStep.ARTICLE_OPENED, FunnelStep.CASE_CREATED}
    case_id = int(response.headers["Location"].rsplit("/", 1)[1])
    case = db.session.get(__import__("helpdesk.cases.models", fromlist=["Case"]).Case, case_id)
    assert (case.channel, case.asset_id, case.product_id, case.contact_id) == (Channel.PORTAL, asset.id, product.id, contact.id)
    from helpdesk.satisfaction.queries import funnel_counts

    counts = funnel_counts()
    assert counts[FunnelStep.CASE_CREATED] >= 1 and counts[FunnelStep.SUGGESTIONS_SHOWN] >= 1
    # leaving after sending is not abandoning
    client.post("/portal/funnel", data={"attempt": "att-1", "step": "form_abandoned"})
    assert FunnelStep.FORM_ABANDONED not in db.session.scalars(
        select(DeflectionEvent.step).where(DeflectionEvent.attempt == "att-1")).all()


def test_abandoned_form_is_recorded_once(make_customer, portal_login):
    client = portal_login(make_customer())
    for _ in range(2):
        assert client.post("/portal/funnel", data={"attempt": "att-2", "step": "form_abandoned"}).status_code == 204
    assert db.session.scalars(select(DeflectionEvent).where(DeflectionEvent.attempt == "att-2")).all()[0].step \
        == FunnelStep.FORM_ABANDONED
    assert len(db.session.scalars(select(DeflectionEvent).where(DeflectionEvent.attempt == "att-2")).all()) == 1


def test_someone_elses_asset_cannot_be_chosen(make_customer, portal_login):
    from helpdesk.assets.models import Asset, Product

    mine, theirs = make_customer(), make_customer()
    product = Product(name="Router", code="R1")
    db.session.add(product)
    db.session.flush()
    asset = Asset(serial_number="SN-THEIRS", product_id=product.id, contact_id=theirs.id)
    db.session.add(asset)
    response = portal_login(mine).post("/portal/cases/new", data={"subject": "x", "body": "y", "asset_id": str(asset.id)})
    assert response.status_code == 422 and "Choose one of your assets." in response.get_data(as_text=True)


def test_assets_and_contracts_lists(make_customer, make_organization, portal_login):
    from helpdesk.assets.models import Asset, Product
    from helpdesk.contracts.models import ServiceContract

    org = make_organization()
    member, manager = make_customer(organization=org), make_customer(organization=org, role="org_manager")
    colleague = make_customer(organization=org)
    product = Product(name="Scanner S1", code="S1")
    db.session.add(product)
    db.session.flush()
    db.session.add_all([
        Asset(serial_number="SN-MEMBER", product_id=product.id, contact_id=member.id, organization_id=org.id),
        Asset(serial_number="SN-COLLEAGUE", product_id=product.id, contact_id=colleague.id, organization_id=org.id),
        ServiceContract(name="Org support plan", organization_id=org.id, start_date=date(2026, 1, 1),
                        end_date=date(2027, 1, 1), total_units=40, used_units=12.5),
    ])
    db.session.flush()
    member_assets = portal_login(member).get("/portal/assets").get_data(as_text=True)
    assert "SN-MEMBER" in member_assets and "SN-COLLEAGUE" not in member_assets
    manager_assets = portal_login(manager).get("/portal/assets").get_data(as_text=True)
    assert "SN-MEMBER" in manager_assets and "SN-COLLEAGUE" in manager_assets
    contracts = portal_login(member).get("/portal/contracts").get_data(as_text=True)
    assert "Org support plan" in contracts and "27.5" in contracts


def test_notification_preference_stops_reply_emails(make_customer, make_case, make_user, outbox):
    contact, agent = make_customer(), make_user()
    case = make_case(contact=contact)
    cases.reply_to_case(agent, case, body="First answer.")
    assert any(contact.email in m.to_addrs and "First answer." in m.body_text for m in outbox())
    contact.notify_case_updates = False
    cases.reply_to_case(agent, case, body="Second answer.")
    assert not any("Second answer." in m.body_text for m in outbox())
