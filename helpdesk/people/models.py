"""People: the customers (organizations, contacts) and the staff (users, groups)."""
from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
import re
import unicodedata

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from helpdesk.extensions import db
from helpdesk.types import UTCDateTime, string_enum, utcnow


class Role(str, enum.Enum):
    AGENT = "agent"
    MANAGER = "manager"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return self.value.capitalize()


user_groups = Table(
    "user_groups",
    db.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("group_id", ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
)


class Organization(db.Model):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    domain: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(50))
    website: Mapped[str | None] = mapped_column(String(300))
    address: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow)
    # Set by the recycle bin; people queries leave such rows out.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    contacts: Mapped[list[Contact]] = relationship(back_populates="organization")

    def __str__(self) -> str:
        return self.name


class ContactRole(str, enum.Enum):
    """What a contact is to their organization (Vtiger: the contact's role in the account)."""

    DECISION_MAKER = "decision_maker"
    BILLING = "billing"
    TECHNICAL = "technical"
    USER = "user"
    OTHER = "other"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


def name_key(name: str | None) -> str:
    """A name as duplicate detection compares it: no accents, case, punctuation or word order."""
    text = unicodedata.normalize("NFKD", name or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return " ".join(sorted(re.findall(r"[^\W_]+", text)))[:200]


def phone_key(phone: str | None) -> str | None:
    """The last nine digits of a phone number, so +44 20 7946 0958 and 020 7946 0958 match."""
    digits = re.sub(r"\D", "", phone or "")
    return digits[-9:] if len(digits) >= 6 else None


class Contact(db.Model):
    __tablename__ = "contacts"
    __table_args__ = (
        # Duplicate detection: same phone anywhere, similar name within the organization.
        Index("ix_contacts_phone_key", "phone_key"),
        Index("ix_contacts_organization_name_key", "organization_id", "name_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(50))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    role: Mapped[ContactRole | None] = mapped_column(string_enum(ContactRole, 20))
    job_title: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str] = mapped_column(Text, default="")
    # Kept in step with name and phone by the validators below (see name_key, phone_key).
    name_key: Mapped[str] = mapped_column(String(200), default="")
    phone_key: Mapped[str | None] = mapped_column(String(20))
    # A duplicate merged into another contact stays, pointing there, so old links and its address resolve.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow)
    # Set by the recycle bin; people queries leave such rows out.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Customer portal sign-in (helpdesk/portal_access): role "member" sees own cases,
    # "org_manager" the whole organization's. Changing the token signs every portal session out.
    portal_enabled: Mapped[bool] = mapped_column(default=False)
    portal_role: Mapped[str] = mapped_column(String(20), default="member")
    portal_password_hash: Mapped[str | None] = mapped_column(String(255))
    portal_session_token: Mapped[str | None] = mapped_column(String(64))
    portal_last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    language: Mapped[str | None] = mapped_column(String(10))
    notify_case_updates: Mapped[bool] = mapped_column(default=True)

    organization: Mapped[Organization | None] = relationship(back_populates="contacts")
    merged_into: Mapped[Contact | None] = relationship(remote_side="Contact.id")

    @validates("name")
    def _keep_name_key(self, _key, value):
        self.name_key = name_key(value)
        return value

    @validates("phone")
    def _keep_phone_key(self, _key, value):
        self.phone_key = phone_key(value)
        return value

    @property
    def is_live(self) -> bool:
        return self.deleted_at is None and self.merged_into_id is None

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.email else self.name


class Group(db.Model):
    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The team's business calendar (helpdesk/sla): SLA clocks use it when the policy has none.
    business_hours_id: Mapped[int | None] = mapped_column(ForeignKey("business_hours.id", ondelete="SET NULL"))

    members: Mapped[list[User]] = relationship(secondary=user_groups, back_populates="groups", order_by="User.name")
    business_hours: Mapped[BusinessHours | None] = relationship("BusinessHours")  # noqa: F821 (helpdesk.sla.models)

    def __str__(self) -> str:
        return self.name


class User(UserMixin, db.Model):
    """A staff member: agent, manager or admin."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(db.Enum(Role, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]), default=Role.AGENT)
    active: Mapped[bool] = mapped_column(default=True)
    # Changing it logs the user out everywhere (Flask-Login keys sessions on get_id()).
    session_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The staff pages' language, chosen on the Preferences page (never the browser's).
    language: Mapped[str] = mapped_column(String(5), default="en", server_default="en")

    groups: Mapped[list[Group]] = relationship(secondary=user_groups, back_populates="members", order_by="Group.name")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    def __str__(self) -> str:
        return self.name


class LoginThrottle(db.Model):
    """Failed logins counted per key (an email or an IP address)."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    first_failure_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CustomerActivity(db.Model):
    """Append-only history of a contact or an organization (created, changed, merged), as
    Activity is for cases."""

    __tablename__ = "customer_activities"
    __table_args__ = (
        Index("ix_customer_activities_contact_created", "contact_id", "created_at", "id"),
        Index("ix_customer_activities_organization_created", "organization_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(40))
    field: Mapped[str | None] = mapped_column(String(60))
    old: Mapped[str | None] = mapped_column(Text)
    new: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor_user: Mapped[User | None] = relationship()
    contact: Mapped[Contact | None] = relationship(foreign_keys=[contact_id])

    @property
    def actor_name(self) -> str:
        return self.actor_user.name if self.actor_user else "System"
