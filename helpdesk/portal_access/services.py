"""State changes to a contact's portal access: invitation, password, sign-up, sign-in, profile.

Links sent by email carry a signed token (tokens.py) with a fingerprint of the contact's
password hash, so a link dies once it has been used to set a password.
"""
from __future__ import annotations

import secrets

from flask import current_app
from flask_babel import force_locale, gettext
from sqlalchemy import select
from werkzeug.security import check_password_hash

from helpdesk.auth.services import TooManyAttempts, _record_failure, spend_allowance
from helpdesk.errors import NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.i18n import LANGUAGES
from helpdesk.mail.services import queue_email
from helpdesk.people.models import Contact, LoginThrottle, Organization, User
from helpdesk.people.services import _check_email, find_or_create_contact, hash_password, normalize_email
from helpdesk.portal_access import policies
from helpdesk.portal_access.tokens import fingerprint, make_token, portal_link, read_token
from helpdesk.types import utcnow

_DUMMY_HASH = "pbkdf2:sha256:1000$x$0000000000000000000000000000000000000000000000000000000000000000"


def _password_fingerprint(contact: Contact) -> str:
    return fingerprint(str(contact.id), contact.portal_password_hash)


def _new_session(contact: Contact) -> None:
    contact.portal_session_token = secrets.token_hex(16)


def _check_password(password: str, field: str = "password") -> None:
    if len(password or "") < policies.PASSWORD_MIN:
        raise ValidationFailed({field: gettext("Use at least %(n)d characters.", n=policies.PASSWORD_MIN)})
    if len(password) > policies.PASSWORD_MAX:
        raise ValidationFailed({field: gettext("At most %(n)d characters.", n=policies.PASSWORD_MAX)})


def _mail(to: str, subject: str, lines: list[str]):
    return queue_email(to=[to], subject=subject, body_text="\n\n".join(lines), auto_submitted="auto-generated")


def _language(contact: Contact | None, fallback: str | None = None) -> str:
    lang = (contact.language if contact else None) or fallback or "en"
    return lang if lang in LANGUAGES else "en"


# --- invitation ----------------------------------------------------------------------------


def invite_contact(actor: User | None, contact: Contact, *, role: str | None = None) -> str:
    """Give a contact portal access and email a link to choose a password; returns the link."""
    if not contact.email:
        raise ValidationFailed({"email": "The contact has no email address to send the invitation to."})
    if role is not None:
        if role not in policies.ROLES:
            raise ValidationFailed({"portal_role": "Choose member or org_manager."})
        contact.portal_role = role
    contact.portal_enabled = True
    db.session.flush()
    token = make_token("invite", {"c": contact.id, "f": _password_fingerprint(contact)})
    link = portal_link(f"/invitation/{token}")
    with force_locale(_language(contact)):
        _mail(contact.email, gettext("Your access to the support portal"), [
            gettext("Hello %(name)s,", name=contact.name),
            gettext("You are invited to the support portal, where you can follow your cases and open new ones."),
            gettext("Choose your password here (the link works for 7 days):"),
            link,
        ])
    return link


def contact_for_token(purpose: str, token: str) -> Contact:
    """The contact an invitation or reset link was made for, while the link is still good."""
    payload = read_token(purpose, token)
    contact = db.session.get(Contact, payload.get("c")) if isinstance(payload.get("c"), int) else None
    if contact is None or not contact.portal_enabled or payload.get("f") != _password_fingerprint(contact):
        raise NotFound("This link is not valid any more.")
    return contact


def set_password_from_link(purpose: str, token: str, password: str, confirm: str) -> Contact:
    """Accept an invitation or a reset: the link proves the mailbox, the password replaces any old one."""
    contact = contact_for_token(purpose, token)
    _check_password(password)
    if password != confirm:
        raise ValidationFailed({"confirm": gettext("The two passwords differ.")})
    contact.portal_password_hash = hash_password(password)
    contact.email_verified_at = contact.email_verified_at or utcnow()
    _new_session(contact)
    _clear_throttle(contact.email)
    db.session.flush()
    return contact


# --- sign-in -------------------------------------------------------------------------------


def portal_contact_by_email(email: str) -> Contact | None:
    email = normalize_email(email)
    if not email:
        return None
    return db.session.scalar(
        select(Contact).where(Contact.email == email, Contact.portal_enabled.is_(True),
                              Contact.portal_password_hash.is_not(None),
                              Contact.deleted_at.is_(None), Contact.merged_into_id.is_(None))
        .order_by(Contact.id).limit(1)
    )


