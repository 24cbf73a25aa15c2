"""State changes to chats: start, send, route, accept, transfer, end, rate, turn into a case.

Each function does one change and flushes; the caller commits. Events for the live streams
are announced here and published only after that commit (helpdesk.chat.transport).
"""
from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import BinaryIO

from flask import current_app
from sqlalchemy import func, select, update

from helpdesk.cases import services as cases
from helpdesk.cases.attachments import clean_filename, store_blob
from helpdesk.cases.models import Case, Channel, Message, MessageKind
from helpdesk.chat import policies, transport
from helpdesk.chat.models import (
    AgentAvailability,
    AgentStatus,
    CannedReply,
    ChatMessage,
    ChatMessageKind,
    ChatSession,
    ChatStatus,
    ChatTopic,
    Routing,
)
from helpdesk.errors import PermissionDenied, ValidationFailed
from helpdesk.extensions import db
from helpdesk.people.models import Contact, CustomerActivity, Group, Organization, User, user_groups
from helpdesk.sla import services as sla
from helpdesk.sla.models import BusinessHours
from helpdesk.types import utcnow

MESSAGE_MAX = 5000
HANDLING = (ChatStatus.ASSIGNED, ChatStatus.ACTIVE)


@dataclass
class BotAnswer:
    title: str
    url: str
    snippet: str = ""


# Edge packages that know answers (the knowledge base) register a function here:
# provider(topic, question, language) -> list[BotAnswer]. The core knows none itself.
bot_answer_providers: list[Callable[[ChatTopic | None, str, str | None], list[BotAnswer]]] = []


@dataclass
class Availability:
    open: bool
    reason: str  # "ok", "closed" (outside business hours) or "no_agents"


# --- availability and agents -----------------------------------------------------------------


def topic_availability(topic: ChatTopic | None, now: datetime | None = None) -> Availability:
    """Whether a visitor can talk to a person on this topic now."""
    now = now or utcnow()
    hours = topic.business_hours if topic else None
    if hours is None:
        hours = db.session.scalar(select(BusinessHours).order_by(BusinessHours.name).limit(1))
    if hours is not None and not sla.calendar_for(hours).is_open(now):
        return Availability(False, "closed")
    if not _agent_loads(topic.group_id if topic else None):
        return Availability(False, "no_agents")
    return Availability(True, "ok")


def set_availability(user: User, status: AgentStatus | str, capacity: int | None = None) -> AgentAvailability:
    """An agent goes online, away or offline (and says how many chats they take at once)."""
    try:
        status = AgentStatus(status)
    except ValueError:
        raise ValidationFailed({"status": f"{status!r} is not a status."}) from None
    row = availability_of(user)
    if capacity is not None:
        try:
            capacity = int(capacity)
        except (TypeError, ValueError):
            capacity = -1
        if not 1 <= capacity <= 20:
            raise ValidationFailed({"capacity": "Take from 1 to 20 chats at once."})
        row.capacity = capacity
    row.status, row.updated_at = status, utcnow()
    db.session.flush()
    if status == AgentStatus.ONLINE:
        for group in user.groups:
            route_group(group.id)
        route_group(None)
    transport.announce(transport.AGENTS, {"type": "agents"})
    return row


def availability_of(user: User) -> AgentAvailability:
    row = db.session.get(AgentAvailability, user.id)
    if row is None:
        row = AgentAvailability(user_id=user.id, status=AgentStatus.OFFLINE, capacity=3)
        db.session.add(row)
        db.session.flush()
    return row


def _agent_loads(group_id: int | None, lock: bool = False) -> list[policies.AgentLoad]:
    """Online agents who may take this group's chats (any agent when there is no group).
    With `lock` (routing on PostgreSQL) their rows stay locked until the commit, so two
    processes routing at once cannot both fill an agent's last free place."""
    load = (select(func.count(ChatSession.id))
            .where(ChatSession.agent_id == AgentAvailability.user_id, ChatSession.status.in_(HANDLING))
            .scalar_subquery())
    q = (select(AgentAvailability.user_id, load, AgentAvailability.capacity, AgentAvailability.last_assigned_at)
         .join(User, User.id == AgentAvailability.user_id)
         .where(AgentAvailability.status == AgentStatus.ONLINE, User.active.is_(True)))
    if group_id is not None:
        q = q.join(user_groups, user_groups.c.user_id == User.id).where(user_groups.c.group_id == group_id)
    if lock and db.session.get_bind().dialect.name == "postgresql":
        q = q.order_by(AgentAvailability.user_id).with_for_update(of=AgentAvailability)
    return [policies.AgentLoad(uid, n, cap, last) for uid, n, cap, last in db.session.execute(q)]


