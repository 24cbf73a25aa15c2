"""State changes to people: staff accounts, groups, organizations and contacts."""
from __future__ import annotations

import re
import secrets

from flask import current_app
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.people.models import Contact, Group, Organization, Role, User

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 10


def normalize_email(raw: str | None) -> str:
    return (raw or "").strip().lower()


def _check_email(email: str, errors: dict, field: str = "email") -> None:
    if not EMAIL_RE.match(email):
        errors[field] = "Enter an email address like name@example.com."


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config.get("PASSWORD_HASH_METHOD", "scrypt"))


def create_user(actor: User | None, *, email: str, name: str, password: str, role: Role | str = Role.AGENT,
                groups: list[Group] = ()) -> User:
    email = normalize_email(email)
    errors: dict[str, str] = {}
    _check_email(email, errors)
    if not errors and db.session.scalar(select(User.id).where(func.lower(User.email) == email)):
        errors["email"] = "A user with this email already exists."
    if not (name or "").strip():
        errors["name"] = "Enter the person's name."
    if len(password or "") < MIN_PASSWORD:
        errors["password"] = f"At least {MIN_PASSWORD} characters."
    try:
        role = Role(role)
    except ValueError:
        errors["role"] = "Choose agent, manager or admin."
    if errors:
        raise ValidationFailed(errors)
    user = User(email=email, name=name.strip(), role=role, password_hash=hash_password(password),
                session_token=secrets.token_hex(16), groups=list(groups))
    db.session.add(user)
    db.session.flush()
    return user


def update_user(actor: User, user: User, *, name: str, role: Role | str, active: bool, groups: list[Group],
                password: str | None = None) -> User:
    errors: dict[str, str] = {}
    if not (name or "").strip():
        errors["name"] = "Enter the person's name."
    try:
        role = Role(role)
    except ValueError:
        errors["role"] = "Choose agent, manager or admin."
    if password and len(password) < MIN_PASSWORD:
        errors["password"] = f"At least {MIN_PASSWORD} characters."
    if user.id == actor.id and (not active or role != Role.ADMIN):
        errors["role" if active else "active"] = "You cannot demote or deactivate yourself."
    if errors:
        raise ValidationFailed(errors)
    if password or (user.active and not active):
        user.session_token = secrets.token_hex(16)  # logs the user out everywhere
    if password:
        user.password_hash = hash_password(password)
    user.name, user.role, user.active, user.groups = name.strip(), role, active, list(groups)
    db.session.flush()
    return user


def create_group(actor: User | None, *, name: str, description: str = "", members: list[User] = ()) -> Group:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed({"name": "Give the group a name."})
    if db.session.scalar(select(Group.id).where(func.lower(Group.name) == name.lower())):
        raise ValidationFailed({"name": "A group with this name already exists."})
    group = Group(name=name, description=(description or "").strip(), members=list(members))
    db.session.add(group)
    db.session.flush()
    return group


def update_group(actor: User, group: Group, *, name: str, description: str, members: list[User]) -> Group:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed({"name": "Give the group a name."})
    other = db.session.scalar(select(Group).where(func.lower(Group.name) == name.lower(), Group.id != group.id))
    if other is not None:
        raise ValidationFailed({"name": "A group with this name already exists."})
    group.name, group.description, group.members = name, (description or "").strip(), list(members)
    db.session.flush()
    return group


def create_organization(actor: User | None, *, name: str, domain: str = "", phone: str = "") -> Organization:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed({"name": "Give the organization a name."})
    if db.session.scalar(select(Organization.id).where(func.lower(Organization.name) == name.lower())):
        raise ValidationFailed({"name": "An organization with this name already exists."})
    org = Organization(name=name, domain=(domain or "").strip().lower() or None, phone=(phone or "").strip() or None)
    db.session.add(org)
    db.session.flush()
    return org


def create_contact(actor: User | None, *, name: str, email: str = "", phone: str = "",
                   organization: Organization | None = None) -> Contact:
    email = normalize_email(email)
    errors: dict[str, str] = {}
    if not (name or "").strip():
        errors["name"] = "Enter the contact's name."
    if email:
        _check_email(email, errors)
        if not errors and db.session.scalar(select(Contact.id).where(Contact.email == email)):
            errors["email"] = "A contact with this email already exists."
    if errors:
        raise ValidationFailed(errors)
    contact = Contact(name=name.strip(), email=email or None, phone=(phone or "").strip() or None, organization=organization)
    db.session.add(contact)
    db.session.flush()
    return contact


def find_or_create_contact(actor: User | None, *, email: str, name: str = "") -> Contact:
    """The contact with this address, or a new one (linked to the organization owning the domain)."""
    email = normalize_email(email)
    contact = db.session.scalar(select(Contact).where(Contact.email == email).order_by(Contact.id).limit(1))
    if contact is not None:
        return contact
    domain = email.rpartition("@")[2]
    org = db.session.scalar(select(Organization).where(Organization.domain == domain).limit(1)) if domain else None
    return create_contact(actor, name=(name or "").strip() or email.split("@")[0], email=email, organization=org)
