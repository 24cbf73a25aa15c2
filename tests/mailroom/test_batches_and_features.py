"""Batch processing, the thread reason and watchers on the case page, Cc on replies, TNEF,
encrypted IMAP passwords and same-sender-same-subject threading."""
from __future__ import annotations

import struct
from email.message import EmailMessage

import pytest
from sqlalchemy import func, select

from helpdesk.cases.models import Activity, Case, Message
from helpdesk.cases.services import reply_to_case
from helpdesk.extensions import db
from helpdesk.mail.models import OutboundEmail
from mailroom import crypto, parsing
from mailroom.jobs import process_inbound_batch
from mailroom.models import CaseWatcher, InboundEmail, InboundStatus, Mailbox
from mailroom.services import (
    Intake,
    create_mailbox,
    explain,
    imap_password,
    rotate_secrets,
    store_inbound,
)
from tests.mailroom.conftest import build_mail


def _statuses(ids):
    db.session.expire_all()
    return {i: db.session.get(InboundEmail, i).status for i in ids}


# --- batches ----------------------------------------------------------------------------------


def test_an_intake_batch_files_every_mail_and_one_bad_mail_fails_alone(app, mailbox, monkeypatch):
    real_parse = parsing.parse
    calls = []

    def flaky(raw):
        calls.append(raw)
        if b"poison" in raw:
            raise RuntimeError("cannot read this")
        return real_parse(raw)

    monkeypatch.setattr(parsing, "parse", flaky)
    ids = []
    with Intake(size=7) as intake:
        for n in range(12):
            subject = "poison" if n == 4 else f"batch mail {n}"
            inbound, created = intake.store(build_mail(subject=subject, message_id=f"<b{n}@customer.example>",
                                                       sender=f"c{n}@customer.example"), mailbox)
            assert created
            ids.append(inbound.id)
    statuses = _statuses(ids)
    assert [s for i, s in statuses.items() if i != ids[4]] == [InboundStatus.PROCESSED] * 11
    bad = db.session.get(InboundEmail, ids[4])
    assert bad.status == InboundStatus.FAILED and bad.reason == "RuntimeError: cannot read this" and "Traceback" in bad.traceback
    # Eleven cases, one message each; the bad mail left nothing half-written.
    assert db.session.scalar(select(func.count(Case.id))) == 11
    assert db.session.scalar(select(func.count(Message.id))) == 11
    assert not db.session.scalar(select(func.count(Case.id)).where(Case.subject == "poison"))


def test_a_batch_run_twice_duplicates_nothing(app, mailbox):
    ids = []
    for n in range(3):
        inbound, _ = store_inbound(build_mail(subject=f"twice {n}", message_id=f"<t{n}@customer.example>"), mailbox,
                                   process=False)
        ids.append(inbound.id)
    assert set(_statuses(ids).values()) == {InboundStatus.QUEUED}
    assert process_inbound_batch(ids) == {"processed": 3}
    assert process_inbound_batch(ids) == {}  # claimed and done: nothing to do
    assert db.session.scalar(select(func.count(Case.id))) == 3


def test_a_batch_threads_a_reply_to_a_mail_earlier_in_the_same_batch(app, mailbox):
    with Intake() as intake:
        first, _ = intake.store(build_mail(message_id="<parent@customer.example>"), mailbox)
        reply, _ = intake.store(build_mail(subject="Re: Printer jam", message_id="<child@customer.example>",
                                           in_reply_to="<parent@customer.example>"), mailbox)
    db.session.expire_all()
    first, reply = db.session.get(InboundEmail, first.id), db.session.get(InboundEmail, reply.id)
    assert reply.case_id == first.case_id
    assert reply.thread_reason == "In-Reply-To <parent@customer.example> is a message of this case"


# --- the case page --------------------------------------------------------------------------------


def test_the_case_page_says_why_each_mail_joined_the_case(app, client, login, make_user, deliver):
    first = deliver(build_mail(message_id="<why1@customer.example>"))
    deliver(build_mail(subject="Re: Printer jam", message_id="<why2@customer.example>", in_reply_to="<why1@customer.example>"))
    deliver(build_mail(subject=f"Again [{first.case.number}]", message_id="<why3@customer.example>"))
    login(make_user())
    page = client.get(f"/cases/{first.case_id}").get_data(as_text=True)
    assert page.count("Why this mail is here:") == 3
    assert "Why this mail is here: new case" in page
    assert "In-Reply-To &lt;why1@customer.example&gt; is a message of this case" in page
    assert f"case token [{first.case.number}] in the subject" in page


