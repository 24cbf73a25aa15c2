"""State changes of the mailroom: store a mail, process it into a case, retry, release, block."""
from __future__ import annotations

import io
import traceback as tb
from dataclasses import dataclass
from datetime import timedelta
from email import message_from_bytes
from email.policy import compat32
from email.utils import formataddr, getaddresses, parseaddr
from urllib.parse import quote

from flask import current_app
from sqlalchemy import func, inspect, select, update
from sqlalchemy.exc import IntegrityError

from helpdesk import jobs
from helpdesk.cases import services as case_services
from helpdesk.cases.models import Case, Channel, Message, Priority
from helpdesk.errors import NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.mail.models import AutoSubmitted, OutboundEmail
from helpdesk.mail.services import queue_email
from helpdesk.people import services as people_services
from helpdesk.people.models import Contact, Group, Organization, User
from helpdesk.types import utcnow
from mailroom import crypto, hygiene, parsing, queries, rules, threading
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
    password = imap.pop("imap_password", None)
    mailbox = Mailbox(address=address, name=(name or address).strip(), group=group, from_name=from_name.strip(),
                      signature=signature, auto_reply=auto_reply, auto_reply_template=auto_reply_template,
                      plus_addressing=plus_addressing, **imap)
    set_imap_password(mailbox, password)
    db.session.add(mailbox)
    db.session.flush()
    return mailbox


IMAP_SECURITY = ("ssl", "starttls", "none")


