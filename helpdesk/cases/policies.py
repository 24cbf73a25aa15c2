"""Pure rules about cases: status transitions and custom field values."""
from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from helpdesk.cases.models import FieldType, Status

_WAITING = {Status.WAIT_CUSTOMER, Status.WAIT_THIRD_PARTY}
_WORKING = {Status.OPEN, *_WAITING}

TRANSITIONS: dict[Status, set[Status]] = {
    Status.NEW: {Status.ASSIGNED, *_WORKING, Status.RESOLVED, Status.CLOSED},
    Status.ASSIGNED: {Status.NEW, *_WORKING, Status.RESOLVED, Status.CLOSED},
    Status.OPEN: {Status.ASSIGNED, *_WAITING, Status.RESOLVED, Status.CLOSED},
    Status.WAIT_CUSTOMER: {Status.OPEN, Status.WAIT_THIRD_PARTY, Status.RESOLVED, Status.CLOSED},
    Status.WAIT_THIRD_PARTY: {Status.OPEN, Status.WAIT_CUSTOMER, Status.RESOLVED, Status.CLOSED},
    Status.RESOLVED: {Status.OPEN, Status.CLOSED},
    Status.CLOSED: {Status.OPEN},
}


def can_transition(old: Status, new: Status) -> bool:
    return new == old or new in TRANSITIONS[old]


def allowed_statuses(current: Status) -> list[Status]:
    """The statuses a case in `current` may move to, in display order, current first."""
    return [s for s in Status if s == current or s in TRANSITIONS[current]]


def status_after_assignment(current: Status, has_assignee: bool) -> Status:
    """Giving a new case an owner marks it Assigned; taking the owner away makes it New again."""
    if has_assignee and current == Status.NEW:
        return Status.ASSIGNED
    if not has_assignee and current == Status.ASSIGNED:
        return Status.NEW
    return current


def status_after_customer_message(current: Status) -> Status:
    """A customer writing again reopens a case that was waiting on them or was resolved."""
    if current in (Status.WAIT_CUSTOMER, Status.RESOLVED):
        return Status.OPEN
    return current


def clean_custom_value(field_type: FieldType, raw, choices: list[str] | None = None):
    """Turn form input into the stored value for a custom field, or raise ValueError with why."""
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return None
    text = str(raw).strip()
    if field_type == FieldType.TEXT:
        if len(text) > 1000:
            raise ValueError("must be at most 1000 characters")
        return text
    if field_type == FieldType.NUMBER:
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError("must be a number") from None
        if not number.is_finite():
            raise ValueError("must be a number")
        return int(number) if number == number.to_integral_value() else float(number)
    if field_type == FieldType.DATE:
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            raise ValueError("must be a date (YYYY-MM-DD)") from None
    if field_type == FieldType.CHOICE:
        if text not in (choices or []):
            raise ValueError(f"must be one of: {', '.join(choices or [])}")
        return text
    raise ValueError(f"unknown field type {field_type}")
