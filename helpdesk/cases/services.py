"""State changes to cases. Each function does one change, flushes, and leaves Activity rows;
the caller commits."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import BinaryIO, Iterable

import nh3
from flask import current_app
from markupsafe import escape
from sqlalchemy import delete, select, update

from helpdesk import jobs
from helpdesk.cases import policies
from helpdesk.cases.attachments import clean_filename, store_blob
from helpdesk.cases.models import (
    Activity,
    Attachment,
    Case,
    CasePresence,
    Channel,
    CustomField,
    Message,
    MessageKind,
    Priority,
    SavedView,
    Status,
    Tag,
)
from helpdesk.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from helpdesk.extensions import db
from helpdesk.notifications import services as notifications
from helpdesk.people.models import Contact, Group, Organization, User
from helpdesk.sla import services as sla
from helpdesk.types import utcnow

Actor = User | Contact | None
SUBJECT_MAX = 300


@dataclass
class Upload:
    """A file handed to a service: its name and an open binary stream."""

    filename: str
    stream: BinaryIO


@dataclass
class _Change:
    """Collects the Activity rows of one service call and stamps them with the case's new version."""

    case: Case
    actor: Actor
    rows: list[Activity] = field(default_factory=list)
    new: bool = False  # the case was opened by this call: its creation time stands as updated_at

    def log(self, action: str, field: str | None = None, old=None, new=None, reason: str | None = None) -> None:
        row = Activity(
            case_id=self.case.id,
            actor_user_id=self.actor.id if isinstance(self.actor, User) else None,
            actor_contact_id=self.actor.id if isinstance(self.actor, Contact) else None,
            action=action,
            field=field,
            old=_show(old),
            new=_show(new),
            reason=reason,
            # The version the case will have once this change is flushed; done() corrects it when
            # the change took more than one flush, so the usual change costs no extra UPDATE.
            case_version=(self.case.version or 0) + 1,
        )
        db.session.add(row)
        self.rows.append(row)

    def done(self) -> None:
        if not self.rows:
            return  # nothing changed: the case keeps its version and time
        case = self.case
        if not self.new:
            case.updated_at = utcnow()
        # One flush: the rows get the version this flush gives the case (a changed row adds one).
        expected = (case.version or 0) + 1 if db.session.is_modified(case, include_collections=False) else case.version
        for row in self.rows:
            if row.case_version != expected:
                row.case_version = expected
        db.session.flush()
        if case.version != expected:  # a change that set a value to itself: no UPDATE after all
            for row in self.rows:
                row.case_version = case.version
            db.session.flush()


def _show(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, (Status, Priority, Channel)):
        return value.english_label  # stored: the history reads the same in every language
    if isinstance(value, (list, tuple, set)):
        return ", ".join(str(v) for v in value)
    return str(value)


def sanitize_html(html: str) -> str:
    """The one sanitizer for HTML from anywhere outside."""
    return nh3.clean(html or "", link_rel="noopener noreferrer nofollow")


def text_to_html(text: str) -> str:
    paragraphs = (text or "").replace("\r\n", "\n").strip().split("\n\n")
    return "".join(f"<p>{str(escape(p)).replace(chr(10), '<br>')}</p>" for p in paragraphs if p.strip())


def check_version(case: Case, expected: int | None) -> None:
    """Refuse a change made from a stale form, saying what changed since."""
    if expected is None or int(expected) == case.version:
        return
    rows = db.session.scalars(
        select(Activity)
        .where(Activity.case_id == case.id, Activity.case_version > int(expected))
        .order_by(Activity.id)
    ).all()
    changes = [describe_activity(a) for a in rows] or ["The case was changed."]
    raise Conflict(f"{case.number} was changed by someone else while you were editing.", changes=changes)


def describe_activity(a: Activity) -> str:
    who = a.actor_name
    if a.field and (a.old is not None or a.new is not None):
        return f"{who} changed {a.field.replace('_', ' ')} from {a.old or '—'} to {a.new or '—'}"
    return f"{who}: {a.action.replace('_', ' ')}" + (f" ({a.reason})" if a.reason else "")