# --- routing ---------------------------------------------------------------------------------


def route_group(group_id: int | None) -> list[ChatSession]:
    """Give the group's waiting chats, oldest first, to its online agents with room."""
    in_group = ChatSession.group_id.is_(None) if group_id is None else ChatSession.group_id == group_id
    q = (select(ChatSession).where(ChatSession.status == ChatStatus.QUEUED, in_group)
         .order_by(ChatSession.queued_at, ChatSession.id).limit(200))
    if db.session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)  # two processes routing at once take different chats
    waiting = list(db.session.scalars(q))
    if not waiting:
        return []
    agents = _agent_loads(group_id, lock=True)
    now = utcnow()
    plan = policies.plan_assignments([(c.id, c.topic.routing if c.topic else Routing.LEAST_LOADED) for c in waiting],
                                     agents, now)
    by_id = {c.id: c for c in waiting}
    routed = []
    for chat_id, user_id in plan:
        chat = by_id[chat_id]
        _assign(chat, db.session.get(User, user_id), now)
        routed.append(chat)
    return routed


def _assign(chat: ChatSession, agent: User, now: datetime) -> None:
    chat.agent, chat.status, chat.assigned_at = agent, ChatStatus.ASSIGNED, now
    availability_of(agent).last_assigned_at = now
    db.session.flush()
    transport.announce(transport.AGENTS, {"type": "assigned", "chat": chat.id, "agent": agent.id})
    _announce_status(chat)


def queue_position(chat: ChatSession) -> int | None:
    """1 for the next chat to be answered in its group; None when it is not waiting."""
    if chat.status != ChatStatus.QUEUED:
        return None
    group = ChatSession.group_id.is_(None) if chat.group_id is None else ChatSession.group_id == chat.group_id
    ahead = db.session.scalar(select(func.count(ChatSession.id)).where(
        ChatSession.status == ChatStatus.QUEUED, group,
        (ChatSession.queued_at < chat.queued_at) | ((ChatSession.queued_at == chat.queued_at) & (ChatSession.id < chat.id))))
    return (ahead or 0) + 1


def expected_wait(chat: ChatSession) -> int | None:
    position = queue_position(chat)
    if position is None:
        return None
    recent = db.session.scalars(
        select(ChatSession.wait_seconds).where(ChatSession.group_id == chat.group_id, ChatSession.wait_seconds.is_not(None))
        .order_by(ChatSession.id.desc()).limit(20)).all()
    return policies.expected_wait_seconds(position, len(_agent_loads(chat.group_id)), list(recent))


# --- starting --------------------------------------------------------------------------------


def start_chat(contact: Contact | None, *, name: str, email: str, topic: ChatTopic | None, page_url: str = "",
               user_agent: str = "", message: str = "") -> ChatSession:
    """A visitor opens a chat: the bot answers first when the topic has one, else it is queued."""
    name, email = (name or "").strip(), (email or "").strip().lower()
    if contact is not None:
        name, email = name or contact.name, email or (contact.email or "")
    errors = {}
    if not name:
        errors["name"] = "Tell us your name."
    elif len(name) > 200:
        errors["name"] = "At most 200 characters."
    if not _looks_like_email(email):
        errors["email"] = "Give an email address we can answer to."
    if topic is None or not topic.active:
        errors["topic"] = "Choose a topic."
    if len(message or "") > MESSAGE_MAX:
        errors["message"] = f"At most {MESSAGE_MAX} characters."
    if errors:
        raise ValidationFailed(errors)
    if contact is None:
        contact = _contact_for(email, name)
    now = utcnow()
    chat = ChatSession(
        token=secrets.token_urlsafe(32), topic=topic, group_id=topic.group_id, contact=contact,
        organization_id=contact.organization_id if contact else None, visitor_name=name, visitor_email=email,
        page_url=(page_url or "")[:2000] or None, user_agent=(user_agent or "")[:500] or None,
        status=ChatStatus.BOT if topic.bot_enabled else ChatStatus.QUEUED, created_at=now, visitor_seen_at=now,
    )
    db.session.add(chat)
    db.session.flush()
    if message.strip():
        _add_message(chat, ChatMessageKind.VISITOR, message.strip(), author_name=name)
    if chat.status == ChatStatus.BOT:
        _bot_turn(chat, message.strip())
    else:
        _enqueue(chat, now)
    transport.announce(transport.AGENTS, {"type": "started", "chat": chat.id})
    return chat


