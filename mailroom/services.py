"""State changes of the mailroom: store a mail, process it into a case, retry, release, block."""
from __future__ import annotations

import io
import traceback as tb
from datetime import timedelta
from email import message_from_bytes
from email.policy import compat32
from email.utils import formataddr, parseaddr
from urllib.parse import quote

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from helpdesk import jobs
from helpdesk.cases import services as case_services
from helpdesk.cases.models import Case, Channel, Message, Priority
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.mail.models import AutoSubmitted, OutboundEmail
from helpdesk.mail.services import queue_email
from helpdesk.people import services as people_services
from helpdesk.people.models import Contact, Group, Organization, User
from helpdesk.types import utcnow
from mailroom import hygiene, parsing, rules, threading
from mailroom.models import (
    BlockedSender,
    BouncingAddress,
    CaseWatcher,
    InboundEmail,
    InboundStatus,
    Mailbox,
    MailRule,
)

CHANNELS = ("cli", "http", "smtp", "lmtp", "imap", "maildir")
MAX_WATCHERS = 20
DEFAULT_ACK = (
    "Hello {name},\n\nthank you for writing to us. Your request has the number {case_number}; "
    "please keep [{case_number}] in the subject when you write about it again.\n\n{mailbox_name}"
)


# --- mailboxes --------------------------------------------------------------------------------


def create_mailbox(actor: User | None, *, address: str, name: str = "", group: Group | None = None,
                   from_name: str = "", signature: str = "", auto_reply: bool = True,
                   auto_reply_template: str = "", plus_addressing: bool = True, **imap) -> Mailbox:
    address = people_services.normalize_email(address)
    if not people_services.EMAIL_RE.match(address):
        raise ValidationFailed({"address": "Enter an email address like support@example.com."})
    if "+" in address.partition("@")[0]:
        raise ValidationFailed({"address": "Give the address without a +tag; plus-addresses reach it anyway."})
    if db.session.scalar(select(Mailbox.id).where(Mailbox.address == address)):
        raise ValidationFailed({"address": "This mailbox already exists."})
    mailbox = Mailbox(address=address, name=(name or address).strip(), group=group, from_name=from_name.strip(),
                      signature=signature, auto_reply=auto_reply, auto_reply_template=auto_reply_template,
                      plus_addressing=plus_addressing, **imap)
    db.session.add(mailbox)
    db.session.flush()
    return mailbox


def default_mailbox() -> Mailbox:
    """The first active mailbox; on a fresh install, one made from MAIL_FROM."""
    mailbox = db.session.scalar(select(Mailbox).where(Mailbox.active.is_(True)).order_by(Mailbox.id).limit(1))
    if mailbox is not None:
        return mailbox
    name, address = parseaddr(current_app.config["MAIL_FROM"])
    mailbox = Mailbox(address=(address or "support@localhost").lower(), name=name or "Support", from_name=name,
                      auto_reply=False)
    db.session.add(mailbox)
    db.session.flush()
    return mailbox


def split_plus(address: str) -> tuple[str, str | None]:
    """("support@x", "billing") for support+billing@x."""
    local, _, domain = (address or "").lower().partition("@")
    base, plus, tag = local.partition("+")
    return f"{base}@{domain}", (tag or None) if plus else None


def mailboxes_for(recipients: list[str]) -> list[Mailbox]:
    """Our mailboxes among these addresses (plus-addresses included), in the order given."""
    wanted = []
    for addr in recipients:
        base, tag = split_plus(addr)
        wanted.append((addr.lower(), base, tag))
    if not wanted:
        return []
    boxes = {m.address: m for m in db.session.scalars(
        select(Mailbox).where(Mailbox.active.is_(True), Mailbox.address.in_({w[0] for w in wanted} | {w[1] for w in wanted}))
    )}
    found = []
    for addr, base, tag in wanted:
        box = boxes.get(addr) or (boxes.get(base) if tag and boxes.get(base) and boxes[base].plus_addressing else None)
        if box is not None and box not in found:
            found.append(box)
    return found


def own_addresses() -> set[str]:
    addresses = set(db.session.scalars(select(Mailbox.address)))
    addresses.add(parseaddr(current_app.config["MAIL_FROM"])[1].lower())
    return addresses


# --- store ------------------------------------------------------------------------------------