# --- opening -------------------------------------------------------------------------------


def open_case(
    actor: Actor,
    *,
    subject: str,
    body: str = "",
    body_html: str | None = None,
    contact: Contact | None = None,
    organization: Organization | None = None,
    group: Group | None = None,
    assignee: User | None = None,
    priority: Priority = Priority.NORMAL,
    channel: Channel = Channel.WEB,
    tags: Iterable[str] = (),
    custom_fields: dict | None = None,
    uploads: Iterable[Upload] = (),
    email_message_id: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    opened_at: datetime | None = None,
) -> Case:
    """A new case with its first message; the email headers are the first message's when it came by mail.

    Written for intake volume (the mailroom opens cases by the thousand): the case is inserted
    once to get its number; the number, message and history then go out in one more flush.
    """
    errors = {}
    subject = (subject or "").strip()
    if not subject:
        errors["subject"] = "A case needs a subject."
    elif len(subject) > SUBJECT_MAX:
        errors["subject"] = f"At most {SUBJECT_MAX} characters."
    if not (body or "").strip() and not (body_html or "").strip():
        errors["body"] = "Describe the problem."
    values = {}
    try:
        values = _clean_custom_fields(custom_fields or {}, require_all=True)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    if organization is None and contact is not None:
        organization = contact.organization
    case = Case(
        subject=subject,
        status=policies.status_after_assignment(Status.NEW, assignee is not None),
        priority=Priority(priority),
        channel=channel,
        contact=contact,
        organization=organization,
        group=group,
        assignee=assignee,
        custom_fields=values,
        # A chat turned into a case opened when the visitor started waiting (its SLA clocks too).
        created_at=opened_at or utcnow(),
        # Known empty: nothing needs loading from the database.
        tags=[],
        followers=[],
        messages=[],
    )
    case.is_open = case.status.is_open
    db.session.add(case)
    db.session.flush()
    case.number = f"{current_app.config['CASE_NUMBER_PREFIX']}{case.id}"
    change = _Change(case, actor, new=True)
    change.log("opened", reason=f"via {channel.english_label}")
    # The first message is the customer's problem, even when an agent typed it in from a call.
    email = (email_message_id, in_reply_to, references)
    if contact is not None:
        _add_message(case, contact, MessageKind.CUSTOMER, body, body_html, channel, uploads, email)
    else:
        _add_message(case, actor, MessageKind.NOTE, body, body_html, channel, uploads, email)
    if tags:
        _set_tags(change, list(tags))
    if isinstance(actor, User):
        case.followers.append(actor)
    from helpdesk.contracts.services import link_active_contract  # before the SLA: the contract entitles

    link_active_contract(case)
    sla.start_case(case)
    change.done()
    notifications.case_opened(case, actor)
    return case


# --- conversation --------------------------------------------------------------------------


def reply_to_case(actor: User, case: Case, *, body: str = "", body_html: str | None = None,
                  uploads: Iterable[Upload] = (), status: Status | None = None, version: int | None = None) -> Message:
    """A public answer to the customer, sent by email when the case has a contact address."""
    _require_live(case)
    check_version(case, version)
    change = _Change(case, actor)
    message = _add_message(case, actor, MessageKind.REPLY, body, body_html, Channel.WEB, uploads)
    if case.first_response_at is None:
        case.first_response_at = message.created_at
    change.log("replied")
    sla.record_reply(case, message.created_at)
    new_status = status or (Status.WAIT_CUSTOMER if case.status in (Status.NEW, Status.ASSIGNED, Status.OPEN) else None)
    if new_status is not None and new_status != case.status:
        _set_status(change, new_status, actor)
    change.done()
    _send_reply_email(case, message)
    return message


