"""Mailroom reads for other pages: why each mail joined its case, and who is copied on a case."""
from __future__ import annotations

from sqlalchemy import select

from helpdesk.cases.models import Case, Message
from helpdesk.extensions import db
from helpdesk.people.models import Contact
from mailroom.models import CaseWatcher, InboundEmail


def thread_reasons(case: Case) -> dict[int, str]:
    """{message id: why that mail joined this case} for the case's messages that came by mail."""
    rows = db.session.execute(
        select(InboundEmail.case_message_id, InboundEmail.thread_reason)
        .where(InboundEmail.case_message_id.in_(select(Message.id).where(Message.case_id == case.id)),
               InboundEmail.thread_reason.is_not(None))
        .order_by(InboundEmail.id)
    )
    return {message_id: reason for message_id, reason in rows}


def case_watchers(case: Case) -> list[CaseWatcher]:
    """The contacts copied on a case, by name."""
    return list(db.session.scalars(
        select(CaseWatcher).join(Contact, CaseWatcher.contact_id == Contact.id)
        .where(CaseWatcher.case_id == case.id).order_by(Contact.name, Contact.id)
    ))