def store_inbound(raw: bytes, mailbox: Mailbox | None = None, channel: str = "cli",
                  recipients: list[str] | None = None) -> tuple[InboundEmail, bool]:
    """Keep the raw mail, commit, and have it processed after the commit.

    The commit is the point after which a mail is never lost, so this service commits (every
    fetcher calls it once per mail, then tells the sender the mail is taken). Returns the
    stored row and whether it is new: the same Message-ID (or, without one, the same bytes)
    to the same mailbox is stored once.
    """
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {', '.join(CHANNELS)}")
    head = message_from_bytes(parsing.normalize_line_ends(_header_block(raw)), policy=compat32)
    ids = parsing.message_ids(parsing.decode_header_value(head.get("message-id")))
    message_id = ids[0] if ids and len(ids[0]) <= 998 else parsing.content_hash(raw)
    if mailbox is None:
        if recipients is None:
            recipients = [a for _, a in _header_addresses(head, ("delivered-to", "x-original-to", "to", "cc"))]
        boxes = mailboxes_for(recipients)
        mailbox = boxes[0] if boxes else default_mailbox()
    existing = db.session.scalar(
        select(InboundEmail).where(InboundEmail.mailbox_id == mailbox.id, InboundEmail.message_id == message_id)
    )
    if existing is not None:
        db.session.commit()
        return existing, False
    sender = _header_addresses(head, ("from",))
    inbound = InboundEmail(
        mailbox=mailbox, channel=channel, message_id=message_id, raw=raw, size=len(raw),
        sender=sender[0][1][:254] if sender else None,
        subject=parsing.decode_header_value(head.get("subject"))[:300] or None,
        received_at=utcnow(),
    )
    db.session.add(inbound)
    try:
        db.session.flush()
    except IntegrityError:  # the same mail, stored by another process a moment ago
        db.session.rollback()
        existing = db.session.scalar(
            select(InboundEmail).where(InboundEmail.mailbox_id == mailbox.id, InboundEmail.message_id == message_id)
        )
        db.session.commit()
        return existing, False
    from mailroom.jobs import process_inbound_email

    jobs.enqueue(process_inbound_email, inbound.id)
    db.session.commit()
    return inbound, True


def _header_block(raw: bytes) -> bytes:
    for sep in (b"\r\n\r\n", b"\n\n", b"\r\r"):
        end = raw.find(sep)
        if end != -1:
            return raw[: end + len(sep)]
    return raw


def _header_addresses(head, names) -> list[tuple[str, str]]:
    result = []
    for name in names:
        result += parsing._addresses(head, name)
    return result


# --- process ----------------------------------------------------------------------------------