def _enqueue(chat: ChatSession, now: datetime) -> None:
    chat.status, chat.queued_at = ChatStatus.QUEUED, chat.queued_at or now
    db.session.flush()
    route_group(chat.group_id)
    _announce_status(chat)


def _contact_for(email: str, name: str) -> Contact:
    contact = db.session.scalar(select(Contact).where(Contact.email == email, Contact.deleted_at.is_(None))
                                .order_by(Contact.id).limit(1))
    while contact is not None and contact.merged_into is not None:
        contact = contact.merged_into
    if contact is not None:
        return contact
    domain = email.rpartition("@")[2]
    organization = db.session.scalar(select(Organization).where(Organization.domain == domain,
                                                                Organization.deleted_at.is_(None)).limit(1))
    contact = Contact(name=name, email=email, organization=organization)
    db.session.add(contact)
    db.session.flush()
    db.session.add(CustomerActivity(contact_id=contact.id, action="created", reason="started a chat"))
    return contact


def _looks_like_email(email: str) -> bool:
    local, _, domain = email.partition("@")
    return bool(local) and "." in domain and " " not in email and len(email) <= 254


# --- the conversation ------------------------------------------------------------------------


@dataclass
class Upload:
    filename: str
    stream: BinaryIO


def send_visitor_message(chat: ChatSession, body: str, upload: Upload | None = None) -> ChatMessage:
    _require_live(chat)
    message = _add_message(chat, ChatMessageKind.VISITOR, body, author_name=chat.visitor_name, upload=upload)
    visitor_seen(chat, message.created_at)
    if chat.status == ChatStatus.BOT:
        _bot_turn(chat, message.body)
    return message


def send_agent_message(agent: User, chat: ChatSession, body: str, upload: Upload | None = None) -> ChatMessage:
    """An agent writes; writing to a chat waiting for you accepts it."""
    _require_live(chat)
    if chat.agent_id != agent.id or chat.status != ChatStatus.ACTIVE:
        accept_chat(agent, chat)
    message = _add_message(chat, ChatMessageKind.AGENT, body, author=agent, upload=upload)
    if chat.first_response_at is None:
        chat.first_response_at = message.created_at
        chat.first_response_seconds = policies.seconds_between(chat.queued_at or chat.created_at, message.created_at)
    return message


def accept_chat(agent: User, chat: ChatSession) -> ChatSession:
    """Take a chat routed to you, or pick one from your groups' queue."""
    _require_live(chat)
    if chat.status == ChatStatus.ACTIVE and chat.agent_id == agent.id:
        return chat
    if chat.status == ChatStatus.ACTIVE or (chat.status == ChatStatus.ASSIGNED and chat.agent_id != agent.id):
        raise PermissionDenied(f"{chat.agent.name if chat.agent else 'Someone else'} has this chat.")
    if chat.status not in (ChatStatus.QUEUED, ChatStatus.ASSIGNED):
        raise ValidationFailed({"chat": "This chat is not waiting for an agent."})
    if chat.group_id is not None and chat.group_id not in {g.id for g in agent.groups} and chat.agent_id != agent.id:
        raise PermissionDenied("This chat is for another group.")
    now = utcnow()
    chat.agent, chat.status, chat.accepted_at = agent, ChatStatus.ACTIVE, now
    chat.assigned_at = chat.assigned_at or now
    if chat.wait_seconds is None:
        chat.wait_seconds = policies.seconds_between(chat.queued_at or chat.created_at, now)
    availability_of(agent).last_assigned_at = now
    _add_message(chat, ChatMessageKind.SYSTEM, f"{agent.name} joined the chat.")
    transport.announce(transport.AGENTS, {"type": "accepted", "chat": chat.id, "agent": agent.id})
    _announce_status(chat)
    return chat


