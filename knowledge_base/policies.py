"""Pure rules of the knowledge base: who is looking (the viewer), what they may see, status moves."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from helpdesk.auth.policies import can
from helpdesk.people.models import Contact, Role, User

from knowledge_base.models import ArticleStatus, Visibility


@dataclass(frozen=True)
class Viewer:
    """Who reads: anyone on the public site, a signed-in customer contact, or a staff user.

    Every read of the knowledge base takes one; nothing is shown that the viewer may not see.
    """

    kind: str  # "public", "customer" or "staff"
    contact: Contact | None = None
    user: User | None = None

    @classmethod
    def public(cls) -> Viewer:
        return cls("public")

    @classmethod
    def customer(cls, contact: Contact) -> Viewer:
        if contact is None:
            raise ValueError("a customer viewer needs a contact")
        return cls("customer", contact=contact)

    @classmethod
    def staff(cls, user: User) -> Viewer:
        if not can(user, "case.view"):
            raise ValueError("a staff viewer needs an active staff user")
        return cls("staff", user=user)

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"

    @property
    def audience(self) -> str:
        """The audience term of the search index this viewer may find."""
        return {"public": "public", "customer": "customers", "staff": "staff"}[self.kind]

    @property
    def visibilities(self) -> tuple[Visibility, ...]:
        if self.kind == "staff":
            return tuple(Visibility)
        if self.kind == "customer":
            return (Visibility.CUSTOMERS, Visibility.PUBLIC)
        return (Visibility.PUBLIC,)


def is_live(status: ArticleStatus, publish_at: datetime | None, now: datetime) -> bool:
    """Published, and its scheduled time (if any) has come."""
    return status == ArticleStatus.PUBLISHED and (publish_at is None or publish_at <= now)


def can_see(viewer: Viewer, status: ArticleStatus, visibility: Visibility, publish_at: datetime | None,
            now: datetime) -> bool:
    if viewer.is_staff:
        return True
    return is_live(status, publish_at, now) and visibility in viewer.visibilities


def audiences(status: ArticleStatus, visibility: Visibility, publish_at: datetime | None, now: datetime) -> list[str]:
    """The index's audience terms for an article: who may find it right now."""
    out = ["staff"]
    if is_live(status, publish_at, now) and visibility != Visibility.INTERNAL:
        out.append("customers")
        if visibility == Visibility.PUBLIC:
            out.append("public")
    return out


# Who may move an article from one status to another: writers (any agent) or editors (manager+).
_WRITER, _EDITOR = "writer", "editor"
TRANSITIONS: dict[tuple[ArticleStatus, ArticleStatus], str] = {
    (ArticleStatus.DRAFT, ArticleStatus.IN_REVIEW): _WRITER,
    (ArticleStatus.IN_REVIEW, ArticleStatus.DRAFT): _WRITER,
    (ArticleStatus.DRAFT, ArticleStatus.PUBLISHED): _EDITOR,
    (ArticleStatus.IN_REVIEW, ArticleStatus.PUBLISHED): _EDITOR,
    (ArticleStatus.PUBLISHED, ArticleStatus.ARCHIVED): _EDITOR,
    (ArticleStatus.PUBLISHED, ArticleStatus.DRAFT): _EDITOR,
    (ArticleStatus.ARCHIVED, ArticleStatus.DRAFT): _WRITER,
    (ArticleStatus.DRAFT, ArticleStatus.ARCHIVED): _EDITOR,
}


def is_editor(user: User | None) -> bool:
    """Managers and admins review and publish; every agent writes."""
    return can(user, "case.view") and user.role in (Role.MANAGER, Role.ADMIN)


def can_write(user: User | None) -> bool:
    return can(user, "case.view")


def can_move(user: User | None, old: ArticleStatus, new: ArticleStatus) -> bool:
    need = TRANSITIONS.get((old, new))
    if need is None:
        return False
    return is_editor(user) if need == _EDITOR else can_write(user)


def next_statuses(user: User | None, current: ArticleStatus) -> list[ArticleStatus]:
    return [s for s in ArticleStatus if s != current and can_move(user, current, s)]