def add_note(actor: User, case: Case, *, body: str = "", body_html: str | None = None,
             uploads: Iterable[Upload] = (), version: int | None = None) -> Message:
    """An internal note: staff only, never sent to the customer."""
    _require_live(case)
    check_version(case, version)
    change = _Change(case, actor)
    message = _add_message(case, actor, MessageKind.NOTE, body, body_html, Channel.WEB, uploads)
    change.log("added_note")
    change.done()
    return message


def add_customer_message(contact: Contact, case: Case, *, body: str = "", body_html: str | None = None,
                         channel: Channel = Channel.EMAIL, uploads: Iterable[Upload] = (),
                         email_message_id: str | None = None, in_reply_to: str | None = None,
                         references: str | None = None) -> Message:
    """The customer wrote again (by email or in the portal); a waiting or resolved case reopens."""
    _require_live(case)
    change = _Change(case, contact)
    message = _add_message(case, contact, MessageKind.CUSTOMER, body, body_html, channel, uploads,
                           (email_message_id, in_reply_to, references))
    change.log("customer_replied")
    new_status = policies.status_after_customer_message(case.status)
    if new_status != case.status:
        _set_status(change, new_status, contact)
    sla.record_customer_message(case, message.created_at)
    change.done()
    notifications.case_replied_by_customer(case, message)
    return message


def _add_message(case: Case, actor: Actor, kind: MessageKind, body: str, body_html: str | None,
                 channel: Channel, uploads: Iterable[Upload], email: tuple = (None, None, None)) -> Message:
    """`email`: Message-ID, In-Reply-To and References of a message that came by mail."""
    uploads = [u for u in uploads if u.filename]
    if not (body or "").strip() and not (body_html or "").strip() and not uploads:
        raise ValidationFailed({"body": "Write something or attach a file."})
    html = sanitize_html(body_html) if body_html else text_to_html(body)
    text = body if body else nh3.clean(body_html or "", tags=set()).strip()
    message = Message(
        case=case,
        kind=kind,
        channel=channel,
        body_html=html,
        body_text=text,
        author_user=actor if isinstance(actor, User) else None,
        author_contact=actor if isinstance(actor, Contact) else None,
        created_at=utcnow(),
        email_message_id=email[0],
        in_reply_to=email[1],
        references=email[2],
    )
    db.session.add(message)
    config = current_app.config
    for upload in uploads:
        name = clean_filename(upload.filename)
        blob = store_blob(config["ATTACHMENT_DIR"], upload.stream, config["MAX_ATTACHMENT_BYTES"])
        message.attachments.append(Attachment(blob=blob, filename=name))
    return message


def _send_reply_email(case: Case, message: Message) -> None:
    if case.contact is None or not case.contact.email or not case.contact.notify_case_updates:
        return  # no address, or the customer asked the portal not to email them
    from helpdesk.mail.services import queue_email

    thread = [m.email_message_id for m in case.messages if m.email_message_id and m.id != message.id]
    email = queue_email(
        to=[case.contact.email],
        subject=f"[{case.number}] {case.subject}",
        body_text=message.body_text,
        body_html=message.body_html,
        in_reply_to=thread[-1] if thread else None,
        references=thread,
        case=case,
        message=message,
        dedupe_key=f"reply:{message.id}",
    )
    message.email_message_id = email.message_id


# --- fields --------------------------------------------------------------------------------


def change_status(actor: User, case: Case, status: Status, *, reason: str | None = None,
                  version: int | None = None) -> Case:
    _require_live(case)
    check_version(case, version)
    change = _Change(case, actor)
    _set_status(change, Status(status), actor, reason)
    change.done()
    return case


def change_priority(actor: User, case: Case, priority: Priority, *, version: int | None = None) -> Case:
    _require_live(case)
    check_version(case, version)
    change = _Change(case, actor)
    _set_priority(change, Priority(priority))
    change.done()
    return case


def assign_case(actor: User, case: Case, *, assignee: User | None = None, group: Group | None = None,
                keep_group: bool = False, version: int | None = None) -> Case:
    """Give the case to a user and/or a group; None for the user takes the owner away."""
    _require_live(case)
    check_version(case, version)
    change = _Change(case, actor)
    _set_assignment(change, assignee, case.group if keep_group else group)
    change.done()
    return case


