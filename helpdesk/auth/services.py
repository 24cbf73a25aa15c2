"""Checking passwords, with failed attempts throttled per account and per address; allowances for
actions that send email (sign-up, the contact form), counted in the same table."""
from __future__ import annotations

from datetime import timedelta

from flask_babel import gettext
from werkzeug.security import check_password_hash

from helpdesk.errors import PermissionDenied
from helpdesk.extensions import db
from helpdesk.people.models import LoginThrottle, User
from helpdesk.people.queries import user_by_email
from helpdesk.types import utcnow

# Spent on unknown accounts too, so response times don't reveal which emails exist.
_DUMMY_HASH = "pbkdf2:sha256:1000$x$0000000000000000000000000000000000000000000000000000000000000000"


class TooManyAttempts(PermissionDenied):
    status_code = 429
    title = "Too many attempts"


def authenticate(email: str, password: str, ip: str, max_failures: int, lock_minutes: int) -> User | None:
    """The user for these credentials, None when they are wrong; raises while locked."""
    keys = [f"email:{(email or '').strip().lower()}", f"ip:{ip}"]
    now = utcnow()
    for key in keys:
        row = db.session.get(LoginThrottle, key)
        if row is not None and row.locked_until is not None and row.locked_until > now:
            minutes = max(1, int((row.locked_until - now).total_seconds() // 60) + 1)
            raise TooManyAttempts(f"Too many failed sign-ins. Try again in {minutes} minute(s).")
    user = user_by_email(email)
    ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password or "")
    if user is not None and ok and user.active:
        for key in keys[:1]:
            row = db.session.get(LoginThrottle, key)
            if row is not None:
                db.session.delete(row)
        user.last_login_at = now
        db.session.flush()
        return user
    for key in keys:
        _record_failure(key, now, max_failures if key.startswith("email:") else max_failures * 4, lock_minutes)
    db.session.flush()
    return None


def spend_allowance(limits: dict[str, int], minutes: int) -> None:
    """Count one more action against each key ({"signup:email:a@b.example": 3, "signup:ip:1.2.3.4": 10}).

    Raises TooManyAttempts, counting nothing, while any key has used up its allowance: the key is
    locked for `minutes` from the action that reached the limit."""
    now = utcnow()
    for key in limits:
        row = db.session.get(LoginThrottle, key)
        if row is not None and row.locked_until is not None and row.locked_until > now:
            left = max(1, int((row.locked_until - now).total_seconds() // 60) + 1)
            raise TooManyAttempts(gettext("Too many requests. Try again in %(n)d minute(s).", n=left))
    for key, limit in limits.items():
        _record_failure(key, now, limit, minutes)
    db.session.flush()


def _record_failure(key: str, now, max_failures: int, lock_minutes: int) -> None:
    row = db.session.get(LoginThrottle, key)
    window = timedelta(minutes=lock_minutes)
    if row is None or now - row.first_failure_at > window:
        if row is None:
            row = LoginThrottle(key=key)
            db.session.add(row)
        row.failures, row.first_failure_at, row.locked_until = 0, now, None
    row.failures += 1
    if row.failures >= max_failures:
        row.locked_until = now + window