def authenticate_contact(email: str, password: str, ip: str, max_failures: int, lock_minutes: int) -> Contact | None:
    """The contact for these credentials, None when wrong; raises TooManyAttempts while locked.

    Throttled like staff sign-in (helpdesk.auth.services), on keys of its own."""
    keys = [f"portal:email:{normalize_email(email)}", f"portal:ip:{ip}"]
    now = utcnow()
    for key in keys:
        row = db.session.get(LoginThrottle, key)
        if row is not None and row.locked_until is not None and row.locked_until > now:
            minutes = max(1, int((row.locked_until - now).total_seconds() // 60) + 1)
            raise TooManyAttempts(gettext("Too many failed sign-ins. Try again in %(n)d minute(s).", n=minutes))
    contact = portal_contact_by_email(email)
    ok = check_password_hash(contact.portal_password_hash if contact else _DUMMY_HASH, password or "")
    if contact is not None and ok:
        _clear_throttle(contact.email)
        if not contact.portal_session_token:
            _new_session(contact)
        contact.portal_last_login_at = now
        db.session.flush()
        return contact
    for key in keys:
        _record_failure(key, now, max_failures if ":email:" in key else max_failures * 4, lock_minutes)
    db.session.flush()
    return None


def _clear_throttle(email: str | None) -> None:
    row = db.session.get(LoginThrottle, f"portal:email:{normalize_email(email)}")
    if row is not None:
        db.session.delete(row)


# --- password reset ------------------------------------------------------------------------


def request_password_reset(email: str) -> None:
    """Email a reset link when the address has portal access; say nothing either way."""
    contact = portal_contact_by_email(email)
    if contact is None:
        return
    token = make_token("reset", {"c": contact.id, "f": _password_fingerprint(contact)})
    with force_locale(_language(contact)):
        _mail(contact.email, gettext("Reset your support portal password"), [
            gettext("Hello %(name)s,", name=contact.name),
            gettext("Someone (we hope you) asked to reset your password. Choose a new one here (the link works for 2 hours):"),
            portal_link(f"/reset/{token}"),
            gettext("If it was not you, ignore this email: your password stays as it is."),
        ])


# --- self sign-up --------------------------------------------------------------------------


def spend_email_allowance(email: str, ip: str | None) -> None:
    """Sign-up and the contact form mail whatever address is typed in: limit them per address and per IP.

    Both forms share the allowance; raises TooManyAttempts (429) once it is used up."""
    config = current_app.config
    limits = {f"portal-mail:email:{email}": config["PORTAL_EMAILS_PER_ADDRESS"]}
    if ip:
        limits[f"portal-mail:ip:{ip}"] = config["PORTAL_EMAILS_PER_IP"]
    spend_allowance(limits, config["PORTAL_EMAIL_WINDOW_MINUTES"])


def start_signup(*, name: str, email: str, password: str, language: str | None = None, ip: str | None = None) -> None:
    """Email a verification link; the account exists only once it is followed.

    The answer is the same whether or not the address already has an account (no probing)."""
    mode = current_app.config.get("PORTAL_SIGNUP", "off")
    email = normalize_email(email)
    errors: dict[str, str] = {}
    if not (name or "").strip():
        errors["name"] = gettext("Enter your name.")
    elif len(name.strip()) > 200:
        errors["name"] = gettext("At most %(n)d characters.", n=200)
    _check_email(email, errors)
    if "email" in errors:
        errors["email"] = gettext("Enter an email address like name@example.com.")
    try:
        _check_password(password)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if not errors:
        domains = set(db.session.scalars(select(Organization.domain).where(Organization.domain.is_not(None))))
        if not policies.may_sign_up(mode, email.rpartition("@")[2], domains):
            errors["email"] = gettext("Sign-up is open to addresses of our customers' organizations only. "
                                      "Ask us for an invitation.")
    if errors:
        raise ValidationFailed(errors)
    spend_email_allowance(email, ip)
    existing = portal_contact_by_email(email)
    with force_locale(_language(existing, language)):
        if existing is not None:
            _mail(email, gettext("You already have a support portal account"), [
                gettext("Hello %(name)s,", name=existing.name),
                gettext("Someone tried to sign up with this address, but it already has an account. "
                        "Sign in, or reset your password if you forgot it:"),
                portal_link("/reset"),
            ])
            return
        token = make_token("signup", {"e": email, "n": name.strip(), "h": hash_password(password),
                                      "l": language if language in LANGUAGES else None})
        _mail(email, gettext("Confirm your email address"), [
            gettext("Hello %(name)s,", name=name.strip()),
            gettext("Follow this link to confirm your address and finish signing up (it works for 2 days):"),
            portal_link(f"/signup/confirm/{token}"),
        ])


def complete_signup(token: str) -> Contact:
    payload = read_token("signup", token)
    email, name, password_hash = payload.get("e"), payload.get("n"), payload.get("h")
    if not (isinstance(email, str) and isinstance(name, str) and isinstance(password_hash, str)):
        raise NotFound("This link is not valid any more.")
    if portal_contact_by_email(email) is not None:
        raise NotFound("This link is not valid any more.")  # used already
    # An existing contact with this address (from email cases) is the same person: it links
    # to the organization that owns the domain when new.
    contact = find_or_create_contact(None, email=email, name=name)
    contact.portal_enabled = True
    contact.portal_password_hash = password_hash
    contact.email_verified_at = utcnow()
    contact.language = payload.get("l") or contact.language
    _new_session(contact)
    db.session.flush()
    return contact


# --- profile -------------------------------------------------------------------------------


def update_profile(contact: Contact, *, name: str, phone: str = "", language: str = "",
                   notify_case_updates: bool = True) -> Contact:
    errors = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = gettext("Enter your name.")
    elif len(name) > 200:
        errors["name"] = gettext("At most %(n)d characters.", n=200)
    if len((phone or "").strip()) > 50:
        errors["phone"] = gettext("At most %(n)d characters.", n=50)
    if language and language not in LANGUAGES:
        errors["language"] = gettext("Choose one of the languages offered.")
    if errors:
        raise ValidationFailed(errors)
    contact.name = name
    contact.phone = (phone or "").strip() or None
    contact.language = language or None
    contact.notify_case_updates = bool(notify_case_updates)
    db.session.flush()
    return contact


def change_password(contact: Contact, *, current: str, new: str, confirm: str) -> Contact:
    if not check_password_hash(contact.portal_password_hash or _DUMMY_HASH, current or ""):
        raise ValidationFailed({"current": gettext("This is not your current password.")})
    _check_password(new, "new")
    if new != confirm:
        raise ValidationFailed({"confirm": gettext("The two passwords differ.")})
    contact.portal_password_hash = hash_password(new)
    _new_session(contact)  # other devices are signed out; the caller signs this one in again
    db.session.flush()
    return contact

