"""Which case a mail belongs to, and why: Message-IDs first, then the case token, then the plus-address."""
from __future__ import annotations

import re
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from helpdesk.cases.models import Case, Message
from helpdesk.extensions import db
from helpdesk.mail.models import OutboundEmail
from mailroom.models import MailThreadRef
from mailroom.parsing import ParsedEmail


@dataclass(frozen=True)
class ThreadMatch:
    case: Case
    reason: str


def find_case(mail: ParsedEmail, plus_tags: list[str] = ()) -> ThreadMatch | None:
    """The case this mail continues, or None for a new case."""
    parents = list(dict.fromkeys([*mail.in_reply_to, *reversed(mail.references)]))
    if parents:
        found = _by_message_ids(parents, set(mail.in_reply_to))
        if found is not None:
            return found
    if mail.message_id:
        case_id = db.session.scalar(select(MailThreadRef.case_id).where(MailThreadRef.message_id == mail.message_id))
        if case_id is not None:
            return _live(db.session.get(Case, case_id), f"an earlier reply refers to this mail's Message-ID {mail.message_id}")
    number = case_token(mail.subject)
    if number is not None:
        case = db.session.scalar(select(Case).where(Case.number == number))
        if case is not None:
            return _live(case, f"case token [{number}] in the subject")
    for tag in plus_tags:
        number = case_token(f"[{tag}]")
        case = db.session.scalar(select(Case).where(Case.number == number)) if number else None
        if case is not None:
            return _live(case, f"plus-address +{tag}")
    return None


def _by_message_ids(ids: list[str], in_reply_to: set[str]) -> ThreadMatch | None:
    rows = db.session.execute(
        select(Message.email_message_id, Message.case_id).where(Message.email_message_id.in_(ids))
    ).all()
    rows += db.session.execute(
        select(OutboundEmail.message_id, OutboundEmail.case_id)
        .where(OutboundEmail.message_id.in_(ids), OutboundEmail.case_id.is_not(None))
    ).all()
    known = {mid: case_id for mid, case_id in rows}
    for mid in ids:  # In-Reply-To first, then the newest reference
        if mid in known:
            header = "In-Reply-To" if mid in in_reply_to else "References"
            return _live(db.session.get(Case, known[mid]), f"{header} {mid} is a message of this case")
    refs = dict(db.session.execute(
        select(MailThreadRef.message_id, MailThreadRef.case_id).where(MailThreadRef.message_id.in_(ids))
    ).all())
    for mid in ids:
        if mid in refs:
            return _live(db.session.get(Case, refs[mid]), f"refers to {mid}, as an earlier mail of this case does")
    return None


def _live(case: Case | None, reason: str) -> ThreadMatch | None:
    if case is None:
        return None
    seen = set()
    while case.merged_into_id is not None and case.id not in seen:
        seen.add(case.id)
        reason += f" (merged into {case.merged_into.number})"
        case = case.merged_into
    if case.deleted_at is not None:
        return None
    return ThreadMatch(case, reason)


def case_token(subject: str) -> str | None:
    """The case number in "[CS-123]", with the configured prefix, or None."""
    prefix = current_app.config["CASE_NUMBER_PREFIX"]
    match = re.search(r"\[\s*" + re.escape(prefix) + r"(\d{1,12})\s*\]", subject or "", re.I)
    return f"{prefix}{int(match.group(1))}" if match else None


def remember_ids(mail: ParsedEmail, case_id: int) -> None:
    """Record the mail's own and referenced Message-IDs against its case (first case wins)."""
    ids = [i for i in dict.fromkeys([mail.message_id, *mail.in_reply_to, *mail.references]) if i and len(i) <= 998]
    if not ids:
        return
    insert = postgresql_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    db.session.execute(
        insert(MailThreadRef).values([{"message_id": mid, "case_id": case_id} for mid in ids]).on_conflict_do_nothing()
    )