def transfer_chat(actor: User, chat: ChatSession, *, agent: User | None = None, group: Group | None = None) -> ChatSession:
    """Hand the chat to another agent (it waits for them to accept) or to another group's queue."""
    _require_live(chat)
    if agent is None and group is None:
        raise ValidationFailed({"to": "Choose an agent or a group."})
    if agent is not None and (not agent.active or agent.id == chat.agent_id):
        raise ValidationFailed({"agent_id": "Choose another active agent."})
    now = utcnow()
    chat.transfers += 1
    if agent is not None:
        note = f"{actor.name} transferred the chat to {agent.name}."
        chat.group_id = group.id if group else chat.group_id
        _add_message(chat, ChatMessageKind.SYSTEM, note)
        _assign(chat, agent, now)
    else:
        note = f"{actor.name} transferred the chat to {group.name}."
        chat.group_id, chat.agent, chat.queued_at = group.id, None, now
        _add_message(chat, ChatMessageKind.SYSTEM, note)
        chat.status = ChatStatus.QUEUED
        db.session.flush()
        route_group(group.id)
        _announce_status(chat)
    transport.announce(transport.AGENTS, {"type": "transferred", "chat": chat.id})
    return chat


def request_human(chat: ChatSession) -> ChatSession:
    """"Talk to a person": the bot hands over, the conversation so far stays in the chat."""
    _require_live(chat)
    if chat.status != ChatStatus.BOT:
        return chat
    _add_message(chat, ChatMessageKind.SYSTEM, "You asked for a person; we are finding someone.")
    _enqueue(chat, utcnow())
    transport.announce(transport.AGENTS, {"type": "queued", "chat": chat.id})
    return chat


def resolve_by_bot(chat: ChatSession) -> ChatSession:
    """The visitor says the bot's answer solved it."""
    if chat.status != ChatStatus.BOT:
        raise ValidationFailed({"chat": "Only a chat with the bot can be resolved by it."})
    chat.bot_resolved = True
    return end_chat(None, chat, by="visitor")


def end_chat(actor: User | None, chat: ChatSession, *, by: str = "agent") -> ChatSession:
    """End the chat, keep its figures and leave the transcript on the contact and organization."""
    if chat.status == ChatStatus.ENDED:
        return chat
    now = utcnow()
    was = chat.status
    chat.status, chat.ended_at, chat.ended_by = ChatStatus.ENDED, now, by
    chat.duration_seconds = policies.seconds_between(chat.created_at, now)
    if chat.first_response_at is None and chat.queued_at is not None:
        chat.missed = True  # it waited for a person and no one answered
        chat.abandoned = by == "visitor" and was in (ChatStatus.QUEUED, ChatStatus.ASSIGNED)
        if chat.wait_seconds is None and chat.queued_at is not None:
            chat.wait_seconds = policies.seconds_between(chat.queued_at, now)
    who = actor.name if actor else {"visitor": chat.visitor_name, "system": "The help desk"}.get(by, "The help desk")
    _add_message(chat, ChatMessageKind.SYSTEM, f"{who} ended the chat.")
    _attach_transcript(chat)
    if chat.agent_id is not None and was in HANDLING:
        route_group(chat.group_id)  # the agent has room again
    transport.announce(transport.AGENTS, {"type": "ended", "chat": chat.id})
    _announce_status(chat)
    return chat


def _attach_transcript(chat: ChatSession) -> None:
    """The ended chat is the transcript: it stays on the contact and, through them, their
    organization (the contact's One View lists it). A contact placed in an organization
    during the chat takes it along."""
    if chat.contact is not None and chat.organization_id is None:
        chat.organization_id = chat.contact.organization_id
    db.session.flush()


def rate_chat(chat: ChatSession, rating, comment: str = "") -> ChatSession:
    value = policies.valid_rating(rating)
    if value is None:
        raise ValidationFailed({"rating": "Choose from 1 (poor) to 5 (excellent)."})
    if len(comment or "") > 2000:
        raise ValidationFailed({"comment": "At most 2000 characters."})
    chat.rating, chat.rating_comment = value, (comment or "").strip() or None
    db.session.flush()
    transport.announce(transport.AGENTS, {"type": "rated", "chat": chat.id})
    return chat