def test_cc_people_get_the_agents_reply_in_cc_and_agents_can_turn_it_off(app, client, login, make_user, deliver):
    inbound = deliver(build_mail(cc="Bob Colleague <bob@customer.example>, Eve <eve@customer.example>"))
    case = inbound.case
    agent = make_user()
    message = reply_to_case(agent, case, body="On it.")
    email = db.session.scalar(select(OutboundEmail).where(OutboundEmail.case_message_id == message.id))
    assert email.to_addrs == "ann@customer.example"
    assert email.cc_addrs == "Bob Colleague <bob@customer.example>, Eve <eve@customer.example>"

    login(agent)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'id="case-watchers"' in page and "bob@customer.example" in page
    bob = db.session.scalar(select(CaseWatcher).join(CaseWatcher.contact).where(CaseWatcher.case_id == case.id)
                            .where(CaseWatcher.contact.has(email="bob@customer.example")))
    partial = client.post(f"/mailroom/cases/{case.id}/watchers/{bob.contact_id}", data={"cc": "0"},
                          headers={"HX-Request": "true"})
    assert partial.status_code == 200 and "Cc off" in partial.get_data(as_text=True)
    response = client.post(f"/mailroom/cases/{case.id}/watchers", data={"email": "carol@partner.example"})
    assert response.status_code == 302
    refused = client.post(f"/mailroom/cases/{case.id}/watchers", data={"email": "not an address"},
                          headers={"HX-Request": "true"})
    assert refused.status_code == 422 and "Enter an email address" in refused.get_data(as_text=True)
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    message = reply_to_case(agent, case, body="Fixed now.")
    email = db.session.scalar(select(OutboundEmail).where(OutboundEmail.case_message_id == message.id))
    assert "bob@" not in email.cc_addrs
    assert "eve@customer.example" in email.cc_addrs and "carol@partner.example" in email.cc_addrs
    history = [a.reason for a in db.session.scalars(select(Activity).where(Activity.case_id == case.id))]
    assert "bob@customer.example is no longer copied on replies" in history
    assert "carol@partner.example is copied on replies" in history


def test_customers_cannot_change_watchers(app, client, deliver):
    inbound = deliver(build_mail(cc="bob@customer.example"))
    response = client.post(f"/mailroom/cases/{inbound.case_id}/watchers", data={"email": "x@y.example"})
    assert response.status_code in (302, 401)
    assert "/login" in response.headers.get("Location", "/login")
    assert db.session.scalar(select(func.count()).select_from(CaseWatcher)) == 1


# --- TNEF -----------------------------------------------------------------------------------------


def _tnef(files) -> bytes:
    def attr(level, code, data):
        return struct.pack("<BII", level, code, len(data)) + data + struct.pack("<H", sum(data) & 0xFFFF)

    out = struct.pack("<IH", 0x223E9F78, 1) + attr(1, 0x00089006, struct.pack("<I", 0x00010000))
    for name, data in files:
        out += attr(2, 0x00069002, b"\x01\x00\xff\xff\xff\xff" + b"\x00" * 8)
        out += attr(2, 0x00018010, name.encode() + b"\x00")
        out += attr(2, 0x0006800F, data)
    return out


def test_winmail_dat_is_opened_into_its_files(deliver):
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "ann@customer.example", "support@helpdesk.example", "Outlook mail"
    msg["Message-ID"] = "<tnef@customer.example>"
    msg.set_content("See the files.")
    msg.add_attachment(_tnef([("report.pdf", b"%PDF-1.4 report"), ("notes.txt", b"notes")]),
                       maintype="application", subtype="ms-tnef", filename="winmail.dat")
    parsed = parsing.parse(msg.as_bytes())
    assert [(a.filename, a.content_type, a.data) for a in parsed.attachments] == [
        ("report.pdf", "application/pdf", b"%PDF-1.4 report"), ("notes.txt", "text/plain", b"notes")]
    inbound = deliver(msg.as_bytes())
    assert sorted(a.filename for a in inbound.case_message.attachments) == ["notes.txt", "report.pdf"]


def test_a_damaged_winmail_dat_stays_an_attachment():
    msg = EmailMessage()
    msg["From"], msg["Subject"] = "ann@customer.example", "Broken"
    msg.set_content("x")
    msg.add_attachment(b"not tnef at all", maintype="application", subtype="ms-tnef", filename="winmail.dat")
    assert [a.filename for a in parsing.parse(msg.as_bytes()).attachments] == ["winmail.dat"]


# --- IMAP passwords ---------------------------------------------------------------------------------


