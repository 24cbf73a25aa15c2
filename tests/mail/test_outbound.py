"""Outbound mail through a real SMTP listener, and into the outbox folder when no server is configured."""
from __future__ import annotations

import email
import io
import logging
from email import policy
from pathlib import Path
from types import SimpleNamespace

import pytest

from helpdesk.cases.attachments import store_blob
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.mail.jobs import send_outbound_email
from helpdesk.mail.models import AutoSubmitted, EmailStatus, OutboundEmail
from helpdesk.mail.services import queue_email


def queue(**kw):
    kw.setdefault("to", ["Ann Customer <ann@customer.example>"])
    kw.setdefault("subject", "Your printer")
    kw.setdefault("body_text", "Please switch it off and on again.")
    return queue_email(**kw)


def test_a_queued_email_is_sent_after_the_commit_with_its_headers_and_body(app, smtp):
    app.config["MAIL_FROM"] = "Help Desk <support@helpdesk.example>"
    email_row = queue(cc=["boss@customer.example"], body_html="<p>Please switch it <b>off</b>.</p>")
    assert smtp.received == []
    db.session.commit()

    assert len(smtp.received) == 1
    got = smtp.received[0]
    assert got.mail_from == "support@helpdesk.example"
    assert sorted(got.rcpt_tos) == ["ann@customer.example", "boss@customer.example"]
    msg = got.message
    assert msg["From"] == "Help Desk <support@helpdesk.example>"
    assert msg["To"] == "Ann Customer <ann@customer.example>"
    assert msg["Cc"] == "boss@customer.example"
    assert msg["Subject"] == "Your printer"
    assert msg["Message-ID"] == email_row.message_id
    assert email_row.message_id.startswith("<") and email_row.message_id.endswith("@helpdesk.example>")
    assert msg["Date"].datetime.tzinfo is not None
    assert msg["Auto-Submitted"] is None
    assert msg.get_content_type() == "multipart/alternative"
    assert msg.get_body(("plain",)).get_content().strip() == "Please switch it off and on again."
    assert "<b>off</b>" in msg.get_body(("html",)).get_content()

    db.session.refresh(email_row)
    assert (email_row.status, email_row.attempts, email_row.last_error) == (EmailStatus.SENT, 1, None)
    assert email_row.sent_at is not None


def test_nothing_is_sent_when_the_transaction_rolls_back(app, smtp):
    queue()
    db.session.rollback()
    db.session.commit()
    assert smtp.received == []


def test_a_reply_carries_threading_headers_and_its_case(app, smtp, make_case):
    case = make_case()
    email_row = queue(
        case=case,
        in_reply_to="original@customer.example",
        references="<first@customer.example> <original@customer.example>",
        subject=f"[{case.number}] {case.subject}",
    )
    db.session.commit()

    msg = smtp.received[0].message
    assert msg["In-Reply-To"] == "<original@customer.example>"
    assert msg["References"].split() == ["<first@customer.example>", "<original@customer.example>"]
    assert msg["Subject"] == f"[{case.number}] {case.subject}"
    assert email_row.case_id == case.id


def test_in_reply_to_joins_the_references_when_the_caller_left_it_out(app, smtp):
    queue(in_reply_to="<parent@x.example>", references=["<root@x.example>"])
    db.session.commit()
    assert smtp.received[0].message["References"].split() == ["<root@x.example>", "<parent@x.example>"]


@pytest.mark.parametrize("kind", ["auto-replied", "auto-generated"])
def test_automatic_mail_says_so(app, smtp, kind):
    email_row = queue(auto_submitted=kind)
    db.session.commit()
    msg = smtp.received[0].message
    assert msg["Auto-Submitted"] == kind
    assert msg["X-Auto-Response-Suppress"] == "All"
    assert email_row.auto_submitted == AutoSubmitted(kind)


def test_running_the_send_job_twice_sends_once(app, smtp):
    email_row = queue()
    db.session.commit()
    assert send_outbound_email(email_row.id) == "already sent"
    assert len(smtp.received) == 1
    db.session.refresh(email_row)
    assert email_row.attempts == 1


def test_the_same_dedupe_key_queues_one_email(app, smtp):
    first = queue(dedupe_key="ack:42")
    again = queue(dedupe_key="ack:42", subject="Something else")
    assert again is first
    db.session.commit()
    assert len(smtp.received) == 1
    assert queue(dedupe_key="ack:42").id == first.id
    db.session.commit()
    assert len(smtp.received) == 1


def test_attachments_travel_from_the_attachment_store(app, smtp):
    blob = store_blob(app.config["ATTACHMENT_DIR"], io.BytesIO(b"%PDF-1.4 invoice"), 1024 * 1024)
    queue(body_html="<p>Your invoice.</p>", attachments=[SimpleNamespace(filename="invoice.pdf", blob=blob)])
    db.session.commit()

    msg = smtp.received[0].message
    assert msg.get_content_type() == "multipart/mixed"
    (part,) = list(msg.iter_attachments())
    assert part.get_filename() == "invoice.pdf"
    assert part.get_content_type() == "application/pdf"
    assert part.get_content() == b"%PDF-1.4 invoice"
    assert msg.get_body(("html",)).get_content().strip() == "<p>Your invoice.</p>"