def visitor_seen(chat: ChatSession, at: datetime | None = None) -> None:
    """The visitor is still there (the sweep ends chats of visitors gone for minutes); written
    at most every half minute, not on every message."""
    at = at or utcnow()
    if chat.visitor_seen_at is None or (at - chat.visitor_seen_at).total_seconds() >= 30:
        chat.visitor_seen_at = at


# --- transcripts, cases ----------------------------------------------------------------------


def transcript_text(chat: ChatSession) -> str:
    lines = [f"Chat #{chat.id} with {chat.visitor_name} <{chat.visitor_email}>"
             + (f" about {chat.topic.name}" if chat.topic else ""), ""]
    for m in chat.messages:
        who = "—" if m.kind == ChatMessageKind.SYSTEM else (m.author_name or m.kind.value)
        text = m.body + (f" [file: {m.filename}]" if m.filename else "")
        lines.append(f"[{m.created_at:%Y-%m-%d %H:%M} UTC] {who}: {text}")
    return "\n".join(lines)


def email_transcript(chat: ChatSession, address: str | None = None):
    """Queue the transcript to the visitor (or the given address), once per chat and address."""
    from helpdesk.mail.services import queue_email

    address = (address or chat.visitor_email or "").strip().lower()
    if not _looks_like_email(address):
        raise ValidationFailed({"email": "Give an email address."})
    email = queue_email(to=[address], subject=f"Your chat with us (#{chat.id})", body_text=transcript_text(chat),
                        dedupe_key=f"chat-transcript:{chat.id}:{address}:{len(chat.messages)}",
                        auto_submitted="auto-generated")
    chat.transcript_emailed_at = utcnow()
    return email


def convert_to_case(actor: User, chat: ChatSession, subject: str = "") -> Case:
    """Open a case from the chat: its transcript becomes the first messages, and the chat's
    waiting counts toward the case's first response (the SLA clocks start when it was queued)."""
    if chat.case_id is not None:
        raise ValidationFailed({"chat": f"This chat is already {chat.case.number}."})
    talk = [m for m in chat.messages if m.kind in (ChatMessageKind.VISITOR, ChatMessageKind.AGENT, ChatMessageKind.BOT)]
    first_visitor = next((m for m in talk if m.kind == ChatMessageKind.VISITOR), None)
    subject = (subject or "").strip() or f"Chat: {(first_visitor.body if first_visitor else chat.topic.name if chat.topic else 'conversation')[:80]}"
    started = chat.queued_at or chat.created_at
    case = cases.open_case(actor, subject=subject[:300],
                           body=first_visitor.body if first_visitor else transcript_text(chat),
                           contact=chat.contact, organization=chat.organization,
                           group=chat.group, assignee=chat.agent if chat.agent and chat.agent.active else None,
                           channel=Channel.CHAT, opened_at=started)
    first = case.messages[0] if case.messages else None
    if first is not None and first_visitor is not None:
        first.created_at = first_visitor.created_at
    for m in talk:
        if m is first_visitor:
            continue
        kind = {ChatMessageKind.VISITOR: MessageKind.CUSTOMER, ChatMessageKind.AGENT: MessageKind.REPLY}.get(m.kind, MessageKind.NOTE)
        db.session.add(Message(case=case, kind=kind, channel=Channel.CHAT, body_text=m.body,
                               body_html=cases.text_to_html(m.body or (m.filename or "")),
                               author_user_id=m.author_user_id if kind != MessageKind.CUSTOMER else None,
                               author_contact=chat.contact if kind == MessageKind.CUSTOMER else None,
                               created_at=m.created_at))
    if chat.first_response_at is not None:
        case.first_response_at = chat.first_response_at
        sla.record_reply(case, chat.first_response_at)
    chat.case = case
    _add_message(chat, ChatMessageKind.SYSTEM, f"{actor.name} opened case {case.number} from this chat.")
    db.session.flush()
    db.session.expire(case, ["messages"])
    return case