def set_tags(actor: User, case: Case, names: Iterable[str], *, version: int | None = None) -> Case:
    _require_live(case)
    check_version(case, version)
    change = _Change(case, actor)
    _set_tags(change, list(names))
    change.done()
    return case


def add_tags(actor: User, case: Case, names: Iterable[str]) -> Case:
    return set_tags(actor, case, [t.name for t in case.tags] + list(names))


def update_case(actor: User, case: Case, data: dict, *, version: int | None = None) -> list[Activity]:
    """The side panel: any of status, priority, assignee, group, tags, subject and custom fields,
    all checked before anything is written."""
    _require_live(case)
    check_version(case, version)
    errors: dict[str, str] = {}
    status = _parse_enum(Status, data.get("status"), "status", errors) if "status" in data else None
    if status is not None and not policies.can_transition(case.status, status):
        errors["status"] = f"A case cannot go from {case.status.label} to {status.label}."
    priority = _parse_enum(Priority, data.get("priority"), "priority", errors) if "priority" in data else None
    assignee = _load_optional(User, data.get("assignee_id"), "assignee_id", errors) if "assignee_id" in data else case.assignee
    if assignee is not None and not assignee.active:
        errors["assignee_id"] = f"{assignee.name} is deactivated."
    group = _load_optional(Group, data.get("group_id"), "group_id", errors) if "group_id" in data else case.group
    subject = (data.get("subject") or "").strip() if "subject" in data else None
    if subject is not None and not subject:
        errors["subject"] = "A case needs a subject."
    elif subject is not None and len(subject) > SUBJECT_MAX:
        errors["subject"] = f"At most {SUBJECT_MAX} characters."
    custom = None
    if "custom_fields" in data:
        try:
            custom = _clean_custom_fields(data["custom_fields"], require_all=True)
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    change = _Change(case, actor)
    if subject is not None and subject != case.subject:
        change.log("changed", "subject", case.subject, subject)
        case.subject = subject
    if assignee != case.assignee or group != case.group:
        _set_assignment(change, assignee, group, explicit_status=status is not None)
    if status is not None:
        _set_status(change, status, actor)
    if priority is not None:
        _set_priority(change, priority)
    if "tags" in data:
        _set_tags(change, data["tags"])
    if custom is not None:
        for key in sorted(set(custom) | set(case.custom_fields or {})):
            old, new = (case.custom_fields or {}).get(key), custom.get(key)
            if old != new:
                change.log("changed", f"custom:{key}", old, new)
        case.custom_fields = custom
    change.done()
    return change.rows


def note_change(actor: Actor, case: Case, action: str, *, reason: str | None = None) -> None:
    """Record in a case's history a change an edge package made to it (the mailroom's watchers)."""
    _require_live(case)
    change = _Change(case, actor)
    change.log(action, reason=reason)
    change.done()


def follow_case(user: User, case: Case) -> Case:
    if user not in case.followers:
        change = _Change(case, user)
        case.followers.append(user)
        change.log("followed")
        change.done()
    return case


def unfollow_case(user: User, case: Case) -> Case:
    if user in case.followers:
        change = _Change(case, user)
        case.followers.remove(user)
        change.log("unfollowed")
        change.done()
    return case


def _set_status(change: _Change, status: Status, actor: Actor, reason: str | None = None) -> None:
    case = change.case
    if status == case.status:
        return
    if not policies.can_transition(case.status, status):
        raise ValidationFailed({"status": f"A case cannot go from {case.status.label} to {status.label}."})
    if case.status == Status.CLOSED and isinstance(actor, User):
        from helpdesk.auth.policies import can

        if not can(actor, "case.reopen_closed"):
            raise PermissionDenied("Only a manager may reopen a closed case.")
    change.log("changed", "status", case.status, status, reason)
    now = utcnow()
    if status == Status.RESOLVED:
        case.resolved_at = now
        from helpdesk.satisfaction.jobs import request_rating  # asks the customer to rate, after the commit
        jobs.enqueue(request_rating, case.id)
    elif status == Status.CLOSED:
        case.closed_at = now
        case.resolved_at = case.resolved_at or now
    else:
        case.resolved_at = case.closed_at = None
    old, case.status = case.status, status
    case.is_open = status.is_open
    sla.record_status(case, old, status, now)
    if case.service_contract_id is not None:
        from helpdesk.contracts.services import case_status_changed  # an incident contract counts closed cases

        case_status_changed(case, old, status)