def save_mailbox(actor: User | None, mailbox: Mailbox | None, data: dict) -> Mailbox:
    """Create or change a mailbox from the admin form; every field is checked before anything is written.

    An empty IMAP password keeps the stored one; `clear_imap_password` removes it.
    """
    errors: dict[str, str] = {}
    address = people_services.normalize_email(data.get("address", ""))
    if not people_services.EMAIL_RE.match(address):
        errors["address"] = "Enter an email address like support@example.com."
    elif "+" in address.partition("@")[0]:
        errors["address"] = "Give the address without a +tag; plus-addresses reach it anyway."
    elif db.session.scalar(select(Mailbox.id).where(Mailbox.address == address,
                                                    Mailbox.id != (mailbox.id if mailbox else None))):
        errors["address"] = "This mailbox already exists."
    group = None
    if data.get("group_id"):
        group = db.session.get(Group, int(data["group_id"])) if str(data["group_id"]).isdigit() else None
        if group is None:
            errors["group_id"] = "No such group."
    template = data.get("auto_reply_template") or ""
    try:
        template.format_map({"name": "Ann", "case_number": "CS-1", "subject": "s", "mailbox_name": "Support"})
    except (KeyError, ValueError, IndexError) as exc:
        errors["auto_reply_template"] = f"Use only {{name}}, {{case_number}}, {{subject}} and {{mailbox_name}} ({exc})."
    host = (data.get("imap_host") or "").strip() or None
    port = (str(data.get("imap_port") or "")).strip()
    if port and (not port.isdigit() or not 0 < int(port) < 65536):
        errors["imap_port"] = "A port number from 1 to 65535."
    security = data.get("imap_security") or "ssl"
    if security not in IMAP_SECURITY:
        errors["imap_security"] = "Choose SSL, STARTTLS or none."
    if host and not (data.get("imap_password") or (mailbox and mailbox.imap_password)) and not data.get("clear_imap_password"):
        errors["imap_password"] = "Give the password of the IMAP account."
    if errors:
        raise ValidationFailed(errors)
    if mailbox is None:
        mailbox = Mailbox(address=address)
        db.session.add(mailbox)
    mailbox.address = address
    mailbox.name = (data.get("name") or "").strip()[:100] or address
    mailbox.from_name = (data.get("from_name") or "").strip()[:100]
    mailbox.group = group
    mailbox.signature = data.get("signature") or ""
    mailbox.auto_reply = bool(data.get("auto_reply"))
    mailbox.auto_reply_template = template
    mailbox.plus_addressing = bool(data.get("plus_addressing"))
    mailbox.active = bool(data.get("active"))
    if (mailbox.imap_host, mailbox.imap_folder) != (host, (data.get("imap_folder") or "INBOX").strip()):
        mailbox.imap_uidvalidity, mailbox.imap_last_uid = None, 0  # another server or folder: start over
    mailbox.imap_host, mailbox.imap_port = host, int(port) if port else None
    mailbox.imap_security = security
    mailbox.imap_username = (data.get("imap_username") or "").strip() or None
    mailbox.imap_folder = (data.get("imap_folder") or "INBOX").strip()[:200]
    mailbox.imap_processed_folder = (data.get("imap_processed_folder") or "").strip()[:200] or None
    if data.get("clear_imap_password"):
        mailbox.imap_password = None
    elif data.get("imap_password"):
        set_imap_password(mailbox, data["imap_password"])
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
                  recipients: list[str] | None = None, *, process: bool = True) -> tuple[InboundEmail, bool]:
    """Keep the raw mail, commit, and have it processed after the commit.

    The commit is the point after which a mail is never lost, so this service commits (every
    fetcher calls it once per mail, then tells the sender the mail is taken). Returns the
    stored row and whether it is new: the same Message-ID (or, without one, the same bytes)
    to the same mailbox is stored once. With process=False the caller queues the processing
    (an Intake does, in batches); a mail nobody queues is picked up by requeue_stale.
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
    # The key, without reloading a mailbox that an earlier commit expired.
    mailbox_id = inspect(mailbox).identity[0] if inspect(mailbox).identity else mailbox.id
    existing_id = db.session.scalar(
        select(InboundEmail.id).where(InboundEmail.mailbox_id == mailbox_id, InboundEmail.message_id == message_id)
    )
    if existing_id is not None:
        existing = db.session.get(InboundEmail, existing_id)
        db.session.commit()
        return existing, False
    sender = _header_addresses(head, ("from",))
    inbound = InboundEmail(
        mailbox_id=mailbox_id, channel=channel, message_id=message_id, raw=raw, size=len(raw),
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
            select(InboundEmail).where(InboundEmail.mailbox_id == mailbox_id, InboundEmail.message_id == message_id)
        )
        if existing is None:
            raise
        db.session.commit()
        return existing, False
    if process:
        from mailroom.jobs import process_inbound_email

        jobs.enqueue(process_inbound_email, inbound.id)
    db.session.commit()
    return inbound, True


class Intake:
    """Stores mail one by one (each committed before the next) and has it processed in batches.

    For the channels that bring many mails at once (files, maildirs, IMAP): one batch job per
    `size` new mails instead of one job each, so the worker reads mailboxes, rules and our
    addresses once per batch. Use it as a context manager; leaving queues the last batch (at
    once, or when the caller's unfinished changes are committed), and anything stored but never
    queued (a crash in between) is found by requeue_stale.
    """

    def __init__(self, size: int = 50):
        self.size = size
        self.pending: list[int] = []

    def store(self, raw: bytes, mailbox: Mailbox | None = None, channel: str = "cli",
              recipients: list[str] | None = None) -> tuple[InboundEmail, bool]:
        inbound, created = store_inbound(raw, mailbox, channel, recipients, process=False)
        if created:
            self.pending.append(inspect(inbound).identity[0])
            if len(self.pending) >= self.size:
                self.flush()
        return inbound, created

    def flush(self) -> None:
        if self.pending:
            from mailroom.jobs import process_inbound_batch

            ids, self.pending = self.pending, []
            session = db.session()
            if session.in_transaction() and not (session.new or session.dirty or session.deleted):
                # Only reads since the last store (a stored row reloaded): end them so the batch starts now.
                session.commit()
            jobs.enqueue(process_inbound_batch, ids)

    def __enter__(self) -> Intake:
        return self

    def __exit__(self, *exc) -> None:
        self.flush()


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


def claim_many(inbound_ids: list[int]) -> list[InboundEmail]:
    """claim() for a batch: one UPDATE and one SELECT, in id order (the order the mail came in)."""
    claimed = list(db.session.scalars(
        update(InboundEmail)
        .where(InboundEmail.id.in_(inbound_ids), InboundEmail.status.in_([InboundStatus.QUEUED, InboundStatus.FAILED]))
        .values(attempts=InboundEmail.attempts + 1)
        .returning(InboundEmail.id)
        .execution_options(synchronize_session=False)
    ))
    if not claimed:
        return []
    return list(db.session.scalars(
        select(InboundEmail).where(InboundEmail.id.in_(claimed)).order_by(InboundEmail.id)
        .execution_options(populate_existing=True)
    ))


@dataclass(frozen=True)
class _Rule:
    """A rule as read at the start of a batch (the ORM row would reload after every commit)."""

    id: int
    name: str
    conditions: list
    actions: dict
    active: bool = True


class Lookups:
    """What processing reads for every mail and rarely changes, read once per batch.

    A batch lasts seconds, so a rule, block or mailbox edited meanwhile applies from the next one.
    """

    def __init__(self):
        self._own: set[str] | None = None
        self._blocked: set[str] | None = None
        self._rules: dict[int, list[_Rule]] = {}
        self.org_by_domain: dict[str, int | None] = {}

    def own_addresses(self) -> set[str]:
        if self._own is None:
            self._own = own_addresses()
        return self._own

    def blocked(self) -> set[str]:
        if self._blocked is None:
            self._blocked = _blocked()
        return self._blocked

    def rules(self, mailbox_id: int) -> list[_Rule]:
        if mailbox_id not in self._rules:
            self._rules[mailbox_id] = [_Rule(r.id, r.name, list(r.conditions or []), dict(r.actions or {}), r.active)
                                       for r in _rules(mailbox_id)]
        return self._rules[mailbox_id]


def process_inbound(inbound: InboundEmail, *, release: bool = False, lookups: Lookups | None = None) -> InboundStatus:
    """Screen, thread and file one stored mail; flushes, the caller commits.

    `release` lets a quarantined mail through the screening (an agent said it is a person's mail).
    `lookups` carries what a batch reads once (see Lookups).
    """
    lookups = lookups or Lookups()
    mail = parsing.parse(inbound.raw)
    mailbox = inbound.mailbox
    ours = lookups.own_addresses()
    plus_tags = [t for t in (split_plus(a)[1] for a in mail.all_recipients if split_plus(a)[0] == mailbox.address) if t]
    if mail.message_id and not release and mail.message_id.endswith(_our_message_id_suffix()):
        if db.session.scalar(select(OutboundEmail.id).where(OutboundEmail.message_id == mail.message_id)):
            return _finish(inbound, InboundStatus.SCREENED, "loop: this is a mail we sent")
    if not release:
        verdict = hygiene.screen(mail, ours, lookups.blocked())
        if verdict is not None:
            if verdict.kind == "bounce":
                _record_bounces(verdict)
            return _finish(inbound, InboundStatus.SCREENED, f"{verdict.kind}: {verdict.reason}")
    # One query answers both "is this mail in a case already?" and "is its parent?".
    known = threading.known_messages([mail.message_id, *threading.parent_ids(mail)])
    if mail.message_id in known:
        inbound.case_message_id, inbound.case_id = known[mail.message_id]
        return _finish(inbound, InboundStatus.DUPLICATE, f"Message-ID {mail.message_id} is already in a case")
    rule = rules.first_match(lookups.rules(mailbox.id), mail, plus_tags)
    actions = rule.actions if rule is not None else {}
    if actions.get("ignore"):
        return _finish(inbound, InboundStatus.SCREENED, f"rule “{rule.name}”: ignore")
    match = threading.find_case(mail, plus_tags, known)
    contact = _contact(mail, lookups)
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
            email_message_id=mail.message_id, in_reply_to=" ".join(mail.in_reply_to) or None,
            references=" ".join(mail.references) or None,
        )
        message = case.messages[-1]
        reason = "new case" + (f" (rule “{rule.name}”)" if rule is not None else "")
    if cids:
        _link_inline_images(message, cids)
    _add_watchers(case, mail, contact, ours)
    inbound.case_id, inbound.case_message_id, inbound.thread_reason = case.id, message.id, reason[:300]
    if match is None:
        _acknowledge(inbound, mailbox, case, mail, contact)
    if actions.get("forward_to"):
        _forward(inbound, mail, case, actions["forward_to"])
    status = _finish(inbound, InboundStatus.PROCESSED, None, flush=False)
    threading.remember_ids(mail, case.id)  # last: its INSERT takes the mail's row along in one flush
    return status


def _our_message_id_suffix() -> str:
    # queue_email makes every Message-ID we send with MAIL_FROM's domain.
    return "@" + (parseaddr(current_app.config["MAIL_FROM"])[1].rpartition("@")[2] or "localhost") + ">"


def _finish(inbound: InboundEmail, status: InboundStatus, reason: str | None, flush: bool = True) -> InboundStatus:
    inbound.status, inbound.reason = status, (reason or None) and reason[:500]
    inbound.traceback = None
    inbound.processed_at = utcnow()
    if flush:
        db.session.flush()
    return status


def record_failure(inbound_id: int, exc: BaseException) -> None:
    """Mark a mail failed with its error (after the caller rolled back) and commit."""
    mark_failed(inbound_id, exc, count_attempt=True)
    db.session.commit()


def mark_failed(inbound_id: int, exc: BaseException, *, count_attempt: bool = False) -> None:
    """Mark a mail failed with its error and traceback; flushes, the caller commits."""
    inbound = db.session.get(InboundEmail, inbound_id)
    if inbound is None:
        return
    inbound.status = InboundStatus.FAILED
    inbound.reason = f"{type(exc).__name__}: {exc}"[:500]
    inbound.traceback = "".join(tb.format_exception(exc))[-20000:]
    if count_attempt:
        inbound.attempts += 1
    inbound.processed_at = utcnow()
    db.session.flush()


def _rules(mailbox_id: int) -> list[MailRule]:
    return list(db.session.scalars(
        select(MailRule)
        .where(MailRule.active.is_(True), (MailRule.mailbox_id == mailbox_id) | MailRule.mailbox_id.is_(None))
        .order_by(MailRule.position, MailRule.id)
    ))


def _blocked() -> set[str]:
    return set(db.session.scalars(select(BlockedSender.pattern)))


def _load(model, raw_id):
    return db.session.get(model, int(raw_id)) if raw_id else None


def _contact(mail: parsing.ParsedEmail, lookups: Lookups) -> Contact:
    """The sender's contact; a new one is linked to the organization owning its domain (never free mail)."""
    addr = people_services.normalize_email(mail.from_addr)
    if not people_services.EMAIL_RE.match(addr):
        addr = f"unknown-sender-{parsing.content_hash(addr.encode())[7:19]}@invalid.example"
    contact = people_services.contact_by_email(addr)
    if contact is not None:
        return contact
    domain = addr.rpartition("@")[2]
    org = None
    if not hygiene.is_free_mail(domain):
        if domain not in lookups.org_by_domain:
            lookups.org_by_domain[domain] = db.session.scalar(
                select(Organization.id).where(Organization.domain == domain, Organization.deleted_at.is_(None))
                .order_by(Organization.id).limit(1))
        org = _load(Organization, lookups.org_by_domain[domain])
        if org is None and current_app.config.get("MAILROOM_CREATE_ORGANIZATIONS"):
            name = domain
            if db.session.scalar(select(Organization.id).where(func.lower(Organization.name) == name)):
                name = f"{domain} ({domain})"
            org = people_services.create_organization(None, name=name, domain=domain)
            lookups.org_by_domain[domain] = org.id
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
        contact = people_services.contact_by_email(addr)
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
            contact = people_services.contact_by_email(addr)
            db.session.add(BouncingAddress(email=addr, contact=contact, last_reason=verdict.reason[:500]))
        else:
            row.bounces += 1
            row.last_reason, row.last_bounce_at = verdict.reason[:500], utcnow()


# --- the outbound side: replies leave from the case's mailbox -----------------------------------


def compose_outbound(email: OutboundEmail) -> None:
    """Hook of helpdesk.mail.services.queue_email: From and signature of the case's mailbox,
    and the case's watchers in Cc of an agent's reply."""
    if not current_app.extensions.get("mailroom") or email.case is None:
        return
    if (email.dedupe_key or "").startswith("reply:"):
        _cc_watchers(email)
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


def _cc_watchers(email: OutboundEmail) -> None:
    taken = {a.lower() for _, a in getaddresses([email.to_addrs or "", email.cc_addrs or ""]) if a}
    bouncing = set(db.session.scalars(select(BouncingAddress.email).where(
        BouncingAddress.email.in_(select(Contact.email).join(CaseWatcher, CaseWatcher.contact_id == Contact.id)
                                  .where(CaseWatcher.case_id == email.case.id)))))
    cc = []
    for watcher in queries.case_watchers(email.case):
        addr = (watcher.contact.email or "").lower()
        if watcher.cc_on_replies and addr and addr not in taken and addr not in bouncing:
            cc.append(formataddr((watcher.contact.name, addr)))
            taken.add(addr)
    if cc:
        email.cc_addrs = ", ".join([a for a in [email.cc_addrs] if a] + cc)


# --- watchers: who is copied on a case ---------------------------------------------------------


def add_watcher(actor: User, case: Case, *, email: str, name: str = "") -> CaseWatcher:
    """Copy someone on the case's replies (a contact is created for a new address)."""
    address = people_services.normalize_email(email)
    if not people_services.EMAIL_RE.match(address):
        raise ValidationFailed({"email": "Enter an email address like name@example.com."})
    if case.contact is not None and case.contact.email == address:
        raise ValidationFailed({"email": "That is the customer of this case; replies go to them anyway."})
    contact = people_services.contact_by_email(address)
    if contact is None:
        contact = people_services.create_contact(actor, name=(name or address.split("@")[0])[:200], email=address)
    watcher = db.session.get(CaseWatcher, (case.id, contact.id))
    if watcher is None:
        watcher = CaseWatcher(case_id=case.id, contact_id=contact.id, cc_on_replies=True)
        db.session.add(watcher)
        case_services.note_change(actor, case, "watcher_added", reason=f"{address} is copied on replies")
    elif not watcher.cc_on_replies:
        set_watcher_cc(actor, case, contact.id, True)
    db.session.flush()
    return watcher


def set_watcher_cc(actor: User, case: Case, contact_id: int, cc: bool) -> CaseWatcher:
    watcher = _watcher(case, contact_id)
    if watcher.cc_on_replies != cc:
        watcher.cc_on_replies = cc
        case_services.note_change(actor, case, "watcher_changed", reason=(
            f"{watcher.contact.email} is copied on replies" if cc else f"{watcher.contact.email} is no longer copied on replies"))
    db.session.flush()
    return watcher


def remove_watcher(actor: User, case: Case, contact_id: int) -> None:
    watcher = _watcher(case, contact_id)
    address = watcher.contact.email
    db.session.delete(watcher)
    case_services.note_change(actor, case, "watcher_removed", reason=f"{address} is no longer copied")
    db.session.flush()


def _watcher(case: Case, contact_id: int) -> CaseWatcher:
    watcher = db.session.get(CaseWatcher, (case.id, contact_id))
    if watcher is None:
        raise NotFound("That person is not copied on this case.")
    return watcher


# --- IMAP passwords, encrypted at rest ----------------------------------------------------------


def set_imap_password(mailbox: Mailbox, password: str | None) -> None:
    mailbox.imap_password = crypto.encrypt(password)


def imap_password(mailbox: Mailbox) -> str | None:
    """The mailbox's IMAP password in clear, for logging in."""
    return crypto.decrypt(mailbox.imap_password)


def rotate_secrets() -> int:
    """Re-encrypt every stored IMAP password with the first configured key; returns how many."""
    count = 0
    for mailbox in db.session.scalars(select(Mailbox).where(Mailbox.imap_password.is_not(None))):
        rotated = crypto.rotate(mailbox.imap_password)
        if rotated != mailbox.imap_password:
            mailbox.imap_password = rotated
            count += 1
    db.session.flush()
    return count


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
    from mailroom.jobs import process_inbound_batch

    ids = list(db.session.scalars(
        select(InboundEmail.id).where(InboundEmail.status == InboundStatus.QUEUED,
                                      InboundEmail.received_at < utcnow() - older_than).order_by(InboundEmail.id)
    ))
    for start in range(0, len(ids), 50):
        jobs.enqueue(process_inbound_batch, ids[start:start + 50])
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
    rule = rules.first_match(_rules(mailbox.id), mail, plus_tags) if mailbox else None
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