def claim(inbound_id: int) -> InboundEmail | None:
    """Take a queued (or failed, for a retry) mail for processing in this transaction.

    The conditional update comes first: a second worker on the same mail waits on the row
    until the first commits, then matches nothing and leaves it alone. One mail, one case.
    """
    result = db.session.execute(
        update(InboundEmail)
        .where(InboundEmail.id == inbound_id, InboundEmail.status.in_([InboundStatus.QUEUED, InboundStatus.FAILED]))
        .values(attempts=InboundEmail.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return None
    return db.session.get(InboundEmail, inbound_id, populate_existing=True)


def process_inbound(inbound: InboundEmail, *, release: bool = False) -> InboundStatus:
    """Screen, thread and file one stored mail; flushes, the caller commits.

    `release` lets a quarantined mail through the screening (an agent said it is a person's mail).
    """
    mail = parsing.parse(inbound.raw)
    mailbox = inbound.mailbox
    ours = own_addresses()
    plus_tags = [t for t in (split_plus(a)[1] for a in mail.all_recipients if split_plus(a)[0] == mailbox.address) if t]
    if mail.message_id and not release and mail.message_id.endswith(_our_message_id_suffix()):
        if db.session.scalar(select(OutboundEmail.id).where(OutboundEmail.message_id == mail.message_id)):
            return _finish(inbound, InboundStatus.SCREENED, "loop: this is a mail we sent")
    if not release:
        verdict = hygiene.screen(mail, ours, _blocked())
        if verdict is not None:
            if verdict.kind == "bounce":
                _record_bounces(verdict)
            return _finish(inbound, InboundStatus.SCREENED, f"{verdict.kind}: {verdict.reason}")
    if mail.message_id:
        existing = db.session.execute(
            select(Message.id, Message.case_id).where(Message.email_message_id == mail.message_id).limit(1)
        ).first()
        if existing is not None:
            inbound.case_id, inbound.case_message_id = existing.case_id, existing.id
            return _finish(inbound, InboundStatus.DUPLICATE, f"Message-ID {mail.message_id} is already in a case")
    rule = rules.first_match(_rules(mailbox), mail, plus_tags)
    actions = rule.actions if rule is not None else {}
    if actions.get("ignore"):
        return _finish(inbound, InboundStatus.SCREENED, f"rule “{rule.name}”: ignore")
    match = threading.find_case(mail, plus_tags)
    contact = _contact(mail)
    body, body_html, uploads, cids = _content(mail)
    if match is not None:
        case = match.case
        message = case_services.add_customer_message(
            contact, case, body=body, body_html=body_html, channel=Channel.EMAIL, uploads=uploads,
            email_message_id=mail.message_id, in_reply_to=" ".join(mail.in_reply_to) or None,
            references=" ".join(mail.references) or None,
        )
        reason = match.reason
    else:
        case = case_services.open_case(
            contact,
            subject=(mail.subject or "(no subject)")[: case_services.SUBJECT_MAX],
            body=body, body_html=body_html, contact=contact,
            organization=_load(Organization, actions.get("organization_id")),
            group=_load(Group, actions.get("group_id")) or mailbox.group,
            priority=Priority(int(actions.get("priority") or Priority.NORMAL)),
            channel=Channel.EMAIL, tags=actions.get("tags") or (), uploads=uploads,
        )
        message = case.messages[-1]
        message.email_message_id = mail.message_id
        message.in_reply_to = " ".join(mail.in_reply_to) or None
        message.references = " ".join(mail.references) or None
        reason = "new case" + (f" (rule “{rule.name}”)" if rule is not None else "")
    db.session.flush()
    if cids:
        _link_inline_images(message, cids)
    threading.remember_ids(mail, case.id)
    _add_watchers(case, mail, contact, ours)
    inbound.case_id, inbound.case_message_id, inbound.thread_reason = case.id, message.id, reason[:300]
    if match is None:
        _acknowledge(inbound, mailbox, case, mail, contact)
    if actions.get("forward_to"):
        _forward(inbound, mail, case, actions["forward_to"])
    return _finish(inbound, InboundStatus.PROCESSED, None)


def _our_message_id_suffix() -> str:
    # queue_email makes every Message-ID we send with MAIL_FROM's domain.
    return "@" + (parseaddr(current_app.config["MAIL_FROM"])[1].rpartition("@")[2] or "localhost") + ">"


def _finish(inbound: InboundEmail, status: InboundStatus, reason: str | None) -> InboundStatus:
    inbound.status, inbound.reason = status, (reason or None) and reason[:500]
    inbound.traceback = None
    inbound.processed_at = utcnow()
    db.session.flush()
    return status


def record_failure(inbound_id: int, exc: BaseException) -> None:
    """Mark a mail failed with its error (after the caller rolled back) and commit."""
    inbound = db.session.get(InboundEmail, inbound_id)
    if inbound is None:
        return
    inbound.status = InboundStatus.FAILED
    inbound.reason = f"{type(exc).__name__}: {exc}"[:500]
    inbound.traceback = "".join(tb.format_exception(exc))[-20000:]
    inbound.attempts += 1
    inbound.processed_at = utcnow()
    db.session.commit()


def _rules(mailbox: Mailbox) -> list[MailRule]:
    return list(db.session.scalars(
        select(MailRule)
        .where(MailRule.active.is_(True), (MailRule.mailbox_id == mailbox.id) | MailRule.mailbox_id.is_(None))
        .order_by(MailRule.position, MailRule.id)
    ))


def _blocked() -> set[str]:
    return set(db.session.scalars(select(BlockedSender.pattern)))


def _load(model, raw_id):
    return db.session.get(model, int(raw_id)) if raw_id else None


def _contact(mail: parsing.ParsedEmail) -> Contact:
    """The sender's contact; a new one is linked to the organization owning its domain (never free mail)."""
    addr = people_services.normalize_email(mail.from_addr)
    if not people_services.EMAIL_RE.match(addr):
        addr = f"unknown-sender-{parsing.content_hash(addr.encode())[7:19]}@invalid.example"
    contact = db.session.scalar(select(Contact).where(Contact.email == addr).order_by(Contact.id).limit(1))
    if contact is not None:
        return contact
    domain = addr.rpartition("@")[2]
    org = None
    if not hygiene.is_free_mail(domain):
        org = db.session.scalar(select(Organization).where(Organization.domain == domain).order_by(Organization.id).limit(1))
        if org is None and current_app.config.get("MAILROOM_CREATE_ORGANIZATIONS"):
            name = domain
            if db.session.scalar(select(Organization.id).where(func.lower(Organization.name) == name)):
                name = f"{domain} ({domain})"
            org = people_services.create_organization(None, name=name, domain=domain)
    name = (mail.from_name or "").strip()[:200] or addr.split("@")[0]
    return people_services.create_contact(None, name=name, email=addr, organization=org)


def _content(mail: parsing.ParsedEmail):
    """Body text, HTML with the quote folded, uploads, and the content ids of inline images."""
    max_bytes = current_app.config["MAX_ATTACHMENT_BYTES"]
    uploads, cids, notes = [], {}, []
    for n, att in enumerate(mail.attachments):
        if len(att.data) > max_bytes:
            notes.append(f"[{att.filename} ({len(att.data) // 1024} KB) is too large to attach; it stays in the original mail]")
            continue
        uploads.append(case_services.Upload(att.filename[:255], io.BytesIO(att.data)))
        if att.content_id:
            cids[att.content_id] = len(uploads) - 1
    text = mail.text
    if notes:
        text = (text + "\n\n" + "\n".join(notes)).strip()
    if mail.html is not None and mail.html.strip():
        html = mail.html
    elif mail.quoted_text:
        html = (case_services.text_to_html(mail.visible_text)
                + "<details><summary>Show quoted text</summary>"
                + case_services.text_to_html(mail.quoted_text) + "</details>")
    else:
        html = None
    if not text.strip():
        text = "(This mail had no text; see the attachments.)" if uploads else "(This mail had no text.)"
    return text, html, uploads, cids


def _link_inline_images(message: Message, cids: dict[str, int]) -> None:
    html = message.body_html
    for cid, index in cids.items():
        if index < len(message.attachments):
            att = message.attachments[index]
            html = html.replace(parsing.CID_PREFIX + cid, f"/attachments/{att.id}/{quote(att.filename)}")
    message.body_html = html


def _add_watchers(case: Case, mail: parsing.ParsedEmail, sender: Contact, ours: set[str]) -> None:
    addresses = []
    for addr in [a for _, a in mail.to + mail.cc]:
        base, _ = split_plus(addr)
        if addr in ours or base in ours or addr == sender.email or addr in addresses:
            continue
        if people_services.EMAIL_RE.match(addr):
            addresses.append(addr)
    if not addresses:
        return
    names = {a: n for n, a in mail.to + mail.cc}
    users = {u.email: u for u in db.session.scalars(select(User).where(User.email.in_(addresses)))}
    existing = set(db.session.scalars(select(CaseWatcher.contact_id).where(CaseWatcher.case_id == case.id)))
    for addr in addresses[:MAX_WATCHERS]:
        if addr in users:
            case_services.follow_case(users[addr], case)
            continue
        contact = db.session.scalar(select(Contact).where(Contact.email == addr).order_by(Contact.id).limit(1))
        if contact is None:
            contact = people_services.create_contact(None, name=(names.get(addr) or addr.split("@")[0])[:200], email=addr)
        if contact.id not in existing and contact.id != case.contact_id:
            db.session.add(CaseWatcher(case_id=case.id, contact_id=contact.id))
            existing.add(contact.id)


def _acknowledge(inbound: InboundEmail, mailbox: Mailbox, case: Case, mail: parsing.ParsedEmail,
                 contact: Contact) -> None:
    """One acknowledgement per new case, unless the sender bounces or was acknowledged too often."""
    if not mailbox.auto_reply or not contact.email or contact.email.endswith("@invalid.example"):
        return
    if db.session.get(BouncingAddress, contact.email) is not None:
        return
    limit = current_app.config.get("MAILROOM_ACK_LIMIT", 5)
    since = utcnow() - timedelta(hours=1)
    recent = db.session.scalar(
        select(func.count(InboundEmail.id))
        .where(InboundEmail.sender == contact.email, InboundEmail.acknowledged.is_(True), InboundEmail.received_at >= since)
    )
    if recent >= limit:
        return
    template = mailbox.auto_reply_template or DEFAULT_ACK
    values = {"name": contact.name, "case_number": case.number, "subject": case.subject,
              "mailbox_name": mailbox.from_name or mailbox.name}
    try:
        body = template.format_map(values)
    except (KeyError, ValueError, IndexError):
        body = template
    queue_email(
        to=[formataddr((contact.name, contact.email))],
        subject=f"[{case.number}] {case.subject}",
        body_text=body,
        in_reply_to=mail.message_id,
        references=mail.references,
        case=case,
        dedupe_key=f"ack:{inbound.id}",
        auto_submitted=AutoSubmitted.AUTO_REPLIED,
    )
    inbound.acknowledged = True


def _forward(inbound: InboundEmail, mail: parsing.ParsedEmail, case: Case, to: str) -> None:
    queue_email(to=to, subject=f"Fwd: [{case.number}] {case.subject}", body_text=mail.text or "(no text)",
                case=case, dedupe_key=f"forward:{inbound.id}", auto_submitted=AutoSubmitted.AUTO_GENERATED)


def _record_bounces(verdict: hygiene.Verdict) -> None:
    for addr in verdict.bounced_addresses:
        addr = addr[:254]
        row = db.session.get(BouncingAddress, addr)
        if row is None:
            contact = db.session.scalar(select(Contact).where(Contact.email == addr).limit(1))
            db.session.add(BouncingAddress(email=addr, contact=contact, last_reason=verdict.reason[:500]))
        else:
            row.bounces += 1
            row.last_reason, row.last_bounce_at = verdict.reason[:500], utcnow()


# --- the outbound side: replies leave from the case's mailbox -----------------------------------


def compose_outbound(email: OutboundEmail) -> None:
    """Hook of helpdesk.mail.services.queue_email: From and signature of the case's mailbox."""
    if not current_app.extensions.get("mailroom") or email.case is None:
        return
    mailbox = db.session.scalar(
        select(Mailbox).join(InboundEmail, InboundEmail.mailbox_id == Mailbox.id)
        .where(InboundEmail.case_id == email.case.id).order_by(InboundEmail.id.desc()).limit(1)
    )
    if mailbox is None:
        return
    email.from_addr = formataddr((mailbox.from_name or mailbox.name, mailbox.address))
    if (email.dedupe_key or "").startswith("reply:") and mailbox.signature.strip():
        email.body_text = f"{email.body_text}\n\n-- \n{mailbox.signature.strip()}"
        if email.body_html:
            email.body_html += "<p>-- <br>" + case_services.text_to_html(mailbox.signature)[3:]


# --- quarantine and failures ------------------------------------------------------------------


def retry_inbound(inbound: InboundEmail) -> None:
    """Process a failed (or stuck queued) mail again after the commit."""
    if inbound.status not in (InboundStatus.FAILED, InboundStatus.QUEUED):
        raise ValidationFailed({"status": f"Only failed or queued mail can be retried, not {inbound.status.label.lower()}."})
    inbound.status, inbound.reason = InboundStatus.QUEUED, None
    db.session.flush()
    from mailroom.jobs import process_inbound_email

    jobs.enqueue(process_inbound_email, inbound.id)


def release_inbound(inbound: InboundEmail) -> InboundStatus:
    """A quarantined mail is a person's after all: file it without screening."""
    if inbound.status != InboundStatus.SCREENED:
        raise ValidationFailed({"status": "Only quarantined mail can be released."})
    return process_inbound(inbound, release=True)


def delete_inbound(inbound: InboundEmail) -> None:
    if inbound.case_id is not None and inbound.status == InboundStatus.PROCESSED:
        raise ValidationFailed({"status": "Mail that is part of a case stays; delete the case instead."})
    db.session.delete(inbound)
    db.session.flush()


def block_sender(pattern: str) -> BlockedSender:
    """Quarantine every mail from this address (or "@domain") from now on, and what is queued from it."""
    pattern = people_services.normalize_email(pattern)
    if not pattern or "@" not in pattern:
        raise ValidationFailed({"pattern": "Give an address or @domain."})
    row = db.session.get(BlockedSender, pattern)
    if row is None:
        row = BlockedSender(pattern=pattern)
        db.session.add(row)
    db.session.flush()
    return row


def requeue_stale(older_than: timedelta = timedelta(minutes=10)) -> int:
    """Queue again the mail a killed worker left behind (stored, never processed)."""
    from mailroom.jobs import process_inbound_email

    ids = list(db.session.scalars(
        select(InboundEmail.id).where(InboundEmail.status == InboundStatus.QUEUED,
                                      InboundEmail.received_at < utcnow() - older_than).order_by(InboundEmail.id)
    ))
    for inbound_id in ids:
        jobs.enqueue(process_inbound_email, inbound_id)
    return len(ids)


# --- explain ----------------------------------------------------------------------------------


def explain(raw: bytes, mailbox: Mailbox | None = None) -> dict:
    """What the pipeline would do with this mail, read-only."""
    mail = parsing.parse(raw)
    if mailbox is None:
        boxes = mailboxes_for(mail.all_recipients)
        mailbox = boxes[0] if boxes else db.session.scalar(select(Mailbox).order_by(Mailbox.id).limit(1))
    address = mailbox.address if mailbox else None
    plus_tags = [t for t in (split_plus(a)[1] for a in mail.all_recipients if split_plus(a)[0] == address) if t]
    verdict = hygiene.screen(mail, own_addresses(), _blocked())
    rule = rules.first_match(_rules(mailbox), mail, plus_tags) if mailbox else None
    duplicate = bool(mail.message_id and db.session.scalar(
        select(Message.id).where(Message.email_message_id == mail.message_id).limit(1)))
    match = threading.find_case(mail, plus_tags)
    if verdict is not None:
        decision = f"quarantine ({verdict.kind}: {verdict.reason})"
    elif duplicate:
        decision = "duplicate of a mail already in a case"
    elif rule is not None and rule.actions.get("ignore"):
        decision = f"ignore (rule “{rule.name}”)"
    elif match is not None:
        decision = f"add to {match.case.number}"
    else:
        decision = "open a new case"
    return {
        "mailbox": address,
        "headers": {"message_id": mail.message_id, "from": formataddr((mail.from_name, mail.from_addr)),
                    "to": [a for _, a in mail.to], "cc": [a for _, a in mail.cc], "subject": mail.subject,
                    "date": mail.date.isoformat() if hasattr(mail.date, "isoformat") else None,
                    "in_reply_to": mail.in_reply_to, "references": mail.references},
        "visible_text": mail.visible_text,
        "quoted_text": mail.quoted_text,
        "has_html": mail.html is not None,
        "attachments": [{"filename": a.filename, "content_type": a.content_type, "size": len(a.data),
                         "inline": a.inline} for a in mail.attachments],
        "hygiene": {"kind": verdict.kind, "reason": verdict.reason} if verdict else None,
        "rule": rule.name if rule else None,
        "thread": {"case": match.case.number, "reason": match.reason} if match else None,
        "decision": decision,
    }


# --- rules --------------------------------------------------------------------------------------


def save_rule(actor: User, rule: MailRule | None, *, name: str, conditions_text: str, mailbox: Mailbox | None = None,
              position: int = 0, group: Group | None = None, priority: int | None = None, tags: str = "",
              ignore: bool = False, forward_to: str = "", active: bool = True) -> MailRule:
    """Create or change a rule; conditions come one a line as "FIELD OP VALUE" (e.g. "from domain acme.example")."""
    errors: dict[str, str] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = "Give the rule a name."
    conditions = []
    for n, line in enumerate((conditions_text or "").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.strip().split(None, 2)
        if len(parts) < 3:
            errors["conditions"] = f"Line {n}: write FIELD OP VALUE, e.g. “subject contains invoice”."
            break
        conditions.append({"field": parts[0].lower() if not parts[0].lower().startswith("header:") else parts[0],
                           "op": parts[1].lower(), "value": parts[2]})
    actions: dict = {}
    if group is not None:
        actions["group_id"] = group.id
    if priority:
        if int(priority) not in {p.value for p in Priority}:
            errors["priority"] = "Choose a priority."
        actions["priority"] = int(priority)
    tag_list = [t.strip() for t in (tags or "").split(",") if t.strip()]
    if tag_list:
        actions["tags"] = tag_list
    if ignore:
        actions["ignore"] = True
    forward_to = (forward_to or "").strip()
    if forward_to:
        if not people_services.EMAIL_RE.match(forward_to):
            errors["forward_to"] = "Enter an email address."
        actions["forward_to"] = forward_to
    if "conditions" not in errors:
        errors = {**rules.check_rule(conditions, actions), **errors}
    if errors:
        raise ValidationFailed(errors)
    if rule is None:
        rule = MailRule()
        db.session.add(rule)
    rule.name, rule.conditions, rule.actions, rule.position, rule.active = name[:100], conditions, actions, int(position), active
    rule.mailbox_id = mailbox.id if mailbox else None
    db.session.flush()
    return rule


def delete_rule(actor: User, rule: MailRule) -> None:
    db.session.delete(rule)
    db.session.flush()