def test_imap_passwords_are_encrypted_at_rest_and_keys_rotate(app, monkeypatch):
    from cryptography.fernet import Fernet

    box = create_mailbox(None, address="imap@helpdesk.example", imap_host="imap.example", imap_password="s3cret!")
    db.session.flush()
    stored = db.session.scalar(select(Mailbox.imap_password).where(Mailbox.id == box.id))
    assert stored.startswith("fernet:") and "s3cret" not in stored
    assert imap_password(box) == "s3cret!"
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setitem(app.config, "MAILBOX_KEY", old)
    box.imap_password = crypto.encrypt("s3cret!")
    legacy = create_mailbox(None, address="legacy@helpdesk.example", imap_host="imap.example")
    legacy.imap_password = "plain-from-before"  # stored before encryption existed
    monkeypatch.setitem(app.config, "MAILBOX_KEY", f"{new},{old}")
    assert imap_password(box) == "s3cret!"  # the old key still opens it
    assert rotate_secrets() == 2
    monkeypatch.setitem(app.config, "MAILBOX_KEY", new)
    assert imap_password(box) == "s3cret!" and imap_password(legacy) == "plain-from-before"
    assert legacy.imap_password.startswith("fernet:")
    monkeypatch.setitem(app.config, "MAILBOX_KEY", Fernet.generate_key().decode())
    with pytest.raises(crypto.SecretUnreadable):
        imap_password(box)


# --- same sender, same subject --------------------------------------------------------------------


def test_same_sender_and_subject_join_within_the_window_when_enabled(app, deliver, monkeypatch):
    first = deliver(build_mail(subject="VPN drops every hour", message_id="<s1@customer.example>"))
    # A client that drops In-Reply-To and References:
    again = build_mail(subject="RE: VPN drops every hour", message_id="<s2@customer.example>")
    other = build_mail(sender="zoe@customer.example", subject="RE: VPN drops every hour", message_id="<s3@customer.example>")
    assert explain(again)["thread"] is None  # off by default
    monkeypatch.setitem(app.config, "MAILROOM_SUBJECT_THREAD_DAYS", 7)
    joined = deliver(again)
    assert joined.case_id == first.case_id
    assert joined.thread_reason == f"same sender and subject as {first.case.number}, active within 7 days"
    assert deliver(other).case_id != first.case_id  # another sender: a case of its own


# --- the mailbox admin page -------------------------------------------------------------------------


def test_admins_create_and_edit_mailboxes_on_a_page(app, client, login, make_user, make_group):
    group = make_group(name="Billing")
    login(make_user(role="admin"))
    assert client.get("/mailroom/admin/mailboxes").status_code == 200
    form = {"address": "Billing@Helpdesk.example", "name": "Billing", "from_name": "ACME Billing",
            "group_id": str(group.id), "signature": "ACME Ltd", "auto_reply": "1",
            "auto_reply_template": "Hi {name}, case {case_number}.", "plus_addressing": "1", "active": "1",
            "imap_host": "imap.example", "imap_port": "993", "imap_security": "ssl", "imap_username": "billing",
            "imap_password": "pw-1", "imap_folder": "INBOX", "imap_processed_folder": "Done"}
    bad = client.post("/mailroom/admin/mailboxes/new", data={**form, "auto_reply_template": "Hi {nom}", "imap_port": "x"})
    assert bad.status_code == 422
    page = bad.get_data(as_text=True)
    assert "Use only {name}" in page and "A port number" in page
    assert client.post("/mailroom/admin/mailboxes/new", data=form).status_code == 302
    box = db.session.scalar(select(Mailbox).where(Mailbox.address == "billing@helpdesk.example"))
    assert (box.from_name, box.group_id, box.imap_port, box.imap_processed_folder) == ("ACME Billing", group.id, 993, "Done")
    assert box.imap_password.startswith("fernet:") and imap_password(box) == "pw-1"
    listing = client.get("/mailroom/admin/mailboxes").get_data(as_text=True)
    assert "billing@helpdesk.example" in listing and "IMAP imap.example" in listing
    # An empty password keeps the stored one; unchecked boxes turn things off.
    edit = {**form, "imap_password": "", "auto_reply": "", "name": "Invoices"}
    assert client.post(f"/mailroom/admin/mailboxes/{box.id}", data=edit).status_code == 302
    db.session.expire_all()
    box = db.session.get(Mailbox, box.id)
    assert box.name == "Invoices" and box.auto_reply is False and imap_password(box) == "pw-1"


def test_only_admins_reach_the_mailbox_pages(app, client, login, make_user):
    login(make_user(role="agent"))
    assert client.get("/mailroom/admin/mailboxes").status_code == 403
    assert client.post("/mailroom/admin/mailboxes/new", data={"address": "x@y.example"}).status_code == 403


def test_mail_stored_but_never_queued_is_picked_up_by_the_stale_sweep(app, mailbox):
    from datetime import timedelta

    from helpdesk.types import utcnow
    from mailroom.services import requeue_stale

    inbound, _ = store_inbound(build_mail(message_id="<orphan@customer.example>"), mailbox, process=False)
    inbound = db.session.get(InboundEmail, inbound.id)
    assert requeue_stale() == 0  # too fresh: its job may still be coming
    inbound.received_at = utcnow() - timedelta(minutes=30)  # as if its worker died half an hour ago
    db.session.commit()
    assert requeue_stale() == 1
    db.session.commit()  # the batch job runs after the commit
    assert _statuses([inbound.id]) == {inbound.id: InboundStatus.PROCESSED}
