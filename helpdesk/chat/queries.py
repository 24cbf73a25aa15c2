"""Reads for chat: the console's lists, a chat's messages after a number, a contact's chats."""
from __future__ import annotations

from sqlalchemy import func, or_, select

from helpdesk.auth.policies import can
from helpdesk.chat.models import (
    AgentAvailability,
    AgentStatus,
    CannedReply,
    ChatMessage,
    ChatMessageKind,
    ChatSession,
    ChatStatus,
    ChatTopic,
)
from helpdesk.errors import NotFound, PermissionDenied
from helpdesk.extensions import db
from helpdesk.people.models import User


def get_chat(chat_id: int) -> ChatSession:
    chat = db.session.get(ChatSession, chat_id)
    if chat is None:
        raise NotFound("No such chat.")
    return chat


def chat_by_token(token: str) -> ChatSession:
    chat = db.session.scalar(select(ChatSession).where(ChatSession.token == token)) if token else None
    if chat is None:
        raise NotFound("No such chat.")
    return chat


def check_access(user: User, chat: ChatSession) -> str:
    """How a staff member may use this chat: "answer" (theirs, or waiting in their groups),
    "watch" (a manager's view of anyone's chat); anything else is refused."""
    mine = chat.agent_id == user.id
    waiting_for_group = chat.status == ChatStatus.QUEUED and (
        chat.group_id is None or chat.group_id in {g.id for g in user.groups})
    if can(user, "chat.answer") and (mine or waiting_for_group):
        return "answer"
    if can(user, "chat.watch"):
        return "watch"
    raise PermissionDenied("This chat belongs to another agent.")


def messages_after(chat_id: int, after: int, limit: int = 500) -> list[ChatMessage]:
    return list(db.session.scalars(select(ChatMessage).where(ChatMessage.session_id == chat_id, ChatMessage.seq > after)
                                   .order_by(ChatMessage.seq).limit(limit)))


def message_by_seq(chat_id: int, seq: int) -> ChatMessage:
    message = db.session.scalar(select(ChatMessage).where(ChatMessage.session_id == chat_id, ChatMessage.seq == seq))
    if message is None or message.blob_sha256 is None:
        raise NotFound("No such file.")
    return message


def active_topics() -> list[ChatTopic]:
    return list(db.session.scalars(select(ChatTopic).where(ChatTopic.active.is_(True)).order_by(ChatTopic.position, ChatTopic.name)))


def all_topics() -> list[ChatTopic]:
    return list(db.session.scalars(select(ChatTopic).order_by(ChatTopic.position, ChatTopic.name)))


def my_chats(user: User) -> list[ChatSession]:
    return list(db.session.scalars(select(ChatSession).where(
        ChatSession.agent_id == user.id, ChatSession.status.in_((ChatStatus.ASSIGNED, ChatStatus.ACTIVE)))
        .order_by(ChatSession.assigned_at, ChatSession.id)))


def waiting_chats(user: User) -> list[ChatSession]:
    """The queue of the user's groups (and chats of no group)."""
    groups = [g.id for g in user.groups]
    return list(db.session.scalars(select(ChatSession).where(
        ChatSession.status == ChatStatus.QUEUED, or_(ChatSession.group_id.is_(None), ChatSession.group_id.in_(groups)))
        .order_by(ChatSession.queued_at, ChatSession.id).limit(100)))


def live_chats() -> list[ChatSession]:
    """Every chat going on now, for a manager to watch."""
    return list(db.session.scalars(select(ChatSession).where(ChatSession.status != ChatStatus.ENDED)
                                   .order_by(ChatSession.created_at, ChatSession.id).limit(200)))


def recent_chats(user: User, limit: int = 20) -> list[ChatSession]:
    q = select(ChatSession).where(ChatSession.status == ChatStatus.ENDED)
    if not can(user, "chat.watch"):
        q = q.where(ChatSession.agent_id == user.id)
    return list(db.session.scalars(q.order_by(ChatSession.ended_at.desc(), ChatSession.id.desc()).limit(limit)))


def unanswered_counts(chat_ids: list[int]) -> dict[int, int]:
    """Visitor messages after the last agent message, per chat: the console's badges."""
    if not chat_ids:
        return {}
    last_agent = (select(ChatMessage.session_id, func.max(ChatMessage.seq).label("seq"))
                  .where(ChatMessage.session_id.in_(chat_ids), ChatMessage.kind == ChatMessageKind.AGENT)
                  .group_by(ChatMessage.session_id).subquery())
    rows = db.session.execute(
        select(ChatMessage.session_id, func.count(ChatMessage.id))
        .outerjoin(last_agent, last_agent.c.session_id == ChatMessage.session_id)
        .where(ChatMessage.session_id.in_(chat_ids), ChatMessage.kind == ChatMessageKind.VISITOR,
               ChatMessage.seq > func.coalesce(last_agent.c.seq, 0))
        .group_by(ChatMessage.session_id))
    return dict(rows.all())


def availability(user: User) -> AgentAvailability | None:
    return db.session.get(AgentAvailability, user.id)


def online_agents() -> list[User]:
    return list(db.session.scalars(select(User).join(AgentAvailability, AgentAvailability.user_id == User.id)
                                   .where(AgentAvailability.status == AgentStatus.ONLINE, User.active.is_(True))
                                   .order_by(User.name)))


def canned_replies() -> list[CannedReply]:
    return list(db.session.scalars(select(CannedReply).order_by(CannedReply.title)))


def chats_for_contact(contact_id: int, limit: int = 20) -> list[ChatSession]:
    """A contact's chats, newest first: their transcripts in the contact's One View."""
    return list(db.session.scalars(select(ChatSession).where(ChatSession.contact_id == contact_id)
                                   .order_by(ChatSession.created_at.desc(), ChatSession.id.desc()).limit(limit)))


def chats_for_organization(organization_id: int, limit: int = 20) -> list[ChatSession]:
    return list(db.session.scalars(select(ChatSession).where(ChatSession.organization_id == organization_id)
                                   .order_by(ChatSession.created_at.desc(), ChatSession.id.desc()).limit(limit)))
