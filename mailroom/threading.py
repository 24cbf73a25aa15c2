"""Which case a mail belongs to, and why: Message-IDs first, then the case token, then the plus-address,
then (when MAILROOM_SUBJECT_THREAD_DAYS is set) the same sender with the same subject."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from helpdesk.cases.models import Case, Message, Status
from helpdesk.extensions import db
from helpdesk.mail.models import OutboundEmail
from helpdesk.people.models import Contact
from helpdesk.types import utcnow
from mailroom.models import MailThreadRef
from mailroom.parsing import ParsedEmail


@dataclass(frozen=True)
class ThreadMatch:
    case: Case
    reason: str


def parent_ids(mail: ParsedEmail) -> list[str]:
    """In-Reply-To first, then the references newest first."""
    return list(dict.fromkeys([*mail.in_reply_to, *reversed(mail.references)]))


def known_messages(ids: list[str]) -> dict[str, tuple[int, int]]:
    """{Message-ID: (message id, case id)} of the case messages that carry these Message-IDs."""
    ids = [i for i in dict.fromkeys(ids) if i]
    if not ids:
        return {}
    rows = db.session.execute(
        select(Message.email_message_id, Message.id, Message.case_id).where(Message.email_message_id.in_(ids))
    )
    return {mid: (message_id, case_id) for mid, message_id, case_id in rows}


def find_case(mail: ParsedEmail, plus_tags: list[str] = (),
              known: dict[str, tuple[int, int]] | None = None) -> ThreadMatch | None:
    """The case this mail continues, or None for a new case.

    `known` is known_messages() of the mail's own and parent ids, when the caller has it already.
    """
    parents = parent_ids(mail)
    if known is None:
        known = known_messages(parents)
    found = _by_message_ids(parents, set(mail.in_reply_to), known, mail.message_id)
    if found is not None:
        return found
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
    return _by_sender_and_subject(mail)


_REPLY_PREFIX = re.compile(r"^\s*(re|aw|sv|vs|fw|fwd|wg|tr|rv|antw|rif|odp|ynt|res|r)\s*(\[\d+\]|\(\d+\))?\s*[:：]\s*", re.I)


def normalized_subject(subject: str | None) -> str:
    """The subject without reply and forward prefixes, [tags] or case tokens, case and spacing."""
    text = re.sub(r"\[[^\]]{0,40}\]", " ", subject or "")
    while True:
        stripped = _REPLY_PREFIX.sub("", text, count=1)
        if stripped == text:
            break
        text = stripped
    return " ".join(text.lower().split())


def _by_sender_and_subject(mail: ParsedEmail) -> ThreadMatch | None:
    """For mail clients that drop In-Reply-To and References: the sender's latest case with the
    same subject, not closed, active within the window."""
    days = current_app.config.get("MAILROOM_SUBJECT_THREAD_DAYS") or 0
    subject = normalized_subject(mail.subject)
    if not days or not mail.from_addr or not subject or subject == "(no subject)":
        return None
    candidates = db.session.scalars(
        select(Case).join(Contact, Case.contact_id == Contact.id)
        .where(Contact.email == mail.from_addr.lower(), Case.updated_at >= utcnow() - timedelta(days=days),
               Case.deleted_at.is_(None), Case.status != Status.CLOSED)
        .order_by(Case.updated_at.desc(), Case.id.desc()).limit(20)
    )
    for case in candidates:
        if normalized_subject(case.subject) == subject:
            return _live(case, f"same sender and subject as {case.number}, active within {days} days")
    return None


def _by_message_ids(ids: list[str], in_reply_to: set[str], known: dict[str, tuple[int, int]],
                    own_id: str | None) -> ThreadMatch | None:
    cases = {mid: known[mid][1] for mid in ids if mid in known}
    missing = [mid for mid in ids if mid not in cases]
    if missing:  # our own mail (an acknowledgement) is not a case message
        cases.update(db.session.execute(
            select(OutboundEmail.message_id, OutboundEmail.case_id)
            .where(OutboundEmail.message_id.in_(missing), OutboundEmail.case_id.is_not(None))
        ).all())
    for mid in ids:  # In-Reply-To first, then the newest reference
        if mid in cases:
            header = "In-Reply-To" if mid in in_reply_to else "References"
            return _live(db.session.get(Case, cases[mid]), f"{header} {mid} is a message of this case")
    lookup = [*ids, own_id] if own_id else ids
    if not lookup:
        return None
    refs = dict(db.session.execute(
        select(MailThreadRef.message_id, MailThreadRef.case_id).where(MailThreadRef.message_id.in_(lookup))
    ).all())
    for mid in ids:
        if mid in refs:
            return _live(db.session.get(Case, refs[mid]), f"refers to {mid}, as an earlier mail of this case does")
    if own_id in refs:
        return _live(db.session.get(Case, refs[own_id]), f"an earlier reply refers to this mail's Message-ID {own_id}")
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
