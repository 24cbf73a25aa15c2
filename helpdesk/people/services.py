"""State changes to people: staff accounts, groups, organizations and contacts."""
from __future__ import annotations

import difflib
import re
import secrets
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import gettext
from sqlalchemy import and_, delete, exists, func, insert, inspect, literal, or_, select, update
from werkzeug.security import generate_password_hash

from helpdesk.errors import Conflict, NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import LANGUAGES
from helpdesk.people.models import (
    Contact,
    ContactRole,
    CustomerActivity,
    Group,
    Organization,
    Role,
    User,
    name_key,
    phone_key,
)
from helpdesk.types import utcnow

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


def set_user_language(actor: User, user: User, language: str) -> User:
    """The language a staff member reads the staff pages in."""
    if language not in LANGUAGES:
        raise ValidationFailed({"language": gettext("Choose one of the languages in the list.")})
    user.language = language
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


# --- customers: history ------------------------------------------------------------------------


def _log(actor: User | None, *, contact: Contact | None = None, organization: Organization | None = None,
         action: str, field: str | None = None, old=None, new=None, reason: str | None = None) -> CustomerActivity:
    row = CustomerActivity(
        contact_id=contact.id if contact is not None else None,
        organization_id=organization.id if organization is not None else None,
        actor_user_id=actor.id if isinstance(actor, User) else None,
        action=action, field=field,
        old=None if old is None else str(getattr(old, "label", old)),
        new=None if new is None else str(getattr(new, "label", new)),
        reason=reason[:1000] if reason else None,
        created_at=utcnow(),
    )
    db.session.add(row)
    return row


def _clean(value) -> str | None:
    value = (value or "").strip()
    return value or None


# --- organizations -------------------------------------------------------------------------------


def _organization_errors(name: str, website: str | None, exclude_id: int | None = None) -> dict[str, str]:
    errors = {}
    if not name:
        errors["name"] = "Give the organization a name."
    elif len(name) > 200:
        errors["name"] = "At most 200 characters."
    else:
        stmt = select(Organization.id).where(func.lower(Organization.name) == name.lower())
        if exclude_id is not None:
            stmt = stmt.where(Organization.id != exclude_id)
        if db.session.scalar(stmt):
            errors["name"] = "An organization with this name already exists."
    if website and not re.match(r"^(https?://)?[^\s/]+\.[^\s]+$", website):
        errors["website"] = "Enter a web address like https://example.com."
    return errors


def create_organization(actor: User | None, *, name: str, domain: str = "", phone: str = "", website: str = "",
                        address: str = "", notes: str = "") -> Organization:
    name, website = (name or "").strip(), _clean(website)
    errors = _organization_errors(name, website)
    if errors:
        raise ValidationFailed(errors)
    org = Organization(name=name, domain=(domain or "").strip().lower() or None, phone=_clean(phone),
                       website=website, address=_clean(address), notes=(notes or "").strip())
    db.session.add(org)
    db.session.flush()
    _log(actor, organization=org, action="created")
    return org


ORGANIZATION_FIELDS = ("name", "domain", "phone", "website", "address", "notes")


def update_organization(actor: User, org: Organization, data: dict) -> Organization:
    """Change any of name, domain, phone, website, address and notes; one history row per field."""
    _require_live(org)
    new = {f: (data.get(f) or "").strip() for f in ORGANIZATION_FIELDS if f in data}
    new.get("domain") and new.update(domain=new["domain"].lower())
    errors = _organization_errors(new.get("name", org.name), new.get("website") or None, exclude_id=org.id)
    if errors:
        raise ValidationFailed(errors)
    for f, value in new.items():
        value = value if f in ("name", "notes") else (value or None)
        if (getattr(org, f) or None) != (value or None):
            _log(actor, organization=org, action="changed", field=f, old=getattr(org, f), new=value)
            setattr(org, f, value)
            org.updated_at = utcnow()
    db.session.flush()
    return org


# --- contacts: duplicates --------------------------------------------------------------------------

NAME_SIMILARITY = 0.85
MAX_DUPLICATES = 10


@dataclass
class DuplicateMatch:
    contact: Contact
    reasons: list[str] = field(default_factory=list)


class DuplicateContacts(ValidationFailed):
    """Possible duplicates were found; the user may look at them or confirm that this is someone new."""

    def __init__(self, matches: list[DuplicateMatch]):
        super().__init__({"duplicates": f"{len(matches)} possible duplicate(s) found."})
        self.matches = matches