def _set_priority(change: _Change, priority: Priority) -> None:
    if priority != change.case.priority:
        change.log("changed", "priority", change.case.priority, priority)
        old, change.case.priority = change.case.priority, priority
        sla.record_priority(change.case, old, priority, utcnow())


def _set_assignment(change: _Change, assignee: User | None, group: Group | None, explicit_status: bool = False) -> None:
    case = change.case
    if group != case.group:
        change.log("changed", "group", case.group, group)
        old_group, case.group = case.group, group
        sla.record_group(case, old_group, group, utcnow())
    if assignee != case.assignee:
        change.log("changed", "assignee", case.assignee, assignee)
        case.assignee = assignee
        if assignee is not None and assignee not in case.followers:
            case.followers.append(assignee)
        notifications.case_assigned(case, assignee, change.actor)
        if not explicit_status:
            new_status = policies.status_after_assignment(case.status, assignee is not None)
            if new_status != case.status:
                _set_status(change, new_status, None)


def _set_tags(change: _Change, names: list[str]) -> None:
    wanted = []
    for raw in names:
        name = " ".join(str(raw).strip().lower().split())
        if not name:
            continue
        if len(name) > 60:
            raise ValidationFailed({"tags": f"A tag may be at most 60 characters: {name[:20]}…"})
        if name not in wanted:
            wanted.append(name)
    case = change.case
    old = sorted(t.name for t in case.tags)
    if sorted(wanted) == old:
        return
    existing = {t.name: t for t in db.session.scalars(select(Tag).where(Tag.name.in_(wanted)))} if wanted else {}
    tags = []
    for name in wanted:
        tag = existing.get(name)
        if tag is None:
            tag = Tag(name=name)
            db.session.add(tag)
        tags.append(tag)
    case.tags = sorted(tags, key=lambda t: t.name)
    change.log("changed", "tags", old, sorted(wanted))


def _clean_custom_fields(values: dict, require_all: bool) -> dict:
    fields = db.session.scalars(select(CustomField).where(CustomField.active.is_(True))).all()
    cleaned, errors = {}, {}
    for f in fields:
        try:
            value = policies.clean_custom_value(f.type, values.get(f.key), f.choices)
        except ValueError as exc:
            errors[f"custom_{f.key}"] = f"{f.label} {exc}."
            continue
        if value is None:
            if f.required and require_all:
                errors[f"custom_{f.key}"] = f"{f.label} is required."
            continue
        cleaned[f.key] = value
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def _parse_enum(enum_cls, raw, name, errors):
    try:
        return enum_cls(int(raw)) if enum_cls is Priority else enum_cls(raw)
    except (ValueError, TypeError):
        errors[name] = f"{raw!r} is not a valid {name}."
        return None


def _load_optional(model, raw, name, errors):
    if raw in (None, "", "none"):
        return None
    try:
        obj = db.session.get(model, int(raw))
    except (ValueError, TypeError):
        obj = None
    if obj is None:
        errors[name] = f"No such {model.__name__.lower()}: {raw}."
    return obj


def _require_live(case: Case) -> None:
    if case.deleted_at is not None:
        raise NotFound(f"{case.number} was deleted.")
    if case.merged_into_id is not None:
        raise ValidationFailed({"case": f"{case.number} was merged into {case.merged_into.number}; work on that case."})


# --- merge and split -----------------------------------------------------------------------