def test_without_an_smtp_server_the_mail_goes_to_the_outbox(app):
    app.config["SMTP_HOST"] = None
    email_row = queue(in_reply_to="<parent@x.example>", auto_submitted="auto-replied")
    db.session.commit()

    files = list(Path(app.config["OUTBOX_DIR"]).iterdir())
    assert [f.suffix for f in files] == [".eml"]  # no temporary file left behind
    msg = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert msg["Message-ID"] == email_row.message_id
    assert msg["To"] == "Ann Customer <ann@customer.example>"
    assert msg["In-Reply-To"] == "<parent@x.example>"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg.get_body(("plain",)).get_content().strip() == "Please switch it off and on again."
    db.session.refresh(email_row)
    assert email_row.status == EmailStatus.SENT


def test_an_smtp_failure_is_recorded_and_raised_so_rq_retries(app, dead_smtp):
    db.session.add(email_row := OutboundEmail(
        from_addr="support@localhost", to_addrs="ann@customer.example", subject="Hello",
        message_id="<failing@localhost>", body_text="Hi",
    ))
    db.session.commit()
    with pytest.raises(ConnectionRefusedError):
        send_outbound_email(email_row.id)
    with pytest.raises(ConnectionRefusedError):
        send_outbound_email(email_row.id)
    db.session.refresh(email_row)
    assert email_row.status == EmailStatus.FAILED
    assert email_row.attempts == 2
    assert email_row.last_error.startswith("ConnectionRefusedError")


def test_in_the_embedded_mode_a_failed_send_is_logged_and_the_commit_stands(app, dead_smtp, caplog):
    with caplog.at_level(logging.ERROR):
        email_row = queue()
        db.session.commit()
    db.session.refresh(email_row)
    assert email_row.status == EmailStatus.FAILED
    assert "ConnectionRefusedError" in email_row.last_error
    assert any("send_outbound_email" in r.getMessage() and r.exc_info for r in caplog.records)


def test_a_sent_email_is_not_sent_again_after_a_failure_was_fixed(app, dead_smtp, monkeypatch):
    email_row = queue()
    db.session.commit()
    with pytest.raises(ConnectionRefusedError):
        send_outbound_email(email_row.id)
    from tests.services import smtp_server

    with smtp_server() as listener:
        monkeypatch.setitem(app.config, "SMTP_PORT", listener.port)
        assert send_outbound_email(email_row.id) == "sent"
        assert send_outbound_email(email_row.id) == "already sent"
        assert len(listener.received) == 1
    db.session.refresh(email_row)
    assert (email_row.status, email_row.attempts, email_row.last_error) == (EmailStatus.SENT, 3, None)


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"to": []}, "to"),
        ({"to": ["not an address"]}, "to"),
        ({"cc": ["nobody"]}, "cc"),
        ({"subject": "  \n "}, "subject"),
    ],
)
def test_bad_input_is_refused_with_the_field_named(app, kw, field):
    with pytest.raises(ValidationFailed) as caught:
        queue(**kw)
    assert field in caught.value.errors


def test_a_line_break_cannot_smuggle_a_header_in(app, smtp):
    queue(subject="Hello\r\nBcc: victim@elsewhere.example")
    db.session.commit()
    msg = smtp.received[0].message
    assert msg["Subject"] == "Hello Bcc: victim@elsewhere.example"
    assert msg["Bcc"] is None
    assert smtp.received[0].rcpt_tos == ["ann@customer.example"]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_the_transport_logs_in_when_a_username_is_set(app, monkeypatch):
    from tests.services import smtp_server

    with smtp_server(credentials=("helpdesk", "s3cret")) as listener:
        for key, value in {"SMTP_HOST": listener.host, "SMTP_PORT": listener.port, "SMTP_USERNAME": "helpdesk",
                           "SMTP_PASSWORD": "s3cret", "SMTP_TIMEOUT": 5}.items():
            monkeypatch.setitem(app.config, key, value)
        queue()
        db.session.commit()
        assert len(listener.received) == 1

        monkeypatch.setitem(app.config, "SMTP_PASSWORD", "wrong")
        email_row = queue(subject="Second")
        db.session.commit()
        assert len(listener.received) == 1
    db.session.refresh(email_row)
    assert email_row.status == EmailStatus.FAILED
    assert email_row.last_error.startswith("SMTPAuthenticationError")


def test_names_and_subjects_beyond_ascii_arrive_intact(app, smtp):
    queue(to="Zoë Ünal <zoe@customer.example>", subject="Ärger mit dem Drucker – 打印机", body_text="Grüße ✓")
    db.session.commit()
    msg = smtp.received[0].message
    assert msg["Subject"] == "Ärger mit dem Drucker – 打印机"
    (address,) = msg["To"].addresses
    assert (address.display_name, address.addr_spec) == ("Zoë Ünal", "zoe@customer.example")
    assert msg.get_body(("plain",)).get_content().strip() == "Grüße ✓"