def similar_names(a: str, b: str) -> bool:
    """True for the same person written differently: 'Ann Smith', 'smith, ann', 'Anne Smith'."""
    ka, kb = name_key(a), name_key(b)
    if not ka or not kb:
        return False
    if ka == kb:
        return True
    ta, tb = set(ka.split()), set(kb.split())
    if min(len(ta), len(tb)) >= 2 and (ta <= tb or tb <= ta):
        return True
    return difflib.SequenceMatcher(None, ka, kb).ratio() >= NAME_SIMILARITY


def duplicate_matches(name: str = "", email: str | None = "", phone: str | None = "",
                      organization_id: int | None = None, exclude_id: int | None = None) -> list[DuplicateMatch]:
    """Live contacts that may be this person: the same email or phone anywhere, or a similar name in
    the same organization. One indexed query; email matches first, then phone, then name."""
    email, pkey, nkey = normalize_email(email), phone_key(phone), name_key(name)
    terms = []
    if email:
        terms.append(Contact.email == email)
    if pkey:
        terms.append(Contact.phone_key == pkey)
    if organization_id and nkey:
        # Candidates share the first two letters of the key (its alphabetically first word);
        # the similarity test runs on those few in Python.
        prefix = nkey[:2]
        terms.append(and_(Contact.organization_id == organization_id, Contact.name_key >= prefix,
                          Contact.name_key < prefix + "\uffff"))
    if not terms:
        return []
    stmt = select(Contact).where(or_(*terms), Contact.deleted_at.is_(None), Contact.merged_into_id.is_(None))
    if exclude_id is not None:
        stmt = stmt.where(Contact.id != exclude_id)
    matches = []
    for contact in db.session.scalars(stmt.order_by(Contact.id).limit(200)):
        reasons = []
        if email and contact.email == email:
            reasons.append("same email")
        if pkey and contact.phone_key == pkey:
            reasons.append("same phone")
        if organization_id and contact.organization_id == organization_id and similar_names(name, contact.name):
            reasons.append("similar name in the same organization")
        if reasons:
            matches.append(DuplicateMatch(contact, reasons))
    order = {"same email": 0, "same phone": 1}
    matches.sort(key=lambda m: (min(order.get(r, 2) for r in m.reasons), m.contact.id))
    return matches[:MAX_DUPLICATES]


def find_duplicates(name: str, email: str | None, phone: str | None, organization_id: int | None) -> list[Contact]:
    """The live contacts that may be the same person (for the contact form and the importers)."""
    return [m.contact for m in duplicate_matches(name, email, phone, organization_id)]


# --- contacts: create and change ---------------------------------------------------------------------

CONTACT_FIELDS = ("name", "email", "phone", "job_title", "notes", "role", "organization_id")


def _parse_role(raw, errors: dict) -> ContactRole | None:
    if raw in (None, ""):
        return None
    try:
        return ContactRole(raw)
    except ValueError:
        errors["role"] = "Choose one of the listed roles."
        return None


def _email_taken(email: str, exclude_id: int | None = None) -> Contact | None:
    stmt = select(Contact).where(Contact.email == email, Contact.deleted_at.is_(None))
    if exclude_id is not None:
        stmt = stmt.where(Contact.id != exclude_id)
    return db.session.scalar(stmt.order_by(Contact.id).limit(1))


def create_contact(actor: User | None, *, name: str, email: str = "", phone: str = "",
                   organization: Organization | None = None, role: ContactRole | str | None = None,
                   job_title: str = "", notes: str = "", check_duplicates: bool = False) -> Contact:
    """A new contact. The email must be free; with check_duplicates, possible duplicates (same phone,
    similar name in the organization) raise DuplicateContacts until the caller confirms."""
    email = normalize_email(email)
    errors: dict[str, str] = {}
    if not (name or "").strip():
        errors["name"] = "Enter the contact's name."
    if email:
        _check_email(email, errors)
        if not errors and _email_taken(email):
            errors["email"] = "A contact with this email already exists."
    role = _parse_role(role, errors)
    if organization is not None and organization.deleted_at is not None:
        errors["organization_id"] = "That organization is in the recycle bin."
    if errors:
        raise ValidationFailed(errors)
    if check_duplicates:
        matches = duplicate_matches(name, email, phone, organization.id if organization else None)
        if matches:
            raise DuplicateContacts(matches)
    contact = Contact(name=name.strip(), email=email or None, phone=(phone or "").strip() or None,
                      organization=organization, role=role, job_title=_clean(job_title), notes=(notes or "").strip())
    db.session.add(contact)
    db.session.flush()
    _log(actor, contact=contact, action="created")
    return contact