def merge_cases(actor: User, source: Case, target: Case) -> Case:
    """Move source's conversation, followers and history into target; source points to target."""
    if source.id == target.id:
        raise ValidationFailed({"target": "A case cannot be merged into itself."})
    _require_live(source)
    _require_live(target)
    db.session.execute(update(Message).where(Message.case_id == source.id).values(case_id=target.id))
    db.session.execute(update(Activity).where(Activity.case_id == source.id).values(case_id=target.id))
    for user in source.followers:
        if user not in target.followers:
            target.followers.append(user)
    for tag in source.tags:
        if tag not in target.tags:
            target.tags.append(tag)
    db.session.expire(target, ["messages"])
    db.session.expire(source, ["messages"])
    into = _Change(target, actor)
    into.log("merged_in", reason=f"{source.number} merged into this case")
    into.done()
    out = _Change(source, actor)
    if source.status != Status.CLOSED:
        out.log("changed", "status", source.status, Status.CLOSED, f"merged into {target.number}")
        old_status = source.status
        source.status, source.is_open, source.closed_at = Status.CLOSED, False, utcnow()
        sla.record_status(source, old_status, Status.CLOSED, source.closed_at)
    source.merged_into = target
    out.log("merged", reason=f"merged into {target.number}")
    out.done()
    return target


def split_message(actor: User, message: Message, subject: str | None = None) -> Case:
    """Take one message out of its case into a new case of its own."""
    source = message.case
    _require_live(source)
    if source.messages and source.messages[0].id == message.id and len(source.messages) == 1:
        raise ValidationFailed({"message": "The only message of a case cannot be split off."})
    case = Case(
        subject=(subject or f"Split from {source.number}: {source.subject}")[:SUBJECT_MAX],
        status=Status.NEW,
        priority=source.priority,
        channel=message.channel,
        contact=message.author_contact or source.contact,
        organization=source.organization,
        group=source.group,
        custom_fields=dict(source.custom_fields or {}),
    )
    db.session.add(case)
    db.session.flush()
    case.number = f"{current_app.config['CASE_NUMBER_PREFIX']}{case.id}"
    message.case = case
    new = _Change(case, actor)
    new.log("split_from", reason=f"message split from {source.number}")
    if isinstance(actor, User):
        case.followers.append(actor)
    sla.start_case(case)
    new.done()
    old = _Change(source, actor)
    old.log("split", reason=f"a message was split into {case.number}")
    old.done()
    db.session.expire(source, ["messages"])
    return case


# --- presence and saved views --------------------------------------------------------------

PRESENCE_SECONDS = 45


def mark_presence(user: User, case: Case, replying: bool = False) -> None:
    row = db.session.get(CasePresence, (case.id, user.id))
    if row is None:
        row = CasePresence(case_id=case.id, user_id=user.id)
        db.session.add(row)
    row.replying, row.seen_at = replying, utcnow()
    db.session.flush()


def leave_case(user: User, case: Case) -> None:
    db.session.execute(delete(CasePresence).where(CasePresence.case_id == case.id, CasePresence.user_id == user.id))


@jobs.periodic(every=timedelta(minutes=5))
def purge_case_presence() -> int:
    """Forget viewers who left without saying so (closed tab, lost network)."""
    cutoff = utcnow() - timedelta(seconds=PRESENCE_SECONDS * 4)
    result = db.session.execute(delete(CasePresence).where(CasePresence.seen_at < cutoff))
    db.session.commit()
    return result.rowcount


def save_view(user: User, name: str, query: str) -> SavedView:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed({"name": "Give the view a name."})
    if len(name) > 100:
        raise ValidationFailed({"name": "At most 100 characters."})
    view = db.session.scalar(select(SavedView).where(SavedView.user_id == user.id, SavedView.name == name))
    if view is None:
        view = SavedView(user_id=user.id, name=name, query=query[:2000])
        db.session.add(view)
    view.query = query[:2000]
    db.session.flush()
    return view


def delete_view(user: User, view: SavedView) -> None:
    if view.user_id != user.id:
        raise NotFound("No such view.")
    db.session.delete(view)
    db.session.flush()