def leave_offline_message(contact: Contact | None, *, name: str, email: str, topic: ChatTopic | None,
                          message: str, page_url: str = "") -> Case:
    """No one can chat now: the visitor's message becomes a case for the topic's group."""
    name, email = (name or "").strip(), (email or "").strip().lower()
    if contact is not None:
        name, email = name or contact.name, email or (contact.email or "")
    errors = {}
    if not name:
        errors["name"] = "Tell us your name."
    if not _looks_like_email(email):
        errors["email"] = "Give an email address we can answer to."
    if not (message or "").strip():
        errors["message"] = "Tell us how we can help."
    elif len(message) > MESSAGE_MAX:
        errors["message"] = f"At most {MESSAGE_MAX} characters."
    if errors:
        raise ValidationFailed(errors)
    contact = contact or _contact_for(email, name)
    body = message.strip() + (f"\n\n(Sent from {page_url[:500]})" if page_url else "")
    subject = " ".join(message.split())[:80]
    return cases.open_case(contact, subject=subject if topic is None else f"{topic.name}: {subject}"[:300], body=body,
                           contact=contact, group=topic.group if topic else None, channel=Channel.CHAT)


# --- canned replies --------------------------------------------------------------------------


def save_canned_reply(actor: User, reply: CannedReply | None, *, title: str, body: str) -> CannedReply:
    title, body = (title or "").strip(), (body or "").strip()
    errors = {}
    if not title:
        errors["title"] = "Give the reply a title."
    elif db.session.scalar(select(CannedReply.id).where(CannedReply.title == title,
                                                        CannedReply.id != (reply.id if reply else None))):
        errors["title"] = "There is already a reply with this title."
    if not body:
        errors["body"] = "Write the reply."
    if errors:
        raise ValidationFailed(errors)
    if reply is None:
        reply = CannedReply()
        db.session.add(reply)
    reply.title, reply.body = title[:100], body
    db.session.flush()
    return reply


def delete_canned_reply(actor: User, reply: CannedReply) -> None:
    db.session.delete(reply)
    db.session.flush()


# --- the sweep -------------------------------------------------------------------------------


def reroute_unaccepted(now: datetime | None = None) -> list[ChatSession]:
    """Chats routed to an agent who did not accept in time go back to the queue (missed once)."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=current_app.config.get("CHAT_ACCEPT_SECONDS", 60))
    stale = list(db.session.scalars(select(ChatSession).where(ChatSession.status == ChatStatus.ASSIGNED,
                                                              ChatSession.assigned_at < cutoff)))
    groups = set()
    for chat in stale:
        chat.missed_count += 1
        chat.status, chat.agent, chat.assigned_at = ChatStatus.QUEUED, None, None
        groups.add(chat.group_id)
    db.session.flush()
    for group_id in groups:
        route_group(group_id)
    return stale


def end_abandoned(now: datetime | None = None) -> list[ChatSession]:
    """Visitors who closed the page while waiting or with the bot: their chats end as abandoned."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=current_app.config.get("CHAT_VISITOR_GONE_SECONDS", 300))
    gone = list(db.session.scalars(select(ChatSession).where(
        ChatSession.status.in_((ChatStatus.BOT, ChatStatus.QUEUED, ChatStatus.ASSIGNED)),
        ChatSession.visitor_seen_at < cutoff)))
    for chat in gone:
        end_chat(None, chat, by="visitor")
    return gone


# --- helpers ---------------------------------------------------------------------------------


def _require_live(chat: ChatSession) -> None:
    if chat.status == ChatStatus.ENDED:
        raise ValidationFailed({"chat": "This chat has ended."})