def update_contact(actor: User, contact: Contact, data: dict) -> Contact:
    """Change any of the contact's fields (organization by id); one history row per changed field."""
    _require_live(contact)
    errors: dict[str, str] = {}
    values = {}
    if "name" in data:
        values["name"] = (data.get("name") or "").strip()
        if not values["name"]:
            errors["name"] = "Enter the contact's name."
    if "email" in data:
        email = normalize_email(data.get("email"))
        if email:
            _check_email(email, errors)
            if "email" not in errors and _email_taken(email, exclude_id=contact.id):
                errors["email"] = "Another contact has this email."
        values["email"] = email or None
    for f in ("phone", "job_title"):
        if f in data:
            values[f] = _clean(data.get(f))
    if "notes" in data:
        values["notes"] = (data.get("notes") or "").strip()
    if "role" in data:
        values["role"] = _parse_role(data.get("role"), errors)
    if "organization_id" in data:
        raw = data.get("organization_id")
        org = None
        if raw not in (None, ""):
            org = db.session.get(Organization, int(raw)) if str(raw).isdigit() else None
            if org is None or org.deleted_at is not None:
                errors["organization_id"] = "No such organization."
        values["organization"] = org
    if errors:
        raise ValidationFailed(errors)
    for f, value in values.items():
        old = getattr(contact, f)
        if (old or None) != (value or None):
            _log(actor, contact=contact, action="changed", field="organization" if f == "organization" else f,
                 old=old.name if isinstance(old, Organization) else old,
                 new=value.name if isinstance(value, Organization) else value)
            setattr(contact, f, value)
            contact.updated_at = utcnow()
    db.session.flush()
    return contact


def find_or_create_contact(actor: User | None, *, email: str, name: str = "") -> Contact:
    """The contact with this address (a merged duplicate's address leads to whom it was merged into),
    or a new one linked to the organization owning the domain."""
    email = normalize_email(email)
    contact = contact_by_email(email)
    if contact is not None:
        return contact
    domain = email.rpartition("@")[2]
    org = db.session.scalar(select(Organization).where(Organization.domain == domain, Organization.deleted_at.is_(None))
                            .order_by(Organization.id).limit(1)) if domain else None
    return create_contact(actor, name=(name or "").strip() or email.split("@")[0], email=email, organization=org)


def contact_by_email(email: str) -> Contact | None:
    """The live contact with this (normalized) address: the recycle bin is skipped, and a merged
    duplicate's address leads to whom it was merged into."""
    contact = _email_taken(email)
    return resolve_merged(contact) if contact is not None else None


def resolve_merged(contact: Contact) -> Contact:
    seen = set()
    while contact.merged_into_id is not None and contact.id not in seen:
        seen.add(contact.id)
        contact = contact.merged_into
    return contact


def _require_live(obj) -> None:
    if getattr(obj, "deleted_at", None) is not None:
        raise NotFound(f"{obj.name} is in the recycle bin.")
    if getattr(obj, "merged_into_id", None) is not None:
        raise Conflict(f"{obj.name} was merged into another contact; change that one.")


# --- contacts: merge -------------------------------------------------------------------------------------


def merge_contacts(actor: User, source: Contact, target: Contact) -> dict[str, int]:
    """Fold the duplicate `source` into `target`: every row that points to source (cases, messages
    it wrote, history, assets, contracts, ratings, chats, watchers... any table with a foreign key to
    contacts) points to target; target's blank fields take source's values; source stays as a
    pointer (merged_into) so its address and old links lead to target. Returns moved rows per table."""
    if source.id == target.id:
        raise ValidationFailed({"target_id": "A contact cannot be merged into itself."})
    _require_live(source)
    _require_live(target)
    db.session.flush()
    moved = _move_cases(actor, source, target)
    inspector = inspect(db.session.connection())
    for table, column in _contact_references():
        if not inspector.has_table(table.name):
            continue  # a package whose models are imported but whose tables this database lacks
        count = _repoint(table, column, source.id, target.id)
        if count:
            moved[table.name] = moved.get(table.name, 0) + count
    _move_follows(source, target)
    kept = _fill_blanks(actor, source, target)
    summary = ", ".join(f"{n} {t.replace('_', ' ')}" for t, n in sorted(moved.items())) or "nothing to move"
    _log(actor, contact=target, action="merged_in", old=str(source), new=str(target),
         reason=f"{source} (#{source.id}) merged into this contact; moved {summary}" + (f"; kept {kept}" if kept else ""))
    _log(actor, contact=source, action="merged", new=str(target),
         reason=f"merged into {target} (#{target.id}); moved {summary}")
    source.merged_into = target
    source.updated_at = target.updated_at = utcnow()
    db.session.flush()
    _tell_followers(actor, target, f"{source.name} was merged into {target.name}", summary)
    db.session.expire_all()
    return moved


