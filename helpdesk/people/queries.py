"""Reads about people."""
from __future__ import annotations

from sqlalchemy import func, or_, select

from helpdesk.errors import NotFound
from helpdesk.extensions import db
from helpdesk.people.models import Contact, Group, Organization, User


def get_or_404(model, obj_id):
    obj = db.session.get(model, obj_id)
    if obj is None:
        raise NotFound(f"No {model.__name__.lower()} {obj_id}.")
    return obj


def user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == (email or "").strip().lower()))


def all_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.active.desc(), User.name)))


def all_groups() -> list[Group]:
    return list(db.session.scalars(select(Group).order_by(Group.name)))


def all_organizations() -> list[Organization]:
    return list(db.session.scalars(select(Organization).order_by(Organization.name)))


def search_contacts(q: str = "", limit: int = 50) -> list[Contact]:
    stmt = select(Contact).order_by(Contact.name).limit(limit)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(Contact.name.ilike(like), Contact.email.ilike(like)))
    return list(db.session.scalars(stmt))


def search_organizations(q: str = "", limit: int = 50) -> list[Organization]:
    stmt = select(Organization).order_by(Organization.name).limit(limit)
    if q:
        stmt = stmt.where(Organization.name.ilike(f"%{q.strip()}%"))
    return list(db.session.scalars(stmt))