def _add_message(chat: ChatSession, kind: ChatMessageKind, body: str, *, author: User | None = None,
                 author_name: str = "", links: list | None = None, upload: Upload | None = None) -> ChatMessage:
    body = (body or "").strip()
    if upload is not None and not upload.filename:
        upload = None
    if not body and upload is None:
        raise ValidationFailed({"body": "Write something or attach a file."})
    if len(body) > MESSAGE_MAX:
        raise ValidationFailed({"body": f"At most {MESSAGE_MAX} characters."})
    blob = filename = None
    if upload is not None:
        filename = clean_filename(upload.filename)
        config = current_app.config
        blob = store_blob(config["ATTACHMENT_DIR"], upload.stream, config["MAX_ATTACHMENT_BYTES"], field="file")
    # Numbering in the row's lock: the next message of this chat waits for our commit, so
    # numbers follow commit order and "after N" never skips one still being written.
    seq = db.session.execute(
        update(ChatSession).where(ChatSession.id == chat.id).values(last_seq=ChatSession.last_seq + 1)
        .returning(ChatSession.last_seq).execution_options(synchronize_session=False)
    ).scalar_one()
    message = ChatMessage(session_id=chat.id, seq=seq, kind=kind, body=body, links=links, blob=blob, filename=filename,
                          author_user=author, author_name=author.name if author else author_name, created_at=utcnow())
    db.session.add(message)  # written by the caller's commit; the event needs nothing from the database
    db.session.expire(chat, ["last_seq", "messages"])
    transport.announce(transport.chat_channel(chat.id), message_event(message))
    return message


def message_event(m: ChatMessage) -> dict:
    """What a stream sends for a message (both sides build the same bubble from it)."""
    return {"type": "message", "seq": m.seq, "kind": m.kind.value, "author": m.author_name, "body": m.body,
            "links": m.links or [], "file": m.filename, "at": m.created_at.isoformat()}


def _announce_status(chat: ChatSession) -> None:
    transport.announce(transport.chat_channel(chat.id), {
        "type": "status", "status": chat.status.value, "agent": chat.agent.name if chat.agent else None})


def _bot_turn(chat: ChatSession, question: str) -> None:
    if not question:
        _add_message(chat, ChatMessageKind.BOT, "Hello! Ask your question and I will look for an answer. "
                     "You can talk to a person at any time.", author_name="Help bot")
        return
    answers: list[BotAnswer] = []
    for provider in bot_answer_providers:
        try:
            answers += provider(chat.topic, question, None)
        except Exception:
            current_app.logger.exception("a chat bot answer provider failed")
        if len(answers) >= 3:
            break
    if answers:
        links = [{"title": a.title, "url": a.url} for a in answers[:3]]
        text = "These articles may answer it:\n" + "\n".join(
            f"• {a.title}" + (f" — {a.snippet}" if a.snippet else "") for a in answers[:3])
        _add_message(chat, ChatMessageKind.BOT, text, author_name="Help bot", links=links)
    else:
        _add_message(chat, ChatMessageKind.BOT, "I found nothing on that. Choose “Talk to a person” and someone "
                     "will take over, with this conversation.", author_name="Help bot")



# --- topics ----------------------------------------------------------------------------------


def save_topic(actor: User, topic: ChatTopic | None, data) -> ChatTopic:
    """Create or update a topic from form data: name, group, calendar, routing, bot, active."""
    errors = {}
    name = (data.get("name") or "").strip()
    if not name:
        errors["name"] = "Give the topic a name."
    elif db.session.scalar(select(ChatTopic.id).where(ChatTopic.name == name, ChatTopic.id != (topic.id if topic else None))):
        errors["name"] = "There is already a topic with this name."
    group = _optional(Group, data.get("group_id"), "group_id", errors)
    hours = _optional(BusinessHours, data.get("business_hours_id"), "business_hours_id", errors)
    try:
        routing = Routing(data.get("routing") or Routing.LEAST_LOADED.value)
    except ValueError:
        errors["routing"] = "Choose round robin or least loaded."
        routing = Routing.LEAST_LOADED
    if errors:
        raise ValidationFailed(errors)
    if topic is None:
        topic = ChatTopic()
        db.session.add(topic)
    topic.name, topic.group, topic.business_hours, topic.routing = name[:100], group, hours, routing
    topic.bot_enabled = data.get("bot_enabled") in ("1", "on", True)
    topic.active = data.get("active", "1") in ("1", "on", True)
    topic.position = int(data.get("position")) if str(data.get("position") or "").isdigit() else 0
    db.session.flush()
    return topic


def _optional(model, raw, name, errors):
    if raw in (None, ""):
        return None
    obj = db.session.get(model, int(raw)) if str(raw).isdigit() else None
    if obj is None:
        errors[name] = "No such choice."
    return obj