def _tell_followers(actor: User, contact: Contact, title: str, body: str = "") -> None:
    from helpdesk.notifications import services as notifications

    notifications.notify(notifications.followers("contact", contact.id), kind="contact.merged", title=title,
                         url=f"/contacts/{contact.id}", body=body, target=("contact", contact.id), actor=actor)


def _move_cases(actor: User, source: Contact, target: Contact) -> dict[str, int]:
    """Cases get an Activity row each (inserted in one statement) before they change hands."""
    from helpdesk.cases.models import Activity, Case

    reason = f"contact {source} (#{source.id}) merged into {target} (#{target.id})"
    now = utcnow()
    rows = select(Case.id, literal(actor.id if actor else None), literal("changed"), literal("contact"),
                  literal(str(source)), literal(str(target)), literal(reason), Case.version,
                  literal(now, type_=Activity.__table__.c.created_at.type)).where(Case.contact_id == source.id)
    db.session.execute(insert(Activity).from_select(
        ["case_id", "actor_user_id", "action", "field", "old", "new", "reason", "case_version", "created_at"], rows))
    count = db.session.execute(update(Case).where(Case.contact_id == source.id)
                               .values(contact_id=target.id, updated_at=now)
                               .execution_options(synchronize_session=False)).rowcount
    return {"cases": count} if count else {}


def _contact_references():
    """Every (table, column) with a foreign key to contacts.id, other than a contact's own merge pointer."""
    found = []
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if table.name == "contacts" and column.name == "merged_into_id":
                continue
            if any(fk.target_fullname == "contacts.id" for fk in column.foreign_keys):
                found.append((table, column))
    return found


def _unique_sets(table, column) -> list[list]:
    """The unique keys (primary key, unique constraints and indexes) that contain column."""
    from sqlalchemy import Index, UniqueConstraint

    sets = []
    if column.primary_key:
        sets.append(list(table.primary_key.columns))
    for c in table.constraints:
        if isinstance(c, UniqueConstraint) and column.name in c.columns:
            sets.append(list(c.columns))
    for ix in table.indexes:
        if isinstance(ix, Index) and ix.unique and column.name in ix.columns:
            sets.append(list(ix.columns))
    if column.unique:
        sets.append([column])
    return sets


def _repoint(table, column, source_id: int, target_id: int) -> int:
    condition = column == source_id
    # Where target already holds the same unique key (a watcher of the same case, a 1:1 row),
    # the duplicate row goes: target's own row stands for both.
    for key in _unique_sets(table, column):
        other = table.alias()
        same = [other.c[c.name] == c for c in key if c.name != column.name]
        clash = exists(select(literal(1)).select_from(other).where(other.c[column.name] == target_id, *same))
        condition = and_(condition, ~clash)
    count = db.session.execute(update(table).where(condition).values({column.name: target_id})
                               .execution_options(synchronize_session=False)).rowcount
    db.session.execute(delete(table).where(column == source_id).execution_options(synchronize_session=False))
    return count


def _move_follows(source: Contact, target: Contact) -> None:
    from helpdesk.notifications.models import Follow

    already = select(Follow.user_id).where(Follow.target_type == "contact", Follow.target_id == target.id)
    db.session.execute(update(Follow).where(Follow.target_type == "contact", Follow.target_id == source.id,
                                            Follow.user_id.not_in(already)).values(target_id=target.id)
                       .execution_options(synchronize_session=False))


def _fill_blanks(actor: User, source: Contact, target: Contact) -> str:
    """Target keeps its own values; a field it lacks takes source's. What cannot be kept in a field
    (a second email or phone) goes into target's notes, so nothing is lost."""
    kept = []
    for f in ("phone", "job_title", "role", "organization_id"):
        if getattr(target, f) in (None, "") and getattr(source, f) not in (None, ""):
            _log(actor, contact=target, action="changed", field=f.removesuffix("_id"),
                 old=None, new=getattr(source, f), reason=f"from merged contact #{source.id}")
            setattr(target, f, getattr(source, f))
    extra = []
    if source.email and source.email != target.email:
        extra.append(f"email {source.email}")
    if source.phone and source.phone_key != target.phone_key:
        extra.append(f"phone {source.phone}")
    if source.notes:
        extra.append(f"notes: {source.notes}")
    if extra:
        kept = extra
        line = f"From merged contact {source.name} (#{source.id}): " + "; ".join(extra)
        target.notes = f"{target.notes}\n{line}".strip() if target.notes else line
    return ", ".join(kept)
