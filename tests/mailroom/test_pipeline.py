"""The pipeline: store, screen, thread, file, acknowledge; failures, retries and duplicates."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from helpdesk.cases.models import Case, Message, Priority
from helpdesk.cases.services import reply_to_case
from helpdesk.extensions import db
from helpdesk.mail.models import AutoSubmitted, OutboundEmail
from helpdesk.people.models import Contact
from mailroom import parsing
from mailroom.models import BlockedSender, BouncingAddress, CaseWatcher, InboundEmail, InboundStatus, MailRule
from mailroom.services import block_sender, release_inbound, retry_inbound, store_inbound
from tests.mailroom.conftest import build_mail


def test_a_new_mail_opens_a_case_for_a_new_contact(deliver):
    inbound = deliver(build_mail(message_id="<first@customer.example>", body="Hello\n\nC:\\Users\\ann\\file.txt"))
    assert inbound.status == InboundStatus.PROCESSED
    assert inbound.thread_reason == "new case"
    case = inbound.case
    assert case.subject == "Printer jam"
    assert case.contact.email == "ann@customer.example" and case.contact.name == "Ann Customer"
    assert case.channel.value == "email"
    message = inbound.case_message
    assert message.email_message_id == "<first@customer.example>"
    assert "C:\\Users\\ann\\file.txt" in message.body_text  # every character survives, backslashes too


def test_mail_from_a_merged_or_binned_contact_lands_on_a_live_one(deliver, make_contact, make_user):
    from helpdesk.people.services import merge_contacts
    from helpdesk.recycle.services import delete_record

    kept = make_contact(name="Ann Kept", email="ann.kept@customer.example")
    duplicate = make_contact(name="Ann Duplicate", email="ann@customer.example")
    merge_contacts(make_user(role="manager"), duplicate, kept)
    binned = make_contact(name="Bob Binned", email="bob@customer.example")
    delete_record(None, "contact", binned.id)
    db.session.commit()
    assert deliver(build_mail(message_id="<m1@customer.example>")).case.contact_id == kept.id
    case = deliver(build_mail(sender="Bob <bob@customer.example>", message_id="<m2@customer.example>")).case
    assert case.contact_id != binned.id and case.contact.deleted_at is None and case.contact.email == "bob@customer.example"


def test_a_reply_joins_by_in_reply_to_and_records_why(deliver):
    first = deliver(build_mail(message_id="<p1@customer.example>"))
    reply = deliver(build_mail(subject="Re: Printer jam", message_id="<p2@customer.example>",
                               in_reply_to="<p1@customer.example>", references="<p1@customer.example>"))
    assert reply.case_id == first.case_id
    assert "In-Reply-To <p1@customer.example>" in reply.thread_reason


def test_a_reply_to_our_outbound_mail_joins_its_case(app, deliver, make_user):
    first = deliver(build_mail())
    agent = make_user()
    message = reply_to_case(agent, first.case, body="Try turning it off.")
    db.session.flush()
    answer = deliver(build_mail(subject="Re: whatever", in_reply_to=message.email_message_id))
    assert answer.case_id == first.case_id


def test_subject_token_and_plus_address_join_the_case(app, deliver):
    first = deliver(build_mail())
    number = first.case.number
    by_token = deliver(build_mail(subject=f"Re: [{number}] Printer jam"))
    assert by_token.case_id == first.case_id
    assert by_token.thread_reason == f"case token [{number}] in the subject"
    by_plus = deliver(build_mail(subject="no token here", to=f"support+{number}@helpdesk.example"))
    assert by_plus.case_id == first.case_id
    assert by_plus.thread_reason == f"plus-address +{number.lower()}"


def test_a_reply_that_arrives_before_its_parent_ends_in_one_case(deliver):
    reply = deliver(build_mail(subject="Re: Printer jam", message_id="<child@x.example>",
                               in_reply_to="<parent@x.example>", references="<parent@x.example>"))
    sibling = deliver(build_mail(subject="Re: Printer jam", message_id="<child2@x.example>",
                                 in_reply_to="<parent@x.example>", references="<parent@x.example>"))
    parent = deliver(build_mail(message_id="<parent@x.example>"))
    assert reply.case_id == sibling.case_id == parent.case_id
    assert "earlier reply" in parent.thread_reason


def test_the_same_mail_twice_or_to_two_mailboxes_makes_one_case(app, deliver, make_mailbox, mailbox):
    sales = make_mailbox("sales@helpdesk.example", name="Sales")
    raw = build_mail(to="support@helpdesk.example", cc="sales@helpdesk.example", message_id="<twice@x.example>")
    first = deliver(raw)
    again, created = store_inbound(raw, mailbox, "smtp")
    assert not created and again.id == first.id
    other = deliver(raw, box=sales)
    assert other.status == InboundStatus.DUPLICATE
    assert other.case_id == first.case_id
    assert db.session.scalar(select(func.count(Case.id)).where(Case.subject == "Printer jam")) == 1


def test_mail_without_message_id_is_keyed_by_its_bytes(deliver, mailbox):
    raw = b"From: a@customer.example\nTo: support@helpdesk.example\nSubject: no id\n\nbody\n"
    first = deliver(raw)
    assert first.message_id == parsing.content_hash(raw)
    _, created = store_inbound(raw, mailbox)
    assert not created


def test_cc_people_become_watchers_and_staff_followers(app, deliver, make_user):
    agent = make_user(email="agent.cc@staff.example")
    inbound = deliver(build_mail(cc="Bob <bob@customer.example>, agent.cc@staff.example, support@helpdesk.example"))
    watchers = db.session.scalars(select(CaseWatcher).where(CaseWatcher.case_id == inbound.case_id)).all()
    assert [w.contact.email for w in watchers] == ["bob@customer.example"]
    assert agent in inbound.case.followers


@pytest.mark.parametrize("headers,subject", [
    ({"Auto-Submitted": "auto-replied"}, "Re: Printer jam"),
    ({"X-Autoreply": "yes"}, "Re: Printer jam"),
    ({"Precedence": "bulk"}, "Newsletter"),
    ({}, "Out of Office: back Monday"),
    ({}, "Automatische Antwort: Abwesend"),
    ({}, "Réponse automatique : absent"),
])
def test_auto_replies_are_screened_and_never_open_cases(deliver, headers, subject):
    inbound = deliver(build_mail(subject=subject, headers=headers))
    assert inbound.status == InboundStatus.SCREENED
    assert inbound.reason.startswith("auto-reply")
    assert inbound.case_id is None


def test_a_bounce_marks_the_address_as_bouncing(deliver):
    raw = (b"From: Mail Delivery System <MAILER-DAEMON@mx.customer.example>\nTo: support@helpdesk.example\n"
           b"Subject: Undelivered Mail Returned to Sender\nMessage-ID: <b1@mx.example>\nMIME-Version: 1.0\n"
           b'Content-Type: multipart/report; report-type=delivery-status; boundary="R"\n\n'
           b"--R\nContent-Type: text/plain\n\nSorry.\n--R\nContent-Type: message/delivery-status\n\n"
           b"Reporting-MTA: dns; mx.customer.example\n\nFinal-Recipient: rfc822; gone@customer.example\n"
           b"Action: failed\nStatus: 5.1.1\n--R--\n")
    inbound = deliver(raw)
    assert inbound.status == InboundStatus.SCREENED and inbound.reason.startswith("bounce")
    assert db.session.get(BouncingAddress, "gone@customer.example") is not None


def test_mail_from_our_own_address_is_a_loop(deliver):
    inbound = deliver(build_mail(sender="support@helpdesk.example"))
    assert inbound.status == InboundStatus.SCREENED and inbound.reason.startswith("loop")


def test_an_acknowledgement_goes_out_once_per_new_case_and_is_limited_per_sender(app, deliver, mailbox, monkeypatch):
    mailbox.auto_reply, mailbox.from_name = True, "ACME Support"
    monkeypatch.setitem(app.config, "MAILROOM_ACK_LIMIT", 2)
    first = deliver(build_mail(message_id="<a1@customer.example>"))
    ack = db.session.scalar(select(OutboundEmail).where(OutboundEmail.dedupe_key == f"ack:{first.id}"))
    assert ack.auto_submitted == AutoSubmitted.AUTO_REPLIED
    assert ack.subject == f"[{first.case.number}] Printer jam"
    assert ack.from_addr == "ACME Support <support@helpdesk.example>"
    assert ack.in_reply_to == "<a1@customer.example>"
    deliver(build_mail(subject=f"Re: [{first.case.number}]"))  # a reply: no acknowledgement
    deliver(build_mail(subject="second problem"))
    deliver(build_mail(subject="third problem"))  # over the limit of 2 per hour
    acks = db.session.scalar(select(func.count(OutboundEmail.id)).where(OutboundEmail.dedupe_key.like("ack:%")))
    assert acks == 2


def test_agent_replies_leave_from_the_mailbox_with_its_signature_and_the_token(app, deliver, mailbox, make_user):
    mailbox.from_name, mailbox.signature = "ACME Support", "ACME Ltd, Main St 1"
    inbound = deliver(build_mail())
    message = reply_to_case(make_user(), inbound.case, body="Fixed.")
    email = db.session.scalar(select(OutboundEmail).where(OutboundEmail.case_message_id == message.id))
    assert email.from_addr == "ACME Support <support@helpdesk.example>"
    assert email.subject.startswith(f"[{inbound.case.number}]")
    assert email.body_text.endswith("-- \nACME Ltd, Main St 1")
    assert email.in_reply_to == inbound.message_id


def test_organizations_match_by_domain_but_never_for_free_mail(app, deliver, make_organization, monkeypatch):
    org = make_organization(name="Customer Ltd", domain="customer.example")
    assert deliver(build_mail()).case.organization == org
    monkeypatch.setitem(app.config, "MAILROOM_CREATE_ORGANIZATIONS", True)
    assert deliver(build_mail(sender="joe@gmail.com")).case.organization is None
    created = deliver(build_mail(sender="kim@newco.example")).case.organization
    assert created is not None and created.domain == "newco.example"


def test_rules_route_and_ignore(app, deliver, mailbox, make_group):
    billing = make_group(name="Billing")
    db.session.add_all([
        MailRule(name="spam", position=1, conditions=[{"field": "subject", "op": "regex", "value": r"^\[SPAM\]"}],
                 actions={"ignore": True}),
        MailRule(name="billing", position=2, mailbox_id=mailbox.id,
                 conditions=[{"field": "plus", "op": "equals", "value": "billing"}],
                 actions={"group_id": billing.id, "priority": 3, "tags": ["invoice"]}),
    ])
    db.session.flush()
    routed = deliver(build_mail(to="support+billing@helpdesk.example"))
    assert routed.case.group == billing and routed.case.priority == Priority.HIGH
    assert [t.name for t in routed.case.tags] == ["invoice"]
    assert "rule “billing”" in routed.thread_reason
    ignored = deliver(build_mail(subject="[SPAM] cheap"))
    assert ignored.status == InboundStatus.SCREENED and "ignore" in ignored.reason


def test_a_failure_is_recorded_and_does_not_block_other_mail_and_retry_recovers(app, deliver, monkeypatch):
    real_parse = parsing.parse

    def flaky(raw):
        if b"poison" in raw:
            raise RuntimeError("cannot read this")
        return real_parse(raw)

    monkeypatch.setattr(parsing, "parse", flaky)
    bad = deliver(build_mail(subject="poison"))
    good = deliver(build_mail(subject="fine"))
    assert bad.status == InboundStatus.FAILED
    assert bad.reason == "RuntimeError: cannot read this"
    assert "Traceback" in bad.traceback
    assert good.status == InboundStatus.PROCESSED
    monkeypatch.setattr(parsing, "parse", real_parse)
    retry_inbound(bad)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(InboundEmail, bad.id).status == InboundStatus.PROCESSED


def test_release_files_a_quarantined_mail_and_block_quarantines_a_sender(app, deliver):
    screened = deliver(build_mail(subject="Out of office"))
    release_inbound(screened)
    assert screened.status == InboundStatus.PROCESSED and screened.case_id is not None
    block_sender("@spammer.example")
    db.session.commit()
    blocked = deliver(build_mail(sender="x@spammer.example"))
    assert blocked.status == InboundStatus.SCREENED and blocked.reason.startswith("blocked")
    assert db.session.get(BlockedSender, "@spammer.example")


def test_every_message_of_a_contact_thread_keeps_its_message_ids(deliver):
    first = deliver(build_mail(message_id="<m1@customer.example>"))
    deliver(build_mail(message_id="<m2@customer.example>", in_reply_to="<m1@customer.example>"))
    ids = db.session.scalars(select(Message.email_message_id).where(Message.case_id == first.case_id)).all()
    assert set(ids) == {"<m1@customer.example>", "<m2@customer.example>"}
    assert db.session.scalar(select(func.count(Contact.id)).where(Contact.email == "ann@customer.example")) == 1


def test_our_own_mail_coming_back_is_a_loop(app, deliver):
    from helpdesk.mail.services import queue_email

    sent = queue_email(to="ann@customer.example", subject="Hello", body_text="Hi")
    db.session.flush()
    inbound = deliver(build_mail(sender="ann@customer.example", message_id=sent.message_id))
    assert inbound.status == InboundStatus.SCREENED and inbound.reason == "loop: this is a mail we sent"
